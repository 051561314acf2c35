//! Cluster and maintenance messages: members, status, hash.

use super::kv::header_to_proto;
use crate::etcdserverpb as pb;
use detcd_core::kv::ResponseHeader;
use detcd_core::member::{MemberStatus, MemberSummary};
use detcd_core::raft::types::MemberInfo;

pub fn member_to_proto(member: MemberSummary) -> pb::Member {
    pb::Member {
        id: member.id,
        name: member.info.name,
        peer_ur_ls: member.info.peer_urls,
        client_ur_ls: member.info.client_urls,
        is_learner: member.is_learner,
    }
}

pub fn member_list_response_to_proto(
    header: ResponseHeader,
    members: Vec<MemberSummary>,
) -> pb::MemberListResponse {
    pb::MemberListResponse {
        header: header_to_proto(header),
        members: members.into_iter().map(member_to_proto).collect(),
    }
}

/// `version` is the etcd server version this member reports (etcdctl prints it).
pub fn status_response_to_proto(
    header: ResponseHeader,
    status: MemberStatus,
    version: &str,
) -> pb::StatusResponse {
    pb::StatusResponse {
        header: header_to_proto(header),
        version: version.to_string(),
        db_size: status.db_size,
        leader: status.leader.unwrap_or(0),
        raft_index: status.raft_index,
        raft_term: status.raft_term,
        raft_applied_index: status.raft_applied_index,
        errors: Vec::new(),
        db_size_in_use: status.db_size,
        is_learner: status.is_learner,
    }
}

pub fn hash_kv_response_to_proto(
    header: ResponseHeader,
    hash: u32,
    compact_revision: i64,
) -> pb::HashKvResponse {
    pb::HashKvResponse { header: header_to_proto(header), hash, compact_revision }
}

pub fn member_from_proto(member: pb::Member) -> MemberSummary {
    MemberSummary {
        id: member.id,
        info: MemberInfo {
            name: member.name,
            peer_urls: member.peer_ur_ls,
            client_urls: member.client_ur_ls,
        },
        is_learner: member.is_learner,
    }
}

/// What a client learns of a member's status. The wire carries no name, revision or compact
/// revision: `name` is empty, `revision` comes from the header and `compact_revision` is 0.
pub fn status_from_proto(status: pb::StatusResponse) -> MemberStatus {
    let header = status.header.unwrap_or_default();
    MemberStatus {
        id: header.member_id,
        name: String::new(),
        leader: (status.leader != 0).then_some(status.leader),
        is_leader: status.leader != 0 && status.leader == header.member_id,
        is_learner: status.is_learner,
        raft_term: status.raft_term,
        raft_index: status.raft_index,
        raft_applied_index: status.raft_applied_index,
        revision: header.revision,
        compact_revision: 0,
        db_size: status.db_size,
    }
}
