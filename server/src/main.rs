//! `detcd`: an etcd v3 compatible server on the detcd core.
//!
//! Takes etcd's flags (see `flags`), serves etcd's gRPC API to clients such as `etcdctl` and its
//! peer protocol to the other members, and keeps its state under `--data-dir`. Any start-up
//! failure — a bad or unsupported flag, a busy port, a damaged data directory — ends the process
//! with one line on stderr and exit code 1, never a panic.

mod auth_token;
mod authority;
mod corrupt_check;
mod flags;
mod gateway;
mod go_duration;
mod grpc_metrics;
mod health_probes;
mod http;
mod identity;
mod logging;
mod peer;
mod planted;
mod run;
mod services;
mod snapshot;
mod status;
mod tcp_gateway;
mod tls;
mod urls;

use clap::Parser;

/// mimalloc: a range answer or a raft batch is thousands of small allocations, and glibc's malloc
/// was two thirds of a 1,000-key range's time (`cargo bench -p detcd-core --bench mvcc`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `detcd snapshot ...` is etcdctl's offline snapshot tool, `detcd gateway start` etcd's TCP
    // gateway; everything else is the server.
    match std::env::args().nth(1).as_deref() {
        Some("snapshot") => {
            if let Err(reason) = snapshot::cli::run(std::env::args().skip(1)) {
                fail(&reason);
            }
            return;
        }
        Some("gateway") => {
            if let Err(reason) = tcp_gateway::run(std::env::args().skip(1)) {
                fail(&reason);
            }
            return;
        }
        _ => {}
    }
    let flags = flags::Flags::parse();
    logging::init(&flags.log_level);
    match planted::from_environment() {
        Ok(None) => {}
        Ok(Some(bug)) => tracing::warn!(
            bug = bug.name(),
            "a planted bug is switched on: this binary is for testing the testbed, never for data"
        ),
        Err(reason) => fail(&reason),
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    match worker_threads() {
        Ok(Some(threads)) => _ = builder.worker_threads(threads),
        Ok(None) => {}
        Err(reason) => fail(&reason),
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => fail(&format!("cannot start the async runtime: {error}")),
    };
    if let Err(reason) = runtime.block_on(run::run(flags)) {
        fail(&reason);
    }
}

/// The runtime's worker count from `TOKIO_WORKER_THREADS`, checked here: tokio reads it too, but
/// panics on a value that is not a positive number.
fn worker_threads() -> Result<Option<usize>, String> {
    let Some(value) = std::env::var_os("TOKIO_WORKER_THREADS") else { return Ok(None) };
    match value.to_str().and_then(|text| text.trim().parse::<usize>().ok()) {
        Some(threads) if threads > 0 => Ok(Some(threads)),
        _ => Err(format!("TOKIO_WORKER_THREADS must be a positive number, not {value:?}")),
    }
}

fn fail(reason: &str) -> ! {
    eprintln!("detcd: {reason}");
    std::process::exit(1);
}
