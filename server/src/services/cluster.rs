//! etcd's `Cluster` service: MemberList, MemberAdd, MemberRemove, MemberUpdate and MemberPromote
//! over the member's membership calls (any member takes them; followers forward to the leader).
//!
//! MemberAdd derives the new member's id from its peer URLs and the cluster token, as the new
//! member will itself when it starts (see `identity`); its name stays empty until it publishes.

use crate::identity::member_id;
use crate::status::status_of;
use detcd_core::member::{Member, MemberListRequest, MemberSummary, MembershipChange};
use detcd_core::raft::types::MemberInfo;
use detcd_proto::convert::{member_list_response_to_proto, member_to_proto};
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::cluster_server::Cluster;
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
        super::admin_only(&self.member, &request)?;
        let request = request.into_inner();
        let id = member_id(&request.peer_ur_ls, &self.token);
        let info = MemberInfo {
            name: String::new(),
            peer_urls: request.peer_ur_ls,
            client_urls: Vec::new(),
        };
        let added = MemberSummary { id, info: info.clone(), is_learner: request.is_learner };
        let admit = MembershipChange::Admit { id, info, is_learner: request.is_learner };
        self.member.change_membership(admit).await.map_err(status_of)?;
        Ok(Response::new(pb::MemberAddResponse {
            header: detcd_proto::convert::header_to_proto(self.member.cluster_header()),
            member: Some(member_to_proto(added)),
            members: self.members(),
        }))
    }

    async fn member_remove(
        &self,
        request: Request<pb::MemberRemoveRequest>,
    ) -> Result<Response<pb::MemberRemoveResponse>, Status> {
        super::admin_only(&self.member, &request)?;
        let id = request.into_inner().id;
        let remove = MembershipChange::Remove { id };
        self.member.change_membership(remove).await.map_err(status_of)?;
        let header = detcd_proto::convert::header_to_proto(self.member.cluster_header());
        Ok(Response::new(pb::MemberRemoveResponse { header, members: self.members() }))
    }

    async fn member_update(
        &self,
        request: Request<pb::MemberUpdateRequest>,
    ) -> Result<Response<pb::MemberUpdateResponse>, Status> {
        super::admin_only(&self.member, &request)?;
        let request = request.into_inner();
        let update =
            MembershipChange::UpdatePeerUrls { id: request.id, peer_urls: request.peer_ur_ls };
        self.member.change_membership(update).await.map_err(status_of)?;
        let header = detcd_proto::convert::header_to_proto(self.member.cluster_header());
        Ok(Response::new(pb::MemberUpdateResponse { header, members: self.members() }))
    }

    async fn member_list(
        &self,
        request: Request<pb::MemberListRequest>,
    ) -> Result<Response<pb::MemberListResponse>, Status> {
        let linearizable = request.into_inner().linearizable;
        let request = MemberListRequest { linearizable };
        let members = self.member.list_members(request).await.map_err(status_of)?;
        let header = self.member.cluster_header();
        Ok(Response::new(member_list_response_to_proto(header, members)))
    }

    async fn member_promote(
        &self,
        request: Request<pb::MemberPromoteRequest>,
    ) -> Result<Response<pb::MemberPromoteResponse>, Status> {
        super::admin_only(&self.member, &request)?;
        let id = request.into_inner().id;
        let promote = MembershipChange::Promote { id };
        self.member.change_membership(promote).await.map_err(status_of)?;
        let header = detcd_proto::convert::header_to_proto(self.member.cluster_header());
        Ok(Response::new(pb::MemberPromoteResponse { header, members: self.members() }))
    }
}
