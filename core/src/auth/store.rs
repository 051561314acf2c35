//! [`AuthStore`]: users, roles, the enabled flag, the auth revision and the issued tokens, part
//! of the replicated state machine and changed only by [`AuthStore::apply`].
//!
//! The rules are etcd 3.4's (`auth/store.go`):
//! - auth can be enabled only when the user `root` exists and has the role `root` (the role
//!   need not exist as a role: `root` is all permissions); while enabled, `root` cannot be
//!   deleted, the role `root` cannot be deleted nor revoked from `root`;
//! - every change bumps the auth revision by one, except `Enable` (etcd leaves it) and changes
//!   that change nothing (granting a role a user has); a request authorized at an older revision
//!   than the store's is refused with `AuthOldRevision`, so no request runs under permissions
//!   that were changed after its caller was resolved;
//! - deleting a role revokes it from every user; deleting a user or changing their password
//!   drops their tokens, and disabling auth drops them all.
//!
//! Invariants: every map is ordered and apply reads no clock and draws no random number, so every
//! replica applies the same command to the same state the same way; a refused command changes
//! nothing (not even the revision).

use super::command::{AuthAnswer, AuthCommand};
use super::info::AuthInfo;
use super::permission::{covers, Permission, PermissionType};
use super::token::Tokens;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The user and the role that may do everything.
pub const ROOT: &str = "root";

/// One user: a bcrypt hash of the password (`None` for a user that may only come by
/// certificate, etcd's `no_password`) and the roles granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub hash: Option<String>,
    pub roles: BTreeSet<String>,
}

/// One role: its permissions, sorted by key (then range end), at most one per (key, range end).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStore {
    enabled: bool,
    revision: u64,
    users: BTreeMap<String, User>,
    roles: BTreeMap<String, Role>,
    tokens: Tokens,
}

impl Default for AuthStore {
    fn default() -> Self {
        // etcd's store starts at auth revision 1 (`auth status` of a new cluster says so).
        AuthStore {
            enabled: false,
            revision: 1,
            users: BTreeMap::new(),
            roles: BTreeMap::new(),
            tokens: Tokens::default(),
        }
    }
}

impl AuthStore {
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// Every user, by name.
    pub fn users(&self) -> impl Iterator<Item = (&str, &User)> {
        self.users.iter().map(|(name, user)| (name.as_str(), user))
    }

    /// Every role, by name.
    pub fn roles(&self) -> impl Iterator<Item = (&str, &Role)> {
        self.roles.iter().map(|(name, role)| (name.as_str(), role))
    }

    /// The store another system's snapshot held (etcd's auth buckets), without tokens: a
    /// restored cluster's clients authenticate again, as after etcd's own restore. Refused when
    /// it breaks the store's rules: enabled without a `root` user holding the role `root`, a
    /// user granted a role that does not exist (`root` excepted), or a revision of 0.
    pub fn restored(
        enabled: bool,
        revision: u64,
        users: BTreeMap<String, User>,
        mut roles: BTreeMap<String, Role>,
    ) -> Result<AuthStore> {
        let refuse =
            |why: String| Err(Error::Other(format!("cannot restore the auth store: {why}")));
        if revision == 0 {
            return refuse("its revision is 0".into());
        }
        let root_is_root = users.get(ROOT).is_some_and(|user| user.roles.contains(ROOT));
        if enabled && !root_is_root {
            return refuse("auth is enabled but the user root lacks the role root".into());
        }
        for (name, user) in &users {
            if let Some(role) = user.roles.iter().find(|r| *r != ROOT && !roles.contains_key(*r)) {
                return refuse(format!("user {name} has the role {role}, which does not exist"));
            }
        }
        for role in roles.values_mut() {
            role.permissions.sort_by(|a, b| (&a.key, &a.range_end).cmp(&(&b.key, &b.range_end)));
            role.permissions.dedup_by(|a, b| (&a.key, &a.range_end) == (&b.key, &b.range_end));
        }
        Ok(AuthStore { enabled, revision, users, roles, tokens: Tokens::default() })
    }

    /// The user a token was issued to, while the token stands.
    pub fn token_user(&self, token: &str) -> Option<&str> {
        self.tokens.user(token)
    }

