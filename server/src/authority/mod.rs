//! Repairing the `:authority` of requests on the client port, so that etcd 3.4's `etcdctl`
//! works with `--endpoints http://host:port` (issue #9).
//!
//! etcd 3.4's clientv3 dials its Maintenance calls (and `endpoint status --cluster`, which uses
//! the members' advertised URLs) with the endpoint string as the gRPC target, so the HTTP/2
//! request carries `:authority: http://127.0.0.1:2379`. Go's gRPC server, which real etcd runs,
//! accepts that; h2, under hyper and tonic, resets the stream with PROTOCOL_ERROR and has no
//! option to relax the check. So every accepted client connection is wrapped in an adapter
//! that, before h2 sees them, rewrites header blocks whose `:authority` is not valid:
//!
//! - `frame`: the HTTP/2 preface and frame layout, and writing a block back as frames;
//! - `repair`: what a valid authority is and how a URL is cut down to one;
//! - `table`: HPACK's static and dynamic tables;
//! - `decode`: HPACK decoding that keeps the client's dynamic table;
//! - `encode`: HPACK encoding that never touches the server's dynamic table;
//! - `block`: per-connection HPACK decoding, verbatim until a repair, re-encoded after;
//! - `rewriter`: the client's byte stream frame by frame (HTTP/1.1 passes untouched);
//! - `stream`: the `AsyncRead + AsyncWrite + Connected` adapter hyper serves.
//!
//! Invariants: only client-to-server HEADERS/CONTINUATION frames can change, and only in meaning
//! of their `:authority`; a connection whose requests all have a valid authority reaches h2 byte
//! for byte; anything unparseable reaches h2 as it came, and nothing here panics on input.

mod block;
mod decode;
mod encode;
mod frame;
mod repair;
mod rewriter;
mod stream;
mod table;

pub use stream::AuthorityRepairing;

#[cfg(test)]
mod tests;
