//! Who a request is from, as the log carries it: etcd's `AuthInfo` (user name and the auth
//! revision the member resolved the caller's credentials at).
//!
//! The member that receives a request turns the caller's credentials (a token, or a client
//! certificate's common name) into an `AuthInfo` (`Member::authorize`), and a write carries it
//! through the log, so the permission check runs in apply against the auth store as it is at
//! that point of the log. An anonymous caller has the empty name and revision 0, which a store
//! with auth enabled refuses (`UserEmpty`), as etcd does.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AuthInfo {
    pub user: String,
    pub revision: u64,
}

impl AuthInfo {
    pub fn is_anonymous(&self) -> bool {
        self.user.is_empty() || self.revision == 0
    }
}

/// The credentials a transport found on a request; resolved into an [`AuthInfo`] by the member.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// etcd's `token` metadata (from `Authenticate`).
    pub token: Option<String>,
    /// The common name of the verified client certificate (used when no token is given).
    pub common_name: Option<String>,
}

/// Who asks: the member itself (its own recipes, tests, internal housekeeping: never checked)
/// or a client with the credentials its transport found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Caller {
    Internal,
    Client(Credentials),
}

impl Caller {
    /// A client that showed no credentials.
    pub fn anonymous() -> Caller {
        Caller::Client(Credentials::default())
    }

    /// A client with a token.
    pub fn with_token(token: impl Into<String>) -> Caller {
        Caller::Client(Credentials { token: Some(token.into()), common_name: None })
    }
}
