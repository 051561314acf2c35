//! etcd's `Cluster` service: MemberList, MemberAdd, MemberRemove and MemberPromote over the
//! member's membership calls. MemberUpdate answers `Unimplemented` (see its comment).
//!
//! MemberAdd derives the new member's id from its peer URLs and the cluster token, as the new
//! member will itself when it starts (see `identity`); its name stays empty until it publishes.

use super::header_now;
use crate::identity::member_id;
use crate::status::{status_of, unimplemented};
use detcd_core::member::{Member, MemberSummary};
use detcd_core::raft::types::MemberInfo;
use detcd_proto::convert::{member_list_response_to_proto, member_to_proto};
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::cluster_server::Cluster;
use std::collections::BTreeSet;
use tonic::{Request, Response, Status};

pub struct ClusterService {
    member: Member,
    /// `--initial-cluster-token`, from which member ids are derived.
    token: String,
}

impl ClusterService {
    pub fn new(member: Member, token: String) -> Self {
        ClusterService { member, token }
    }

    fn members(&self) -> Vec<pb::Member> {
        self.member.member_list().into_iter().map(member_to_proto).collect()
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(
        &self,
        request: Request<pb::MemberAddRequest>,
    ) -> Result<Response<pb::MemberAddResponse>, Status> {
        let request = request.into_inner();
        let id = member_id(&request.peer_ur_ls, &self.token);
        let info = MemberInfo {
            name: String::new(),
            peer_urls: request.peer_ur_ls,
            client_urls: Vec::new(),
        };
        let added = MemberSummary { id, info: info.clone(), is_learner: request.is_learner };
        self.member.admit_member(id, info, request.is_learner).await.map_err(status_of)?;
        Ok(Response::new(pb::MemberAddResponse {
            header: super::proto_header(&self.member),
            member: Some(member_to_proto(added)),
            members: self.members(),
        }))
    }

    async fn member_remove(
        &self,
        request: Request<pb::MemberRemoveRequest>,
    ) -> Result<Response<pb::MemberRemoveResponse>, Status> {
        let id = request.into_inner().id;
        self.member.remove_members(BTreeSet::from([id])).await.map_err(status_of)?;
        let header = super::proto_header(&self.member);
        Ok(Response::new(pb::MemberRemoveResponse { header, members: self.members() }))
    }

    /// The core has no call to change a member's peer URLs.
    async fn member_update(
        &self,
        _request: Request<pb::MemberUpdateRequest>,
    ) -> Result<Response<pb::MemberUpdateResponse>, Status> {
        Err(unimplemented("Cluster.MemberUpdate"))
    }

    async fn member_list(
        &self,
        _request: Request<pb::MemberListRequest>,
    ) -> Result<Response<pb::MemberListResponse>, Status> {
        let header = header_now(&self.member);
        Ok(Response::new(member_list_response_to_proto(header, self.member.member_list())))
    }

    async fn member_promote(
        &self,
        request: Request<pb::MemberPromoteRequest>,
    ) -> Result<Response<pb::MemberPromoteResponse>, Status> {
        let id = request.into_inner().id;
        self.member.promote(BTreeSet::from([id])).await.map_err(status_of)?;
        let header = super::proto_header(&self.member);
        Ok(Response::new(pb::MemberPromoteResponse { header, members: self.members() }))
    }
}
