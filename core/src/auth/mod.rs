//! Authentication and role-based access, as part of the replicated state (etcd's auth store).
//!
//! - [`permission`]: a role's key permissions and whether they cover a request;
//! - [`store`]: [`AuthStore`]: users, roles, the enabled flag, the auth revision, issued tokens,
//!   changed only through the log ([`command`]: the entries and their answers);
//! - [`guard`]: the checks of key-space requests for a caller (apply runs them for the caller a
//!   command carries; a member runs the read check before serving a read);
//! - [`info`]: who a request is from ([`Caller`], [`Credentials`]) and what the log carries
//!   ([`AuthInfo`]); [`token`]: the token kind and the table of issued simple tokens; [`jwt`]:
//!   signed JWT tokens;
//! - [`request`]: the Auth service's typed requests and answers;
//! - [`config`]: a member's token TTL and bcrypt cost;
//! - [`password`]: bcrypt, done by a member before it proposes (never in apply).
//!
//! Invariant: whether a request is allowed is decided in core, never by a transport: a write in
//! apply (for the caller the log entry carries, against the store at that point of the log), a
//! read on the member serving it, against its replica after the read index.

pub mod command;
pub mod config;
pub mod guard;
pub mod info;
pub mod jwt;
pub mod password;
pub mod permission;
pub mod request;
pub mod store;
pub mod token;

pub use command::{AuthAnswer, AuthCommand};
pub use config::AuthConfig;
pub use info::{AuthInfo, Caller, Credentials};
pub use permission::{Permission, PermissionType};
pub use store::{AuthStore, Role, User, ROOT};
