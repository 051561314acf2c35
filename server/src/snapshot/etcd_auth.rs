//! The auth store in etcd's buckets, both ways: what etcd 3.4 keeps in bbolt (`auth/store.go`).
//!
//! - `auth`: `authEnabled` (one byte, 1 or 0) and `authRevision` (8 bytes big-endian);
//! - `authUsers`: every user by name, the value an `authpb.User` (the password's bcrypt hash as
//!   bytes, the roles, `no_password` for a user that comes by certificate only);
//! - `authRoles`: every role by name, the value an `authpb.Role` with its key permissions.
//!
//! Tokens are not kept: etcd holds them in memory only, so clients of a restored cluster
//! authenticate again. Reading is checked (`AuthStore::restored`): a user with a role that does not
//! exist, or auth enabled without root, is refused with the reason, never restored half-open.

use detcd_core::auth::{AuthStore, Role, User};
use detcd_proto::authpb;
use detcd_proto::convert::{permission_from_proto, permission_to_proto};
use prost::Message;
use std::collections::BTreeMap;

use super::bolt::{self, Buckets};

const AUTH: &[u8] = b"auth";
const USERS: &[u8] = b"authUsers";
const ROLES: &[u8] = b"authRoles";
const ENABLED: &[u8] = b"authEnabled";
const REVISION: &[u8] = b"authRevision";

/// Adds etcd's three auth buckets for `auth` to `buckets`.
pub fn insert(buckets: &mut Buckets, auth: &AuthStore) {
    let flag = BTreeMap::from([
        (ENABLED.to_vec(), vec![u8::from(auth.is_enabled())]),
        (REVISION.to_vec(), auth.revision().to_be_bytes().to_vec()),
    ]);
    buckets.insert(AUTH.to_vec(), flag);
    let users =
        auth.users().map(|(name, user)| (name.as_bytes().to_vec(), user_message(name, user)));
    buckets.insert(USERS.to_vec(), users.collect());
    let roles =
        auth.roles().map(|(name, role)| (name.as_bytes().to_vec(), role_message(name, role)));
    buckets.insert(ROLES.to_vec(), roles.collect());
}

fn user_message(name: &str, user: &User) -> Vec<u8> {
    authpb::User {
        name: name.as_bytes().to_vec(),
        password: user.hash.clone().unwrap_or_default().into_bytes(),
        roles: user.roles.iter().cloned().collect(),
        options: Some(authpb::UserAddOptions { no_password: user.hash.is_none() }),
    }
    .encode_to_vec()
}

fn role_message(name: &str, role: &Role) -> Vec<u8> {
    authpb::Role {
        name: name.as_bytes().to_vec(),
        key_permission: role.permissions.iter().cloned().map(permission_to_proto).collect(),
    }
    .encode_to_vec()
}

/// The auth store etcd's buckets in `file` hold; the empty store when there are none.
pub fn read(file: &[u8]) -> Result<AuthStore, String> {
    if bolt::entries(file, AUTH)?.is_none() {
        return Ok(AuthStore::default());
    }
    let enabled = match bolt::lookup(file, AUTH, ENABLED)? {
        None | Some([0]) => false,
        Some([1]) => true,
        Some(other) => return Err(format!("auth: authEnabled is {other:?}, not 0 or 1")),
    };
    let revision = match bolt::lookup(file, AUTH, REVISION)? {
        None => 1,
        Some(bytes) => u64::from_be_bytes(
            bytes.try_into().map_err(|_| format!("auth: authRevision is {} bytes", bytes.len()))?,
        ),
    };
    let mut users = BTreeMap::new();
    for (name, value) in bolt::entries(file, USERS)?.unwrap_or_default() {
        let shown = String::from_utf8_lossy(name);
        let user = authpb::User::decode(value).map_err(|e| format!("user {shown}: {e}"))?;
        let name = String::from_utf8(user.name).map_err(|_| format!("user {shown}: not UTF-8"))?;
        let no_password = user.options.is_some_and(|options| options.no_password);
        let hash = match (no_password, String::from_utf8(user.password)) {
            (true, _) => None,
            (false, Ok(hash)) if !hash.is_empty() => Some(hash),
            (false, _) => return Err(format!("user {name}: no usable password hash")),
        };
        users.insert(name, User { hash, roles: user.roles.into_iter().collect() });
    }
    let mut roles = BTreeMap::new();
    for (name, value) in bolt::entries(file, ROLES)?.unwrap_or_default() {
        let shown = String::from_utf8_lossy(name);
        let role = authpb::Role::decode(value).map_err(|e| format!("role {shown}: {e}"))?;
        let name = String::from_utf8(role.name).map_err(|_| format!("role {shown}: not UTF-8"))?;
        let permissions = role
            .key_permission
            .into_iter()
            .map(permission_from_proto)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("role {name}: {e}"))?;
        roles.insert(name, Role { permissions });
    }
    AuthStore::restored(enabled, revision, users, roles).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use detcd_core::auth::{Permission, PermissionType};

    fn user(hash: Option<&str>, roles: &[&str]) -> User {
        User {
            hash: hash.map(str::to_string),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn file(auth: &AuthStore) -> Vec<u8> {
        let mut buckets = Buckets::new();
        insert(&mut buckets, auth);
        bolt::write(&buckets)
    }

    #[test]
    fn a_store_written_to_etcd_buckets_reads_back_the_same() {
        let role = Role {
            permissions: vec![Permission {
                kind: PermissionType::Read,
                key: b"a".to_vec(),
                range_end: b"b".to_vec(),
            }],
        };
        let users = BTreeMap::from([
            ("root".to_string(), user(Some("$2a$04$hash"), &["root"])),
            ("cert-only".to_string(), user(None, &["r"])),
        ]);
        let roles = BTreeMap::from([("r".to_string(), role)]);
        let auth = AuthStore::restored(true, 7, users, roles).expect("a valid store");
        assert_eq!(read(&file(&auth)).expect("reads"), auth);
        assert_eq!(read(&bolt::write(&Buckets::new())).expect("no buckets"), AuthStore::default());
    }

    #[test]
    fn a_store_that_breaks_etcd_s_rules_is_refused_with_the_reason() {
        let dangling = BTreeMap::from([("u".to_string(), user(Some("$2a$04$h"), &["gone"]))]);
        let error = AuthStore::restored(false, 3, dangling, BTreeMap::new()).unwrap_err();
        assert!(error.to_string().contains("user u has the role gone"), "{error}");
        let no_root = BTreeMap::from([("u".to_string(), user(Some("$2a$04$h"), &[]))]);
        let error = AuthStore::restored(true, 3, no_root, BTreeMap::new()).unwrap_err();
        assert!(error.to_string().contains("lacks the role root"), "{error}");
        let mut buckets = Buckets::new();
        buckets.insert(AUTH.to_vec(), BTreeMap::from([(ENABLED.to_vec(), vec![7])]));
        assert!(read(&bolt::write(&buckets)).unwrap_err().contains("not 0 or 1"));
    }
}
