//! Members talking to members over gRPC: detcd's `Peer` service (see `proto/proto/peer.proto`).
//!
//! One unary call per `PeerMessage`, its payload the message encoded by `codec`. The client side
//! implements the core's `PeerTransport`; the server side hands each message to `Member::handle_peer`.

mod codec;
mod nodelay;
mod publish;
mod service;
mod transport;

pub use nodelay::nodelay_incoming;
pub use publish::publish_until_done;
pub use service::PeerService;
pub use transport::GrpcPeerTransport;
