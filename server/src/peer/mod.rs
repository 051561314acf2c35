//! Members talking to members over gRPC: detcd's `Peer` service (see `proto/proto/peer.proto`).
//!
//! Each `PeerMessage` is encoded by `codec` and sent as one frame of a long-lived stream per peer
//! (`call_stream`), or as a unary call when it is large. The client side implements the core's
//! `PeerTransport` (one method per kind of call, each decoding the reply its kind is answered
//! with); the server side has `Member::serve_peer` serve each call.

mod call_stream;
mod codec;
mod nodelay;
mod service;
mod transport;

pub use nodelay::nodelay_incoming;
pub use service::PeerService;
pub use transport::{GrpcPeerTransport, STREAM_WINDOW};
