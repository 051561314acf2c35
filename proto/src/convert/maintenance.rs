//! Cluster and maintenance messages: members, status, hash, alarms.

use super::kv::header_to_proto;
use super::{ConvertError, ConvertResult};
use crate::etcdserverpb as pb;
use detcd_core::apply::{AlarmAction, AlarmMember, AlarmRequest, AlarmResponse, AlarmType};
use detcd_core::apply::{DowngradeAction, DowngradeInfo, DowngradeRequest, DowngradeResponse};
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
        db_size_quota: status.db_size_quota,
        // detcd's files are not etcd's bbolt schema: no storage version, as etcd before 3.6.
        storage_version: String::new(),
        downgrade_info: Some(pb::DowngradeInfo {
            enabled: status.downgrade.enabled,
            target_version: status.downgrade.target_version,
        }),
    }
}

/// etcd's `DowngradeRequest`; an action etcd does not define is kept, for the member to refuse.
pub fn downgrade_request_from_proto(r: pb::DowngradeRequest) -> DowngradeRequest {
    use pb::downgrade_request::DowngradeAction as PbAction;
    let action = match PbAction::try_from(r.action) {
        Ok(PbAction::Validate) => DowngradeAction::Validate,
        Ok(PbAction::Enable) => DowngradeAction::Enable,
        Ok(PbAction::Cancel) => DowngradeAction::Cancel,
        Err(_) => DowngradeAction::Unknown(r.action),
    };
    DowngradeRequest { action, version: r.version }
}

pub fn downgrade_request_to_proto(r: DowngradeRequest) -> pb::DowngradeRequest {
    use pb::downgrade_request::DowngradeAction as PbAction;
    let action = match r.action {
        DowngradeAction::Validate => PbAction::Validate as i32,
        DowngradeAction::Enable => PbAction::Enable as i32,
        DowngradeAction::Cancel => PbAction::Cancel as i32,
        DowngradeAction::Unknown(action) => action,
    };
    pb::DowngradeRequest { action, version: r.version }
}

pub fn downgrade_response_to_proto(r: DowngradeResponse) -> pb::DowngradeResponse {
    pb::DowngradeResponse { header: header_to_proto(r.header), version: r.version }
}

pub fn hash_kv_response_to_proto(
    header: ResponseHeader,
    hash: u32,
    compact_revision: i64,
    hash_revision: i64,
) -> pb::HashKvResponse {
    pb::HashKvResponse { header: header_to_proto(header), hash, compact_revision, hash_revision }
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
        db_size_quota: status.db_size_quota,
        downgrade: status
            .downgrade_info
            .map(|info| DowngradeInfo {
                enabled: info.enabled,
                target_version: info.target_version,
            })
            .unwrap_or_default(),
    }
}

fn alarm_type_from_proto(value: i32) -> ConvertResult<AlarmType> {
    match pb::AlarmType::try_from(value) {
        Ok(pb::AlarmType::None) => Ok(AlarmType::None),
        Ok(pb::AlarmType::Nospace) => Ok(AlarmType::NoSpace),
        Ok(pb::AlarmType::Corrupt) => Ok(AlarmType::Corrupt),
        Err(_) => Err(ConvertError::unknown_enum("alarm", value)),
    }
}

fn alarm_type_to_proto(alarm: AlarmType) -> i32 {
    match alarm {
        AlarmType::None => pb::AlarmType::None as i32,
        AlarmType::NoSpace => pb::AlarmType::Nospace as i32,
        AlarmType::Corrupt => pb::AlarmType::Corrupt as i32,
    }
}

pub fn alarm_request_from_proto(r: pb::AlarmRequest) -> ConvertResult<AlarmRequest> {
    use pb::alarm_request::AlarmAction as PbAction;
    let action = match PbAction::try_from(r.action) {
        Ok(PbAction::Get) => AlarmAction::Get,
        Ok(PbAction::Activate) => AlarmAction::Activate,
        Ok(PbAction::Deactivate) => AlarmAction::Deactivate,
        Err(_) => return Err(ConvertError::unknown_enum("action", r.action)),
    };
    Ok(AlarmRequest { action, member_id: r.member_id, alarm: alarm_type_from_proto(r.alarm)? })
}

pub fn alarm_member_to_proto(member: AlarmMember) -> pb::AlarmMember {
    pb::AlarmMember { member_id: member.member_id, alarm: alarm_type_to_proto(member.alarm) }
}

pub fn alarm_response_to_proto(r: AlarmResponse) -> pb::AlarmResponse {
    pb::AlarmResponse {
        header: header_to_proto(r.header),
        alarms: r.alarms.into_iter().map(alarm_member_to_proto).collect(),
    }
}

/// An alarm as etcd's `Status.errors` and logs print it (`AlarmMember.String()`).
pub fn alarm_text(member: AlarmMember) -> String {
    let alarm = match member.alarm {
        AlarmType::None => "NONE",
        AlarmType::NoSpace => "NOSPACE",
        AlarmType::Corrupt => "CORRUPT",
    };
    format!("memberID:{} alarm:{alarm}", member.member_id)
}