    /// Applies one auth command on behalf of `info` (`None`: the member itself, unchecked).
    pub fn apply(&mut self, command: &AuthCommand, info: Option<&AuthInfo>) -> Result<AuthAnswer> {
        if let Some(info) = info {
            self.check_auth_command(command, info)?;
        }
        self.execute(command)
    }

    fn execute(&mut self, command: &AuthCommand) -> Result<AuthAnswer> {
        match command {
            AuthCommand::Enable => self.enable(),
            AuthCommand::Disable => {
                if self.enabled {
                    self.enabled = false;
                    self.tokens.clear();
                    self.revision += 1;
                }
                Ok(AuthAnswer::Done)
            }
            AuthCommand::Status => {
                Ok(AuthAnswer::Status { enabled: self.enabled, revision: self.revision })
            }
            AuthCommand::Authenticate { name, token, revision } => {
                self.authenticate(name, token, *revision)
            }
            AuthCommand::UserAdd { name, hash } => {
                if name.is_empty() {
                    return Err(Error::UserEmpty);
                }
                if self.users.contains_key(name) {
                    return Err(Error::UserAlreadyExist);
                }
                let user = User { hash: hash.clone(), roles: BTreeSet::new() };
                self.users.insert(name.clone(), user);
                self.changed()
            }
            AuthCommand::UserGet { name } => {
                let user = self.users.get(name).ok_or(Error::UserNotFound)?;
                Ok(AuthAnswer::UserRoles(user.roles.iter().cloned().collect()))
            }
            AuthCommand::UserList => Ok(AuthAnswer::Users(self.users.keys().cloned().collect())),
            AuthCommand::UserDelete { name } => {
                if self.enabled && name == ROOT {
                    return Err(Error::InvalidAuthMgmt);
                }
                self.users.remove(name).ok_or(Error::UserNotFound)?;
                self.tokens.drop_user(name);
                self.changed()
            }
            AuthCommand::UserChangePassword { name, hash } => {
                let user = self.users.get_mut(name).ok_or(Error::UserNotFound)?;
                user.hash = Some(hash.clone());
                self.tokens.drop_user(name);
                self.changed()
            }
            AuthCommand::UserGrantRole { user, role } => {
                if !self.users.contains_key(user) {
                    return Err(Error::UserNotFound);
                }
                if role != ROOT && !self.roles.contains_key(role) {
                    return Err(Error::RoleNotFound);
                }
                let granted = self.users.get_mut(user).map(|u| u.roles.insert(role.clone()));
                match granted {
                    Some(true) => self.changed(),
                    // Already granted: etcd answers success and changes nothing.
                    _ => Ok(AuthAnswer::Done),
                }
            }
            AuthCommand::UserRevokeRole { name, role } => {
                if self.enabled && name == ROOT && role == ROOT {
                    return Err(Error::InvalidAuthMgmt);
                }
                let user = self.users.get_mut(name).ok_or(Error::UserNotFound)?;
                if !user.roles.remove(role) {
                    return Err(Error::RoleNotGranted);
                }
                self.changed()
            }
            AuthCommand::RoleAdd { name } => {
                if name.is_empty() {
                    return Err(Error::RoleEmpty);
                }
                if self.roles.contains_key(name) {
                    return Err(Error::RoleAlreadyExist);
                }
                self.roles.insert(name.clone(), Role::default());
                self.changed()
            }
            AuthCommand::RoleGet { role } => {
                let role = self.roles.get(role).ok_or(Error::RoleNotFound)?;
                Ok(AuthAnswer::RolePermissions(role.permissions.clone()))
            }
            AuthCommand::RoleList => Ok(AuthAnswer::Roles(self.roles.keys().cloned().collect())),
            AuthCommand::RoleDelete { role } => {
                if self.enabled && role == ROOT {
                    return Err(Error::InvalidAuthMgmt);
                }
                self.roles.remove(role).ok_or(Error::RoleNotFound)?;
                for user in self.users.values_mut() {
                    user.roles.remove(role);
                }
                self.changed()
            }
            AuthCommand::RoleGrantPermission { name, perm } => {
                let role = self.roles.get_mut(name).ok_or(Error::RoleNotFound)?;
                let same = |p: &&mut Permission| p.key == perm.key && p.range_end == perm.range_end;
                match role.permissions.iter_mut().find(same) {
                    Some(existing) => existing.kind = perm.kind,
                    None => {
                        role.permissions.push(perm.clone());
                        role.permissions
                            .sort_by(|a, b| (&a.key, &a.range_end).cmp(&(&b.key, &b.range_end)));
                    }
                }
                self.changed()
            }
            AuthCommand::RoleRevokePermission { role, key, range_end } => {
                let role = self.roles.get_mut(role).ok_or(Error::RoleNotFound)?;
                let before = role.permissions.len();
                role.permissions.retain(|p| p.key != *key || p.range_end != *range_end);
                if role.permissions.len() == before {
                    return Err(Error::PermissionNotGranted);
                }
                self.changed()
            }
        }
    }

