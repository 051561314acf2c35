//! etcd's gRPC services over a `Member`: convert the message, call the member, convert back.
//!
//! No handler decides anything: behaviour lives in `detcd_core::member`, so the simulator tests
//! the code these handlers run. Every method detcd does not serve answers `Unimplemented` with a
//! message naming it (see `status::unimplemented`).

mod cluster;
mod kv;
mod lease;
mod lock_election;
mod maintenance;
mod watch;

pub use cluster::ClusterService;
pub use kv::KvService;
pub use lease::{keep_alive, LeaseService};
pub use lock_election::{ElectionService, LockService};
pub use maintenance::MaintenanceService;
pub use watch::{open_watch, WatchService};

use crate::status::status_of;
use detcd_core::member::{ClientRequest, ClientResponse, Member};
use tonic::Status;

/// Serves one unary request on the member, errors as etcd's statuses.
async fn serve(member: &Member, request: ClientRequest) -> Result<ClientResponse, Status> {
    member.serve(request).await.map_err(status_of)
}

/// `Member::header_now` as a protobuf header.
fn proto_header(member: &Member) -> Option<detcd_proto::etcdserverpb::ResponseHeader> {
    detcd_proto::convert::header_to_proto(member.header_now())
}
