//! etcd's `Cluster` service: MemberList, MemberRemove and MemberPromote over the member's
//! membership calls. MemberAdd and MemberUpdate answer `Unimplemented` (see their comments).

use super::header_now;
use crate::status::{status_of, unimplemented};
use detcd_core::member::Member;
use detcd_proto::convert::{member_list_response_to_proto, member_to_proto};
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::cluster_server::Cluster;
use std::collections::BTreeSet;
use tonic::{Request, Response, Status};

pub struct ClusterService {
    member: Member,
}

impl ClusterService {
    pub fn new(member: Member) -> Self {
        ClusterService { member }
    }

    fn members(&self) -> Vec<pb::Member> {
        self.member.member_list().into_iter().map(member_to_proto).collect()
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    /// detcd derives a member's id from its name, which MemberAdd does not carry, and the core
    /// has no "add a member that has not started yet" call (its `add_learner` waits for catch-up).
    async fn member_add(
        &self,
        _request: Request<pb::MemberAddRequest>,
    ) -> Result<Response<pb::MemberAddResponse>, Status> {
        Err(unimplemented("Cluster.MemberAdd"))
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
