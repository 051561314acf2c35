//! etcd's `Auth` service: users, roles, permissions, enable/disable, authenticate, status.
//!
//! Every method converts the message, hands it to core with the caller's credentials
//! (`call_as`) and converts the typed answer back; core hashes, checks and decides.

use super::{call_as, caller_of};
use crate::status::invalid;
use detcd_core::auth::request::*;
use detcd_core::member::Member;
use detcd_proto::convert::*;
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::auth_server::Auth;
use tonic::{Request, Response, Status};

pub struct AuthService {
    member: Member,
}

impl AuthService {
    pub fn new(member: Member) -> Self {
        AuthService { member }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Auth for AuthService {
    async fn auth_enable(
        &self,
        request: Request<pb::AuthEnableRequest>,
    ) -> Answer<pb::AuthEnableResponse> {
        let header = call_as(&self.member, caller_of(&request), AuthEnableRequest {}).await?;
        Ok(Response::new(pb::AuthEnableResponse { header: auth_header(header) }))
    }

    async fn auth_disable(
        &self,
        request: Request<pb::AuthDisableRequest>,
    ) -> Answer<pb::AuthDisableResponse> {
        let header = call_as(&self.member, caller_of(&request), AuthDisableRequest {}).await?;
        Ok(Response::new(pb::AuthDisableResponse { header: auth_header(header) }))
    }

    async fn auth_status(
        &self,
        request: Request<pb::AuthStatusRequest>,
    ) -> Answer<pb::AuthStatusResponse> {
        let answer = call_as(&self.member, caller_of(&request), AuthStatusRequest {}).await?;
        Ok(Response::new(auth_status_response_to_proto(answer)))
    }

    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Answer<pb::AuthenticateResponse> {
        let domain = authenticate_request_from_proto(request.get_ref().clone());
        let answer = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(authenticate_response_to_proto(answer)))
    }

    async fn user_add(
        &self,
        request: Request<pb::AuthUserAddRequest>,
    ) -> Answer<pb::AuthUserAddResponse> {
        let domain = user_add_request_from_proto(request.get_ref().clone());
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthUserAddResponse { header: auth_header(header) }))
    }

    async fn user_get(
        &self,
        request: Request<pb::AuthUserGetRequest>,
    ) -> Answer<pb::AuthUserGetResponse> {
        let domain = AuthUserGetRequest { name: request.get_ref().name.clone() };
        let answer = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthUserGetResponse {
            header: auth_header(answer.header),
            roles: answer.names,
        }))
    }

    async fn user_list(
        &self,
        request: Request<pb::AuthUserListRequest>,
    ) -> Answer<pb::AuthUserListResponse> {
        let answer = call_as(&self.member, caller_of(&request), AuthUserListRequest {}).await?;
        Ok(Response::new(pb::AuthUserListResponse {
            header: auth_header(answer.header),
            users: answer.names,
        }))
    }

    async fn user_delete(
        &self,
        request: Request<pb::AuthUserDeleteRequest>,
    ) -> Answer<pb::AuthUserDeleteResponse> {
        let domain = AuthUserDeleteRequest { name: request.get_ref().name.clone() };
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthUserDeleteResponse { header: auth_header(header) }))
    }

    async fn user_change_password(
        &self,
        request: Request<pb::AuthUserChangePasswordRequest>,
    ) -> Answer<pb::AuthUserChangePasswordResponse> {
        let r = request.get_ref();
        let domain =
            AuthUserChangePasswordRequest { name: r.name.clone(), password: r.password.clone() };
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthUserChangePasswordResponse { header: auth_header(header) }))
    }

    async fn user_grant_role(
        &self,
        request: Request<pb::AuthUserGrantRoleRequest>,
    ) -> Answer<pb::AuthUserGrantRoleResponse> {
        let r = request.get_ref();
        let domain = AuthUserGrantRoleRequest { user: r.user.clone(), role: r.role.clone() };
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthUserGrantRoleResponse { header: auth_header(header) }))
    }

    async fn user_revoke_role(
        &self,
        request: Request<pb::AuthUserRevokeRoleRequest>,
    ) -> Answer<pb::AuthUserRevokeRoleResponse> {
        let r = request.get_ref();
        let domain = AuthUserRevokeRoleRequest { name: r.name.clone(), role: r.role.clone() };
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthUserRevokeRoleResponse { header: auth_header(header) }))
    }

    async fn role_add(
        &self,
        request: Request<pb::AuthRoleAddRequest>,
    ) -> Answer<pb::AuthRoleAddResponse> {
        let domain = AuthRoleAddRequest { name: request.get_ref().name.clone() };
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthRoleAddResponse { header: auth_header(header) }))
    }

    async fn role_get(
        &self,
        request: Request<pb::AuthRoleGetRequest>,
    ) -> Answer<pb::AuthRoleGetResponse> {
        let domain = AuthRoleGetRequest { role: request.get_ref().role.clone() };
        let answer = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(role_get_response_to_proto(answer)))
    }

    async fn role_list(
        &self,
        request: Request<pb::AuthRoleListRequest>,
    ) -> Answer<pb::AuthRoleListResponse> {
        let answer = call_as(&self.member, caller_of(&request), AuthRoleListRequest {}).await?;
        Ok(Response::new(pb::AuthRoleListResponse {
            header: auth_header(answer.header),
            roles: answer.names,
        }))
    }

    async fn role_delete(
        &self,
        request: Request<pb::AuthRoleDeleteRequest>,
    ) -> Answer<pb::AuthRoleDeleteResponse> {
        let domain = AuthRoleDeleteRequest { role: request.get_ref().role.clone() };
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthRoleDeleteResponse { header: auth_header(header) }))
    }

    async fn role_grant_permission(
        &self,
        request: Request<pb::AuthRoleGrantPermissionRequest>,
    ) -> Answer<pb::AuthRoleGrantPermissionResponse> {
        let domain =
            role_grant_permission_request_from_proto(request.get_ref().clone()).map_err(invalid)?;
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthRoleGrantPermissionResponse { header: auth_header(header) }))
    }

    async fn role_revoke_permission(
        &self,
        request: Request<pb::AuthRoleRevokePermissionRequest>,
    ) -> Answer<pb::AuthRoleRevokePermissionResponse> {
        let domain = role_revoke_permission_request_from_proto(request.get_ref().clone());
        let header = call_as(&self.member, caller_of(&request), domain).await?;
        Ok(Response::new(pb::AuthRoleRevokePermissionResponse { header: auth_header(header) }))
    }
}
