//! The Auth service's requests and answers, one type each, as etcd's `rpc.proto` has them.
//!
//! A member serves each (`member::auth`): it turns the request into the [`AuthCommand`] the log
//! carries (hashing a password, checking one, drawing a token: the work apply must not do) and
//! finds the typed answer in what applying it answered (`answer`).
//!
//! [`AuthCommand`]: super::AuthCommand

use super::command::AuthAnswer;
use super::permission::Permission;
use crate::kv::ResponseHeader;
use serde::{Deserialize, Serialize};

macro_rules! requests {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct $name { $(pub $field: $ty),* }
    )*};
}

requests! {
    AuthEnableRequest {}
    AuthDisableRequest {}
    /// etcd 3.5's `AuthStatus`.
    AuthStatusRequest {}
    AuthenticateRequest { name: String, password: String }
    /// `no_password`: a user that may only come by client certificate.
    AuthUserAddRequest { name: String, password: String, no_password: bool }
    AuthUserGetRequest { name: String }
    AuthUserListRequest {}
    AuthUserDeleteRequest { name: String }
    AuthUserChangePasswordRequest { name: String, password: String }
    AuthUserGrantRoleRequest { user: String, role: String }
    AuthUserRevokeRoleRequest { name: String, role: String }
    AuthRoleAddRequest { name: String }
    AuthRoleGetRequest { role: String }
    AuthRoleListRequest {}
    AuthRoleDeleteRequest { role: String }
    AuthRoleGrantPermissionRequest { name: String, perm: Option<Permission> }
    AuthRoleRevokePermissionRequest { role: String, key: Vec<u8>, range_end: Vec<u8> }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthStatusResponse {
    pub header: ResponseHeader,
    pub enabled: bool,
    pub auth_revision: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthenticateResponse {
    pub header: ResponseHeader,
    pub token: String,
}

/// `UserGet`'s and `UserList`'s answer: names (a user's roles, or every user).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthNamesResponse {
    pub header: ResponseHeader,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthRoleGetResponse {
    pub header: ResponseHeader,
    pub perm: Vec<Permission>,
}

/// The answers of the Auth requests, from what applying their command answered; `None` when
/// it answered another kind (a broken peer on the wire).
pub trait FromAnswer: Sized {
    fn from_answer(header: ResponseHeader, answer: AuthAnswer) -> Option<Self>;
}

/// The requests that only change something answer with a header.
impl FromAnswer for ResponseHeader {
    fn from_answer(header: ResponseHeader, answer: AuthAnswer) -> Option<Self> {
        matches!(answer, AuthAnswer::Done).then_some(header)
    }
}

impl FromAnswer for AuthStatusResponse {
    fn from_answer(header: ResponseHeader, answer: AuthAnswer) -> Option<Self> {
        match answer {
            AuthAnswer::Status { enabled, revision } => {
                Some(AuthStatusResponse { header, enabled, auth_revision: revision })
            }
            _ => None,
        }
    }
}

impl FromAnswer for AuthenticateResponse {
    fn from_answer(header: ResponseHeader, answer: AuthAnswer) -> Option<Self> {
        match answer {
            AuthAnswer::Token(token) => Some(AuthenticateResponse { header, token }),
            _ => None,
        }
    }
}

impl FromAnswer for AuthNamesResponse {
    fn from_answer(header: ResponseHeader, answer: AuthAnswer) -> Option<Self> {
        match answer {
            AuthAnswer::UserRoles(names) | AuthAnswer::Users(names) | AuthAnswer::Roles(names) => {
                Some(AuthNamesResponse { header, names })
            }
            _ => None,
        }
    }
}

impl FromAnswer for AuthRoleGetResponse {
    fn from_answer(header: ResponseHeader, answer: AuthAnswer) -> Option<Self> {
        match answer {
            AuthAnswer::RolePermissions(perm) => Some(AuthRoleGetResponse { header, perm }),
            _ => None,
        }
    }
}