    fn changed(&mut self) -> Result<AuthAnswer> {
        self.revision += 1;
        Ok(AuthAnswer::Done)
    }

    fn enable(&mut self) -> Result<AuthAnswer> {
        if self.enabled {
            return Ok(AuthAnswer::Done);
        }
        let root = self.users.get(ROOT).ok_or(Error::RootUserNotExist)?;
        if !root.roles.contains(ROOT) {
            return Err(Error::RootRoleNotExist);
        }
        self.enabled = true;
        Ok(AuthAnswer::Done)
    }

    fn authenticate(&mut self, name: &str, token: &str, revision: u64) -> Result<AuthAnswer> {
        if !self.enabled {
            return Err(Error::AuthNotEnabled);
        }
        let user = self.users.get(name).ok_or(Error::AuthFailed)?;
        if user.hash.is_none() {
            return Err(Error::AuthFailed);
        }
        if revision < self.revision {
            // The password was checked against an older store (it may have changed since).
            return Err(Error::AuthOldRevision);
        }
        // A JWT is signed by the member after this (its proposal carries no token): nothing
        // goes in the table.
        if !token.is_empty() {
            self.tokens.issue(token, name);
        }
        Ok(AuthAnswer::Token(token.to_string()))
    }

    /// The auth revision a caller named `user` is resolved at now: the current one (etcd's simple
    /// tokens do the same); its requests are then checked against this revision in apply.
    pub fn info_for(&self, user: &str) -> AuthInfo {
        AuthInfo { user: user.to_string(), revision: self.revision }
    }

    /// etcd's `isOpPermitted`: whether `info` may do `wanted` on `key..range_end`.
    pub fn check(
        &self,
        info: &AuthInfo,
        wanted: PermissionType,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<()> {
        let Some(user) = self.checked_user(info)? else { return Ok(()) };
        if user.roles.contains(ROOT) {
            return Ok(());
        }
        let permissions =
            user.roles.iter().filter_map(|r| self.roles.get(r)).flat_map(|r| &r.permissions);
        match covers(permissions, wanted, key, range_end) {
            true => Ok(()),
            false => Err(Error::PermissionDenied),
        }
    }

    /// etcd's `IsAdminPermitted`: whether `info` has the root role.
    pub fn check_admin(&self, info: &AuthInfo) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        if info.user.is_empty() {
            return Err(Error::UserEmpty);
        }
        let user = self.users.get(&info.user).ok_or(Error::UserNotFound)?;
        match user.roles.contains(ROOT) {
            true => Ok(()),
            false => Err(Error::PermissionDenied),
        }
    }

    /// The user `info` names, after etcd's checks: `None` when auth is off (all is allowed).
    fn checked_user(&self, info: &AuthInfo) -> Result<Option<&User>> {
        if !self.enabled {
            return Ok(None);
        }
        if info.is_anonymous() {
            return Err(Error::UserEmpty);
        }
        if info.revision < self.revision {
            return Err(Error::AuthOldRevision);
        }
        self.users.get(&info.user).map(Some).ok_or(Error::PermissionDenied)
    }

    fn check_auth_command(&self, command: &AuthCommand, info: &AuthInfo) -> Result<()> {
        match command {
            AuthCommand::UserGet { name } => match self.check_admin(info) {
                Err(_) if *name == info.user => Ok(()),
                other => other,
            },
            AuthCommand::RoleGet { role } => match self.check_admin(info) {
                Err(_) if self.has_role(&info.user, role) => Ok(()),
                other => other,
            },
            command if command.needs_admin() => self.check_admin(info),
            _ => Ok(()),
        }
    }

    fn has_role(&self, user: &str, role: &str) -> bool {
        self.users.get(user).is_some_and(|u| u.roles.contains(role))
    }
}
