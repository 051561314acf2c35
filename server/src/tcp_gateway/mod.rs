//! `detcd gateway start`: etcd's gateway, a TCP proxy that gives clients one address for a whole
//! cluster (etcd 3.4's `etcd gateway`, its flags in `flags`).
//!
//! Each accepted connection is joined, byte for byte, to a connection to one of the endpoints,
//! chosen in turn among those that accept connections (`remotes`); when the chosen endpoint
//! refuses, the next one is tried, so a client reaches the cluster while any endpoint does. The
//! gateway reads nothing of what passes (TLS goes through end to end), so it holds no request
//! logic and has no place in the simulator. It logs `ready to proxy client requests` once it
//! listens, as etcd does (etcd's tests wait for that line).

mod flags;
mod remotes;

use clap::Parser;
use flags::GatewayCli;
use remotes::Remotes;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// How long connecting to an endpoint may take before the next one is tried. etcd dials without
/// a limit (the kernel's, minutes); a black-holed endpoint would hold a client that long.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs `detcd gateway ...` (`args` without the program name) until the process is stopped.
pub fn run(args: impl Iterator<Item = String>) -> Result<(), String> {
    let cli = GatewayCli::try_parse_from(args).unwrap_or_else(|error| error.exit());
    let plan = cli.plan()?;
    crate::logging::init("info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&plan.listen_addr)
            .await
            .map_err(|error| format!("--listen-addr {}: {error}", plan.listen_addr))?;
        let remotes = Arc::new(Mutex::new(Remotes::new(plan.endpoints.clone())));
        tokio::spawn(reactivate(remotes.clone(), plan.retry_delay));
        tracing::info!(
            address = %plan.listen_addr,
            endpoints = ?plan.endpoints,
            "ready to proxy client requests"
        );
        loop {
            match listener.accept().await {
                Ok((client, _)) => _ = tokio::spawn(serve(client, remotes.clone())),
                // Out of file descriptors and the like: the listener itself is still good.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// Joins `client` to the first endpoint, in turn, that accepts a connection; closes it when
/// none does.
async fn serve(mut client: TcpStream, remotes: Arc<Mutex<Remotes>>) {
    loop {
        let Some(addr) = lock(&remotes).pick() else {
            tracing::warn!("no endpoint accepts connections; closing the client's");
            return;
        };
        match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(&addr)).await {
            Ok(Ok(mut endpoint)) => {
                // gRPC's small frames; Go (etcd) sets this on every TCP connection.
                let _ = client.set_nodelay(true);
                let _ = endpoint.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut endpoint).await;
                return;
            }
            outcome => {
                let error = match outcome {
                    Ok(Err(error)) => error.to_string(),
                    _ => format!("no connection within {DIAL_TIMEOUT:?}"),
                };
                lock(&remotes).deactivate(&addr);
                tracing::warn!(address = %addr, %error, "deactivated endpoint");
            }
        }
    }
}

/// Every `retry_delay`, tries each inactive endpoint once and makes those that accept active.
async fn reactivate(remotes: Arc<Mutex<Remotes>>, retry_delay: Duration) {
    loop {
        tokio::time::sleep(retry_delay).await;
        let inactive = lock(&remotes).inactive();
        for addr in inactive {
            match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(&addr)).await {
                Ok(Ok(_)) => {
                    lock(&remotes).activate(&addr);
                    tracing::info!(address = %addr, "activated endpoint");
                }
                _ => tracing::warn!(
                    address = %addr,
                    "endpoint still refuses connections; inactive for another --retry-delay"
                ),
            }
        }
    }
}

fn lock(remotes: &Mutex<Remotes>) -> std::sync::MutexGuard<'_, Remotes> {
    remotes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
