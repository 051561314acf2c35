//! etcd v3's wire protocol for detcd: the messages and services generated from etcd's own
//! `.proto` files (see `proto/PROVENANCE.md`), detcd's peer service, and conversions between the
//! protobuf messages and detcd-core's domain types.
//!
//! Both the `detcd` server and detcd's gRPC client use this crate, so they agree on the wire
//! format by construction. The generated modules keep etcd's package names; etcd's messages
//! also get serde (`*.serde.rs`, from pbjson) in the JSON of etcd's HTTP gateway.

#[allow(clippy::all)]
pub mod mvccpb {
    tonic::include_proto!("mvccpb");
    include!(concat!(env!("OUT_DIR"), "/mvccpb.serde.rs"));
}

#[allow(clippy::all)]
pub mod authpb {
    tonic::include_proto!("authpb");
    include!(concat!(env!("OUT_DIR"), "/authpb.serde.rs"));
}

#[allow(clippy::all)]
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
    include!(concat!(env!("OUT_DIR"), "/etcdserverpb.serde.rs"));
}

#[allow(clippy::all)]
pub mod v3lockpb {
    tonic::include_proto!("v3lockpb");
    include!(concat!(env!("OUT_DIR"), "/v3lockpb.serde.rs"));
}

#[allow(clippy::all)]
pub mod v3electionpb {
    tonic::include_proto!("v3electionpb");
    include!(concat!(env!("OUT_DIR"), "/v3electionpb.serde.rs"));
}

#[allow(clippy::all)]
pub mod detcdpeerpb {
    tonic::include_proto!("detcdpeerpb");
}

pub mod client;
pub mod convert;
