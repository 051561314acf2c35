//! The Auth service's messages and detcd-core's auth requests and answers.

use super::{header_to_proto, ConvertError};
use crate::authpb;
use crate::etcdserverpb as pb;
use detcd_core::auth::request::*;
use detcd_core::auth::{Permission, PermissionType};
use detcd_core::kv::ResponseHeader;

pub fn permission_from_proto(perm: authpb::Permission) -> Result<Permission, ConvertError> {
    let kind = PermissionType::from_i32(perm.perm_type)
        .ok_or_else(|| ConvertError::unknown_enum("permType", perm.perm_type))?;
    Ok(Permission { kind, key: perm.key, range_end: perm.range_end })
}

pub fn permission_to_proto(perm: Permission) -> authpb::Permission {
    authpb::Permission { perm_type: perm.kind.as_i32(), key: perm.key, range_end: perm.range_end }
}

pub fn authenticate_request_from_proto(r: pb::AuthenticateRequest) -> AuthenticateRequest {
    AuthenticateRequest { name: r.name, password: r.password }
}

pub fn user_add_request_from_proto(r: pb::AuthUserAddRequest) -> AuthUserAddRequest {
    let no_password = r.options.is_some_and(|o| o.no_password);
    AuthUserAddRequest { name: r.name, password: r.password, no_password }
}

pub fn role_grant_permission_request_from_proto(
    r: pb::AuthRoleGrantPermissionRequest,
) -> Result<AuthRoleGrantPermissionRequest, ConvertError> {
    let perm = r.perm.map(permission_from_proto).transpose()?;
    Ok(AuthRoleGrantPermissionRequest { name: r.name, perm })
}

pub fn role_revoke_permission_request_from_proto(
    r: pb::AuthRoleRevokePermissionRequest,
) -> AuthRoleRevokePermissionRequest {
    AuthRoleRevokePermissionRequest { role: r.role, key: r.key, range_end: r.range_end }
}

/// The header of an answer that carries nothing else.
pub fn auth_header(header: ResponseHeader) -> Option<pb::ResponseHeader> {
    header_to_proto(header)
}

pub fn authenticate_response_to_proto(r: AuthenticateResponse) -> pb::AuthenticateResponse {
    pb::AuthenticateResponse { header: header_to_proto(r.header), token: r.token }
}

pub fn auth_status_response_to_proto(r: AuthStatusResponse) -> pb::AuthStatusResponse {
    pb::AuthStatusResponse {
        header: header_to_proto(r.header),
        enabled: r.enabled,
        auth_revision: r.auth_revision,
    }
}

pub fn role_get_response_to_proto(r: AuthRoleGetResponse) -> pb::AuthRoleGetResponse {
    pb::AuthRoleGetResponse {
        header: header_to_proto(r.header),
        perm: r.perm.into_iter().map(permission_to_proto).collect(),
    }
}
