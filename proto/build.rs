//! Compiles etcd's `.proto` files and detcd's peer protocol with a vendored `protoc`, so a fresh
//! machine needs no system protobuf compiler, and generates serde for etcd's messages (pbjson) in
//! the JSON dialect of etcd's grpc-gateway: original proto field names, 64-bit integers as
//! strings, bytes as base64, enums by name, default values left out.

use std::path::PathBuf;

/// The packages the HTTP/JSON gateway speaks (detcd's peer protocol has no JSON form).
const JSON_PACKAGES: [&str; 5] =
    [".etcdserverpb", ".mvccpb", ".authpb", ".v3lockpb", ".v3electionpb"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // prost-build reads PROTOC; build scripts run single-threaded, so setting it here is safe.
    std::env::set_var("PROTOC", protoc);
    let files = [
        "proto/kv.proto",
        "proto/auth.proto",
        "proto/rpc.proto",
        "proto/v3lock.proto",
        "proto/v3election.proto",
        "proto/peer.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = PathBuf::from(std::env::var("OUT_DIR")?).join("descriptors.bin");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .file_descriptor_set_path(&descriptors)
        .compile_protos(&files, &["proto"])?;
    pbjson_build::Builder::new()
        .register_descriptors(&std::fs::read(&descriptors)?)?
        .preserve_proto_field_names()
        .build(&JSON_PACKAGES)?;
    Ok(())
}
