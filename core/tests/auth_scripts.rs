//! The auth store as transcripts: goldenscripts under `tests/auth/`, one test each.
//!
//! A script drives a whole [`StateMachine`] with the log entries a member would propose: auth
//! commands as the member itself (unchecked) or on behalf of a caller (`as=USER`, resolved at the
//! store's current auth revision unless `rev=N` says otherwise), and key-space commands carrying
//! their caller, so the permission checks run exactly where they run in a cluster: in apply.
//! Passwords are stored as `hash-of-P` (hashing is the proposing member's job, not apply's).
//!
//! Commands (a `!` prefix expects an error; regenerate output with `UPDATE_GOLDENFILES=1`):
//!
//! ```text
//! enable | disable | status
//! authenticate NAME TOKEN [rev=N]       rev: the revision the password was checked at
//! user-add NAME [nopass] | user-get NAME | user-list | user-delete NAME | passwd NAME
//! grant-role USER ROLE | revoke-role USER ROLE
//! role-add NAME | role-get ROLE | role-list | role-delete ROLE
//! grant-perm ROLE read|write|readwrite KEY [END] [prefix] [from-key] | revoke-perm ROLE KEY [END]
//! put KEY | get KEY [END|from-key] | del KEY [END|from-key]
//! txn [cmp=KEY] [then=KEY] [else=KEY]   a txn comparing KEY's version > 0, putting KEYs
//! lease-grant ID | put-lease KEY ID | lease-revoke ID
//! token TOKEN                           the user a token stands for
//! snapshot                              restore(snapshot()) is the same state
//! ```
//! Every command but the last two takes `as=USER [rev=N]` (`as=""`: no credentials).

use detcd_core::api::*;
use detcd_core::apply::{Command, Response, StateMachine};
use detcd_core::auth::{AuthAnswer, AuthCommand, AuthInfo, Permission, PermissionType};
use goldenscript::ArgumentConsumer;
use std::error::Error;

#[macro_use]
#[path = "support/script_suite.rs"]
mod script_suite;

type Outcome = Result<String, Box<dyn Error>>;

struct Runner {
    machine: StateMachine,
    index: u64,
}

