//! detcd: an etcd v3 gRPC server on the detcd core (not yet implemented).

fn main() {
    eprintln!("detcd: the server is not implemented yet (see issue 9)");
    std::process::exit(2);
}
