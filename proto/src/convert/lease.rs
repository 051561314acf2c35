//! Lease messages: Grant, Revoke, KeepAlive, TimeToLive, Leases.

use super::kv::{header_from_proto, header_to_proto};
use crate::etcdserverpb as pb;
use detcd_core::api::*;

pub fn lease_grant_request_from_proto(r: pb::LeaseGrantRequest) -> LeaseGrantRequest {
    LeaseGrantRequest { ttl: r.ttl, id: r.id }
}

pub fn lease_grant_request_to_proto(r: LeaseGrantRequest) -> pb::LeaseGrantRequest {
    pb::LeaseGrantRequest { ttl: r.ttl, id: r.id }
}

pub fn lease_grant_response_to_proto(r: LeaseGrantResponse) -> pb::LeaseGrantResponse {
    pb::LeaseGrantResponse {
        header: header_to_proto(r.header),
        id: r.id,
        ttl: r.ttl,
        error: String::new(),
    }
}

pub fn lease_grant_response_from_proto(r: pb::LeaseGrantResponse) -> LeaseGrantResponse {
    LeaseGrantResponse { header: header_from_proto(r.header), id: r.id, ttl: r.ttl }
}

pub fn lease_revoke_request_from_proto(r: pb::LeaseRevokeRequest) -> LeaseRevokeRequest {
    LeaseRevokeRequest { id: r.id }
}

pub fn lease_revoke_request_to_proto(r: LeaseRevokeRequest) -> pb::LeaseRevokeRequest {
    pb::LeaseRevokeRequest { id: r.id }
}

pub fn lease_revoke_response_to_proto(r: LeaseRevokeResponse) -> pb::LeaseRevokeResponse {
    pb::LeaseRevokeResponse { header: header_to_proto(r.header) }
}

pub fn lease_revoke_response_from_proto(r: pb::LeaseRevokeResponse) -> LeaseRevokeResponse {
    LeaseRevokeResponse { header: header_from_proto(r.header) }
}

pub fn lease_keep_alive_request_from_proto(r: pb::LeaseKeepAliveRequest) -> LeaseKeepAliveRequest {
    LeaseKeepAliveRequest { id: r.id }
}

pub fn lease_keep_alive_request_to_proto(r: LeaseKeepAliveRequest) -> pb::LeaseKeepAliveRequest {
    pb::LeaseKeepAliveRequest { id: r.id }
}

pub fn lease_keep_alive_response_to_proto(r: LeaseKeepAliveResponse) -> pb::LeaseKeepAliveResponse {
    pb::LeaseKeepAliveResponse { header: header_to_proto(r.header), id: r.id, ttl: r.ttl }
}

pub fn lease_keep_alive_response_from_proto(
    r: pb::LeaseKeepAliveResponse,
) -> LeaseKeepAliveResponse {
    LeaseKeepAliveResponse { header: header_from_proto(r.header), id: r.id, ttl: r.ttl }
}

pub fn lease_time_to_live_request_from_proto(
    r: pb::LeaseTimeToLiveRequest,
) -> LeaseTimeToLiveRequest {
    LeaseTimeToLiveRequest { id: r.id, keys: r.keys }
}

pub fn lease_time_to_live_request_to_proto(
    r: LeaseTimeToLiveRequest,
) -> pb::LeaseTimeToLiveRequest {
    pb::LeaseTimeToLiveRequest { id: r.id, keys: r.keys }
}

pub fn lease_time_to_live_response_to_proto(
    r: LeaseTimeToLiveResponse,
) -> pb::LeaseTimeToLiveResponse {
    pb::LeaseTimeToLiveResponse {
        header: header_to_proto(r.header),
        id: r.id,
        ttl: r.ttl,
        granted_ttl: r.granted_ttl,
        keys: r.keys,
    }
}

pub fn lease_time_to_live_response_from_proto(
    r: pb::LeaseTimeToLiveResponse,
) -> LeaseTimeToLiveResponse {
    LeaseTimeToLiveResponse {
        header: header_from_proto(r.header),
        id: r.id,
        ttl: r.ttl,
        granted_ttl: r.granted_ttl,
        keys: r.keys,
    }
}

pub fn lease_leases_response_to_proto(r: LeaseLeasesResponse) -> pb::LeaseLeasesResponse {
    pb::LeaseLeasesResponse {
        header: header_to_proto(r.header),
        leases: r.leases.into_iter().map(|id| pb::LeaseStatus { id }).collect(),
    }
}

pub fn lease_leases_response_from_proto(r: pb::LeaseLeasesResponse) -> LeaseLeasesResponse {
    LeaseLeasesResponse {
        header: header_from_proto(r.header),
        leases: r.leases.into_iter().map(|status| status.id).collect(),
    }
}