fn prefix_end(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// A range end as scripts write it: `from-key` is etcd's "\\0", none is the one key.
fn range_end(end: Option<&str>) -> Vec<u8> {
    match end {
        Some("from-key") => vec![0],
        end => end.map(|end| end.as_bytes().to_vec()).unwrap_or_default(),
    }
}

fn text(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl Runner {
    fn apply(&mut self, command: Command) -> Outcome {
        self.index += 1;
        let (result, _) = self.machine.apply(self.index, &command);
        Ok(match result? {
            Response::Auth(_, answer) => match answer {
                AuthAnswer::Done => "ok\n".into(),
                AuthAnswer::Status { enabled, revision } => {
                    format!("enabled={enabled} revision={revision}\n")
                }
                AuthAnswer::Token(token) => format!("token={token}\n"),
                AuthAnswer::UserRoles(roles) => format!("roles={roles:?}\n"),
                AuthAnswer::Users(users) => format!("users={users:?}\n"),
                AuthAnswer::Roles(roles) => format!("roles={roles:?}\n"),
                AuthAnswer::RolePermissions(perms) => perms
                    .iter()
                    .map(|p| format!("{:?} [{}, {})\n", p.kind, text(&p.key), text(&p.range_end)))
                    .collect(),
            },
            Response::Range(r) => {
                format!("{}\n", r.kvs.iter().map(|kv| text(&kv.key)).collect::<Vec<_>>().join(" "))
            }
            Response::Txn(t) => format!("succeeded={}\n", t.succeeded),
            other => format!("ok rev={}\n", other.header().revision),
        })
    }
}

impl goldenscript::Runner for Runner {
    type Command = goldenscript::Command;

    fn run(&mut self, command: &goldenscript::Command, _: &goldenscript::Context) -> Outcome {
        let mut args = command.consume_args();
        let caller = args.take_key("as").map(String::from);
        let rev = args.take_key("rev").map(str::parse).transpose()?;
        let pos = |args: &mut ArgumentConsumer, what: &str| -> Result<String, Box<dyn Error>> {
            Ok(args.next_pos().ok_or(format!("missing {what}"))?.to_string())
        };
        let auth = match command.name.as_str() {
            "enable" => Some(AuthCommand::Enable),
            "disable" => Some(AuthCommand::Disable),
            "status" => Some(AuthCommand::Status),
            "authenticate" => {
                let name = pos(&mut args, "name")?;
                let token = pos(&mut args, "token")?;
                let revision = rev.unwrap_or(self.machine.auth().revision());
                Some(AuthCommand::Authenticate { name, token, revision })
            }
            "user-add" => {
                let name = pos(&mut args, "name")?;
                let nopass = args.next_pos() == Some("nopass");
                let hash = (!nopass).then(|| format!("hash-of-{name}"));
                Some(AuthCommand::UserAdd { name, hash })
            }
            "user-get" => Some(AuthCommand::UserGet { name: pos(&mut args, "name")? }),
            "user-list" => Some(AuthCommand::UserList),
            "user-delete" => Some(AuthCommand::UserDelete { name: pos(&mut args, "name")? }),
            "passwd" => {
                let name = pos(&mut args, "name")?;
                Some(AuthCommand::UserChangePassword { hash: "new".into(), name })
            }
            "grant-role" => Some(AuthCommand::UserGrantRole {
                user: pos(&mut args, "user")?,
                role: pos(&mut args, "role")?,
            }),
            "revoke-role" => Some(AuthCommand::UserRevokeRole {
                name: pos(&mut args, "user")?,
                role: pos(&mut args, "role")?,
            }),
            "role-add" => Some(AuthCommand::RoleAdd { name: pos(&mut args, "name")? }),
            "role-get" => Some(AuthCommand::RoleGet { role: pos(&mut args, "role")? }),
            "role-list" => Some(AuthCommand::RoleList),
            "role-delete" => Some(AuthCommand::RoleDelete { role: pos(&mut args, "role")? }),
            "grant-perm" => {
                let name = pos(&mut args, "role")?;
                let kind = match pos(&mut args, "type")?.as_str() {
                    "read" => PermissionType::Read,
                    "write" => PermissionType::Write,
                    "readwrite" => PermissionType::ReadWrite,
                    other => return Err(format!("bad permission type {other}").into()),
                };
                let key = pos(&mut args, "key")?.into_bytes();
                let range_end = match args.next_pos() {
                    Some("prefix") => prefix_end(&key),
                    Some("from-key") => vec![0],
                    end => end.map(|end| end.as_bytes().to_vec()).unwrap_or_default(),
                };
                Some(AuthCommand::RoleGrantPermission {
                    name,
                    perm: Permission { kind, key, range_end },
                })
            }
            "revoke-perm" => {
                let role = pos(&mut args, "role")?;
                let key = pos(&mut args, "key")?.into_bytes();
                let range_end =
                    args.next_pos().map(|end| end.as_bytes().to_vec()).unwrap_or_default();
                Some(AuthCommand::RoleRevokePermission { role, key, range_end })
            }
            _ => None,
        };
        let command = match (auth, command.name.as_str()) {
            (Some(auth), _) => Command::Auth(auth),
            (None, "put") => Command::Put(PutRequest {
                key: pos(&mut args, "key")?.into_bytes(),
                value: b"v".to_vec(),
                ..Default::default()
            }),
            (None, "put-lease") => Command::Put(PutRequest {
                key: pos(&mut args, "key")?.into_bytes(),
                value: b"v".to_vec(),
                lease: pos(&mut args, "lease")?.parse()?,
                ..Default::default()
            }),
            (None, "lease-grant") => Command::LeaseGrant(LeaseGrantRequest {
                ttl: 100,
                id: pos(&mut args, "lease")?.parse()?,
            }),
            (None, "lease-revoke") => {
                Command::LeaseRevoke(LeaseRevokeRequest { id: pos(&mut args, "lease")?.parse()? })
            }
            (None, "get") => Command::Range(RangeRequest {
                key: pos(&mut args, "key")?.into_bytes(),
                range_end: range_end(args.next_pos()),
                ..Default::default()
            }),
            (None, "del") => Command::DeleteRange(DeleteRangeRequest {
                key: pos(&mut args, "key")?.into_bytes(),
                range_end: range_end(args.next_pos()),
                ..Default::default()
            }),
            (None, "txn") => {
                let put = |key: String| {
                    RequestOp::Put(PutRequest {
                        key: key.into_bytes(),
                        value: b"v".to_vec(),
                        ..Default::default()
                    })
                };
                let compare = args.take_key("cmp").map(String::from).map(|key| Compare {
                    key: key.into_bytes(),
                    range_end: Vec::new(),
                    result: CompareResult::Greater,
                    target: CompareTarget::Version(0),
                });
                Command::Txn(TxnRequest {
                    compare: compare.into_iter().collect(),
                    success: args.take_key("then").map(String::from).map(put).into_iter().collect(),
                    failure: args.take_key("else").map(String::from).map(put).into_iter().collect(),
                })
            }
            (None, "token") => {
                let token = pos(&mut args, "token")?;
                args.reject_next()?;
                return Ok(format!("{:?}\n", self.machine.auth().token_user(&token)));
            }
            (None, "snapshot") => {
                args.reject_next()?;
                let restored = StateMachine::restore(&self.machine.snapshot())?;
                assert_eq!(restored, self.machine, "restore(snapshot()) changed the state");
                return Ok("restored the same state\n".into());
            }
            (None, name) => return Err(format!("unknown command {name}").into()),
        };
        args.reject_next()?;
        let command = match caller {
            Some(user) => {
                // `as=""` is a caller with no credentials.
                let mut info = match user.is_empty() {
                    true => AuthInfo::default(),
                    false => self.machine.auth().info_for(&user),
                };
                let authenticate =
                    matches!(command, Command::Auth(AuthCommand::Authenticate { .. }));
                if let (Some(rev), false) = (rev, authenticate) {
                    info.revision = rev;
                }
                Command::As(info, Box::new(command))
            }
            None => command,
        };
        self.apply(command)
    }
}

script_suite!(
    "auth",
    Runner { machine: StateMachine::new(), index: 0 },
    [enable_and_root, users_and_roles, permissions, txn_and_leases, revisions_and_tokens]
);
