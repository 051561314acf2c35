//! etcd's gRPC services over a `Member`: convert the message, call the member, convert back.
//!
//! No handler decides anything: behaviour lives in `detcd_core::member`, so the simulator tests
//! the code these handlers run. (One exception: `Maintenance.Hash` hashes the etcd backend
//! database a snapshot would hold, a format only the server writes.) Every method of etcd 3.4's
//! API is served, 3.5's `Downgrade` and `MemberList{linearizable}`, and 3.7's `RangeStream`
//! (chunked in core); newer etcds' methods
//! that detcd lacks are not in the service definition, so gRPC answers them `Unimplemented`.

mod auth;
mod caller;
mod cluster;
mod kv;
mod lease;
mod lock_election;
mod maintenance;
mod watch;

pub use auth::AuthService;
pub use cluster::ClusterService;
pub use kv::KvService;
pub use lease::{keep_alive, LeaseService};
pub use lock_election::{ElectionService, LockService};
pub use maintenance::MaintenanceService;
pub use watch::{open_watch_as, WatchService};

use crate::status::status_of;
pub use caller::caller_of;
use detcd_core::auth::Caller;
use detcd_core::member::{CallerRequest, Member, MemberRequest};
use tonic::Status;

/// Serves one unary request on the member: its typed answer, or the error as etcd's status.
async fn call<R: MemberRequest>(member: &Member, request: R) -> Result<R::Answer, Status> {
    member.call(request).await.map_err(status_of)
}

/// Serves one unary request on the member for `caller` (its token or certificate name, as
/// `caller::caller_of` found them); core checks its permission.
async fn call_as<R: CallerRequest>(
    member: &Member,
    caller: Caller,
    request: R,
) -> Result<R::Answer, Status> {
    member.call_as(&caller, request).await.map_err(status_of)
}

/// Refuses a call only the root role may make while auth is on (etcd's admin check, in core).
fn admin_only<T>(member: &Member, request: &tonic::Request<T>) -> Result<(), Status> {
    member.check_admin(&caller_of(request)).map_err(status_of)
}

/// `Member::header_now` as a protobuf header.
fn proto_header(member: &Member) -> Option<detcd_proto::etcdserverpb::ResponseHeader> {
    detcd_proto::convert::header_to_proto(member.header_now())
}
