//! `detcd-bench`: drives put, range, txn and watch workloads against an etcd v3 cluster (detcd or
//! etcd itself) with N clients over M connections and prints throughput and latency percentiles.
//!
//! It speaks gRPC through the tonic clients generated from etcd's own `.proto` files, so it loads
//! both servers through exactly the same code. Exit status: 0 when any request succeeded, 1 when
//! none did, 2 for bad flags.

mod auth;
mod driver;
mod keys;
mod options;
mod requests;
mod summary;
mod watch;

use clap::Parser;
use options::{Args, Output};
use std::process::ExitCode;

fn main() -> ExitCode {
    let plan = match Args::parse().plan() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("detcd-bench: {error}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    match worker_threads() {
        Ok(Some(threads)) => _ = builder.worker_threads(threads),
        Ok(None) => {}
        Err(error) => {
            eprintln!("detcd-bench: {error}");
            return ExitCode::from(2);
        }
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("detcd-bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let summary = match runtime.block_on(driver::run(&plan)) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("detcd-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let name = plan.workload.name();
    match plan.output {
        Output::Text => print!("{}", summary.text(name)),
        Output::Tsv => println!("{}", summary.tsv(name)),
    }
    if summary.ok == 0 {
        eprintln!("detcd-bench: no request succeeded");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
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
