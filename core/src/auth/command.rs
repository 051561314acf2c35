//! The auth store's log entries and what applying them answers.
//!
//! Every Auth RPC goes through the log, as in etcd (its reads too, so they are linearizable).
//! What needs randomness or a slow hash is done by the member before proposing: a password
//! arrives here already bcrypt-hashed, a token already drawn, so applying stays a pure function.

use super::permission::Permission;
use serde::{Deserialize, Serialize};

/// One change to (or read of) the auth store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthCommand {
    Enable,
    Disable,
    Status,
    /// Issues `token` to `name`, whose password the proposing member checked at auth revision
    /// `revision` (etcd's optimistic check: a store changed meanwhile refuses it).
    Authenticate {
        name: String,
        token: String,
        revision: u64,
    },
    /// `hash` is the bcrypt hash; `None` for a user without a password (`no_password`).
    UserAdd {
        name: String,
        hash: Option<String>,
    },
    UserGet {
        name: String,
    },
    UserList,
    UserDelete {
        name: String,
    },
    UserChangePassword {
        name: String,
        hash: String,
    },
    UserGrantRole {
        user: String,
        role: String,
    },
    UserRevokeRole {
        name: String,
        role: String,
    },
    RoleAdd {
        name: String,
    },
    RoleGet {
        role: String,
    },
    RoleList,
    RoleDelete {
        role: String,
    },
    RoleGrantPermission {
        name: String,
        perm: Permission,
    },
    RoleRevokePermission {
        role: String,
        key: Vec<u8>,
        range_end: Vec<u8>,
    },
}

/// What applying an [`AuthCommand`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthAnswer {
    /// A change was made (or, as etcd, ignored because it was already so).
    Done,
    Status {
        enabled: bool,
        revision: u64,
    },
    Token(String),
    /// A user's roles, sorted.
    UserRoles(Vec<String>),
    Users(Vec<String>),
    /// A role's permissions, sorted by key.
    RolePermissions(Vec<Permission>),
    Roles(Vec<String>),
}

impl AuthCommand {
    /// Whether only the root role may do this (etcd's `needAdminPermission`).
    pub fn needs_admin(&self) -> bool {
        !matches!(
            self,
            AuthCommand::Status
                | AuthCommand::Authenticate { .. }
                | AuthCommand::UserGet { .. }
                | AuthCommand::RoleGet { .. }
        )
    }

    /// About how many bytes the request takes on the wire (see `Command::encoded_len`).
    pub fn encoded_len(&self) -> usize {
        let text = |s: &str| s.len() + 4;
        match self {
            AuthCommand::Enable
            | AuthCommand::Disable
            | AuthCommand::Status
            | AuthCommand::UserList
            | AuthCommand::RoleList => 0,
            AuthCommand::Authenticate { name, token, .. } => text(name) + text(token) + 8,
            AuthCommand::UserAdd { name, hash } => text(name) + hash.as_deref().map_or(0, text),
            AuthCommand::UserGet { name }
            | AuthCommand::UserDelete { name }
            | AuthCommand::RoleAdd { name } => text(name),
            AuthCommand::RoleGet { role } | AuthCommand::RoleDelete { role } => text(role),
            AuthCommand::UserChangePassword { name, hash } => text(name) + text(hash),
            AuthCommand::UserGrantRole { user: a, role: b }
            | AuthCommand::UserRevokeRole { name: a, role: b } => text(a) + text(b),
            AuthCommand::RoleGrantPermission { name, perm } => {
                text(name) + perm.key.len() + perm.range_end.len() + 12
            }
            AuthCommand::RoleRevokePermission { role, key, range_end } => {
                text(role) + key.len() + range_end.len() + 8
            }
        }
    }
}
