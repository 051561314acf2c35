//! Start-up and shutdown: flags -> member -> listeners, then serve until SIGINT/SIGTERM.
//!
//! Order matters for etcd tooling: every listener is bound before anything is announced, and
//! "ready to serve client requests" is logged only once the member has published its client URLs
//! through raft (as etcd does), so scripts that wait for that line find a cluster with a leader
//! and a complete member list. TLS configurations are built before any listener is bound, so a
//! bad certificate flag stops start-up before the member exists; a listener whose URL is
//! `https` serves TLS with its side's configuration (`tls`), and `https` without one is refused.

use crate::authority::AuthorityRepairing;
use crate::flags::{url_list, ClusterState, Flags};
use crate::identity::{cluster_id, member_id, InitialCluster};
use crate::peer::{GrpcPeerTransport, PeerService, STREAM_WINDOW};
use crate::services::*;
use crate::tls::{Conn, TlsConfigs};
use crate::urls::{host, is_https, socket_addr};
use detcd_core::member::{Member, MemberConfig};
use detcd_core::storage::RealDisk;
use detcd_proto::detcdpeerpb::peer_server::PeerServer;
use detcd_proto::etcdserverpb::auth_server::AuthServer;
use detcd_proto::etcdserverpb::cluster_server::ClusterServer;
use detcd_proto::etcdserverpb::kv_server::KvServer;
use detcd_proto::etcdserverpb::lease_server::LeaseServer;
use detcd_proto::etcdserverpb::maintenance_server::MaintenanceServer;
use detcd_proto::etcdserverpb::watch_server::WatchServer;
use detcd_proto::v3electionpb::election_server::ElectionServer;
use detcd_proto::v3lockpb::lock_server::LockServer;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_stream::{Stream, StreamExt};
use tonic::service::Routes;
use tonic::transport::Server;
use tracing::{error, info, warn};

/// Largest gRPC message accepted or sent (etcd: 1.5 MiB requests plus gRPC overhead; peers carry
/// snapshots, so they get more).
const CLIENT_MESSAGE_LIMIT: usize = 2 * 1024 * 1024 + 512 * 1024;
const PEER_MESSAGE_LIMIT: usize = 1024 * 1024 * 1024;

/// Everything start-up derives from the flags before touching the disk or the network.
struct Plan {
    config: MemberConfig,
    data_dir: String,
    voters: Option<std::collections::BTreeMap<u64, detcd_core::raft::types::MemberInfo>>,
    client_addrs: Vec<Listen>,
    peer_addrs: Vec<Listen>,
    metrics_addrs: Vec<Listen>,
    tls: TlsConfigs,
    /// HTTP/2 streams a client connection may have open at once (`--max-concurrent-streams`).
    max_streams: u32,
}

/// A listen URL: the address to bind and whether it serves TLS.
#[derive(Debug, Clone, Copy)]
struct Listen {
    addr: SocketAddr,
    tls: bool,
}

fn plan(flags: &Flags) -> Result<Plan, String> {
    if let Some((flag, why)) = flags.unsupported.first_given() {
        return Err(format!("{flag} is not supported: {why}"));
    }
    flags.check_auto_compaction()?;
    let token = &flags.initial_cluster_token;
    let cluster = InitialCluster::parse(&flags.initial_cluster())?;
    let peer_urls = url_list(&flags.initial_advertise_peer_urls);
    let mut listed = cluster.peers.get(&flags.name).cloned().unwrap_or_default();
    let mut advertised = peer_urls.clone();
    listed.sort();
    advertised.sort();
    if listed != advertised {
        return Err(format!(
            "--initial-cluster has no member {:?} with --initial-advertise-peer-urls {}",
            flags.name, flags.initial_advertise_peer_urls
        ));
    }
    let voters = cluster.voters(token);
    let id = member_id(&peer_urls, token);
    let mut config = MemberConfig::new(id, flags.name.clone());
    config.cluster_id = cluster_id(token);
    config.heartbeat = Duration::from_millis(flags.heartbeat_interval);
    config.election_timeout = Duration::from_millis(flags.election_timeout);
    config.snapshot_entries = flags.snapshot_count.max(1);
    config.quota_backend_bytes = flags.quota_backend_bytes();
    // etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds.
    config.min_lease_ttl = (flags.election_timeout * 3).div_ceil(2000).max(1) as i64;
    config.auth = flags.auth.config()?;
    let addrs = |flag: &str, urls: &str| -> Result<Vec<Listen>, String> {
        let listen =
            |url: &String| Ok(Listen { addr: socket_addr(flag, url)?, tls: is_https(url) });
        url_list(urls).iter().map(listen).collect()
    };
    let metrics_urls = flags.listen_metrics_urls.as_deref().unwrap_or("");
    let client_addrs = addrs("--listen-client-urls", &flags.listen_client_urls)?;
    let peer_addrs = addrs("--listen-peer-urls", &flags.listen_peer_urls)?;
    let metrics_addrs = addrs("--listen-metrics-urls", metrics_urls)?;
    let data_dir = flags.data_dir();
    let tls = tls_configs(flags, &data_dir)?;
    https_has_certificates(flags, &tls)?;
    Ok(Plan {
        max_streams: flags.max_concurrent_streams,
        config,
        data_dir,
        voters: (flags.initial_cluster_state == ClusterState::New).then_some(voters),
        client_addrs,
        peer_addrs,
        metrics_addrs,
        tls,
    })
}

/// Every `https` URL, listened on or connected to, has its side's TLS configuration.
fn https_has_certificates(flags: &Flags, tls: &TlsConfigs) -> Result<(), String> {
    let metrics_urls = flags.listen_metrics_urls.as_deref().unwrap_or("");
    let needs = |urls: &str, flag: &str, has: bool, what: &str| match url_list(urls)
        .into_iter()
        .find(|url| is_https(url))
    {
        Some(url) if !has => Err(format!("{flag} {url}: https needs {what}")),
        _ => Ok(()),
    };
    let client_tls = "--cert-file and --key-file, or --auto-tls";
    let peer_tls = "--peer-cert-file and --peer-key-file, or --peer-auto-tls";
    needs(&flags.listen_client_urls, "--listen-client-urls", tls.client.is_some(), client_tls)?;
    needs(metrics_urls, "--listen-metrics-urls", tls.client.is_some(), client_tls)?;
    needs(&flags.listen_peer_urls, "--listen-peer-urls", tls.peer_server.is_some(), peer_tls)?;
    let peer_client = tls.peer_client.is_some();
    needs(
        &flags.initial_advertise_peer_urls,
        "--initial-advertise-peer-urls",
        peer_client,
        peer_tls,
    )?;
    let cluster_urls: Vec<String> = url_list(&flags.initial_cluster())
        .iter()
        .filter_map(|item| item.split_once('=').map(|(_, url)| url.to_string()))
        .collect();
    needs(&cluster_urls.join(","), "--initial-cluster", peer_client, peer_tls)?;
    Ok(())
}

/// Every TLS configuration the flags ask for; auto TLS certificates name the listen URLs' hosts.
fn tls_configs(flags: &Flags, data_dir: &str) -> Result<TlsConfigs, String> {
    let tls = &flags.tls;
    let urls = [&flags.listen_client_urls, &flags.advertise_client_urls, &flags.listen_peer_urls];
    let mut hosts: Vec<String> =
        urls.iter().flat_map(|urls| url_list(urls)).filter_map(|url| host(&url)).collect();
    hosts.sort();
    hosts.dedup();
    let versions = (
        tls.cipher_suites.as_deref(),
        tls.tls_min_version.as_deref(),
        tls.tls_max_version.as_deref(),
    );
    TlsConfigs::build(
        &tls.client_side(),
        &tls.peer_side(),
        versions,
        std::path::Path::new(data_dir),
        &hosts,
    )
}

/// A bound listener and whether it serves TLS.
struct Bound {
    listener: TcpListener,
    tls: bool,
}

async fn bind_all(addrs: &[Listen], what: &str) -> Result<Vec<Bound>, String> {
    let mut listeners = Vec::new();
    for Listen { addr, tls } in addrs {
        let listener =
            TcpListener::bind(addr).await.map_err(|e| format!("listen on {what} {addr}: {e}"))?;
        listeners.push(Bound { listener, tls: *tls });
    }
    Ok(listeners)
}

/// The connections of `bound`, through TLS when its URL is `https` (`plan` made sure there is a
/// configuration then).
fn accept(
    bound: Bound,
    config: &Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    what: &'static str,
) -> Pin<Box<dyn Stream<Item = std::io::Result<Conn>> + Send>> {
    let tls = if bound.tls { config.clone() } else { None };
    crate::tls::incoming(bound.listener, tls, what)
}

/// Runs the server until a shutdown signal; `Err` is a one-line reason start-up failed.
pub async fn run(flags: Flags) -> Result<(), String> {
    let plan = plan(&flags)?;
    let peer_listeners = bind_all(&plan.peer_addrs, "peer URL").await?;
    let client_listeners = bind_all(&plan.client_addrs, "client URL").await?;
    let metrics_listeners = bind_all(&plan.metrics_addrs, "metrics URL").await?;

    let id = plan.config.id;
    info!(name = %flags.name, id = %format!("{id:x}"), data_dir = %plan.data_dir, "starting detcd member");
    let disk =
        RealDisk::open(&plan.data_dir).map_err(|e| format!("--data-dir {}: {e}", plan.data_dir))?;
    let transport = Arc::new(GrpcPeerTransport::new(plan.tls.peer_client.clone()));
    let member = Member::start(plan.config, Arc::new(disk), transport)
        .await
        .map_err(|e| format!("cannot start member from {}: {e}", plan.data_dir))?;

    for bound in peer_listeners {
        info!(address = %local(&bound), tls = bound.tls, "listening for peers");
        tokio::spawn(serve_peers(member.clone(), accept(bound, &plan.tls.peer_server, "peer")));
    }
    if let Some(voters) = plan.voters {
        if let Err(error) = member.bootstrap(voters).await {
            // Another member bootstrapped first; ours is the same configuration.
            warn!(%error, "bootstrap skipped");
        }
    }
    if flags.initial_corrupt_check() {
        if let Err(reason) = crate::corrupt_check::initial_corrupt_check(&member).await {
            member.shutdown().await;
            return Err(reason);
        }
    }
    for bound in metrics_listeners {
        info!(address = %local(&bound), tls = bound.tls, "listening for metrics");
        tokio::spawn(serve_http(member.clone(), accept(bound, &plan.tls.client, "metrics")));
    }
    // Client connections wait in the listeners' backlog until the member has caught up.
    let token = flags.initial_cluster_token.clone();
    let client_urls = url_list(&flags.advertise_client_urls);
    let data_dir = plan.data_dir.clone();
    let tls = plan.tls.client.clone();
    let max_streams = plan.max_streams;
    let ready = serve_when_ready(
        member.clone(),
        client_urls,
        token,
        data_dir,
        client_listeners,
        tls,
        max_streams,
    );
    tokio::spawn(ready);

    let outcome = tokio::select! {
        () = wait_for_signal() => {
            info!("received shutdown signal, stopping");
            Ok(())
        }
        // As etcd: a member removed from the cluster stops for good (its data directory is of
        // no further use).
        () = member.removed() => {
            warn!("the member has been permanently removed from the cluster; stopping");
            Ok(())
        }
        // A removed member's raft stops too; only a raft that stopped on its own (a failed
        // fsync poisoned the WAL) makes the process exit with an error, as etcd exits, so a
        // supervisor restarts it from what its disk holds instead of leaving it serving nothing.
        () = member.stopped() => {
            if member.is_removed() {
                warn!("the member has been permanently removed from the cluster; stopping");
                Ok(())
            } else {
                error!("raft stopped for good (see the storage error above): exiting");
                Err("raft stopped for good after a storage error; restart the member".to_string())
            }
        }
    };
    member.shutdown().await;
    outcome
}

fn local(bound: &Bound) -> String {
    bound.listener.local_addr().map(|a| a.to_string()).unwrap_or_default()
}

/// A listener's connections, as the servers take them.
type Incoming = Pin<Box<dyn Stream<Item = std::io::Result<Conn>> + Send>>;

async fn serve_peers(member: Member, incoming: Incoming) {
    let service = PeerServer::new(PeerService::new(member))
        .max_decoding_message_size(PEER_MESSAGE_LIMIT)
        .max_encoding_message_size(PEER_MESSAGE_LIMIT);
    let served = Server::builder()
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(STREAM_WINDOW)
        .add_service(service)
        .serve_with_incoming(incoming)
        .await;
    if let Err(error) = served {
        warn!(%error, "peer server stopped");
    }
}

/// etcd's gRPC services, its HTTP/JSON gateway and the HTTP endpoints, on one port.
/// `max_streams` is etcd's `--max-concurrent-streams`: the HTTP/2 setting this listener
/// announces, so a client opens no more streams than that on one connection.
async fn serve_clients(
    member: Member,
    token: String,
    data_dir: String,
    max_streams: u32,
    incoming: Incoming,
) {
    let http = crate::http::router(member.clone());
    let gateway = crate::gateway::router(member.clone(), token.clone(), &data_dir, max_streams);
    let routes = Routes::from(http.merge(gateway))
        .add_service(limit(KvServer::new(KvService::new(member.clone()))))
        .add_service(limit(AuthServer::new(AuthService::new(member.clone()))))
        .add_service(limit(WatchServer::new(WatchService::new(member.clone()))))
        .add_service(limit(LeaseServer::new(LeaseService::new(member.clone()))))
        .add_service(limit(ClusterServer::new(ClusterService::new(member.clone(), token.clone()))))
        .add_service(limit(MaintenanceServer::new(
            MaintenanceService::new(member.clone()).with_data_dir(data_dir),
        )))
        .add_service(limit(LockServer::new(LockService::new(member.clone()))))
        .add_service(limit(ElectionServer::new(ElectionService::new(member.clone()))));
    let counted = routes.into_axum_router().layer(axum::middleware::from_fn_with_state(
        crate::grpc_metrics::process_metrics().clone(),
        crate::grpc_metrics::observe,
    ));
    let served = Server::builder()
        .accept_http1(true)
        .max_concurrent_streams(max_streams)
        .add_routes(Routes::from(counted))
        // etcdctl sends `:authority: http://host:port` on some calls; h2 would reset them.
        .serve_with_incoming(client_incoming(incoming))
        .await;
    if let Err(error) = served {
        warn!(%error, "client server stopped");
    }
}

/// The client listener's connections with `:authority` repaired (`authority`); under TLS the
/// repair reads the decrypted stream.
fn client_incoming(
    incoming: Incoming,
) -> impl Stream<Item = std::io::Result<AuthorityRepairing<Conn>>> {
    incoming.map(|accepted| accepted.map(AuthorityRepairing::new))
}

/// `/health` and `/metrics` alone, over HTTP/1.1 (or HTTP/2), plain or TLS as the URL says.
async fn serve_http(member: Member, incoming: Incoming) {
    let served = Server::builder()
        .accept_http1(true)
        .add_routes(Routes::from(crate::http::router(member)))
        .serve_with_incoming(incoming)
        .await;
    if let Err(error) = served {
        warn!(%error, "metrics server stopped");
    }
}

/// Applies detcd's message size limits to a generated service.
fn limit<S: MessageLimits>(service: S) -> S {
    service.limits(CLIENT_MESSAGE_LIMIT)
}

trait MessageLimits {
    fn limits(self, bytes: usize) -> Self;
}

macro_rules! message_limits {
    ($($server:ident<$service:ty>),*) => {$(
        impl MessageLimits for $server<$service> {
            fn limits(self, bytes: usize) -> Self {
                self.max_decoding_message_size(bytes).max_encoding_message_size(bytes)
            }
        }
    )*};
}

message_limits!(
    KvServer<KvService>,
    AuthServer<AuthService>,
    WatchServer<WatchService>,
    LeaseServer<LeaseService>,
    ClusterServer<ClusterService>,
    MaintenanceServer<MaintenanceService>,
    LockServer<LockService>,
    ElectionServer<ElectionService>
);

/// Brings the member to ready (`Member::until_ready`: catch up with the cluster, publish this
/// member's client URLs through raft), then serves clients and logs etcd's readiness lines: a
/// restarted member never answers from its old state.
async fn serve_when_ready(
    member: Member,
    client_urls: Vec<String>,
    token: String,
    data_dir: String,
    listeners: Vec<Bound>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    max_streams: u32,
) {
    member.until_ready(client_urls.clone()).await;
    for bound in listeners {
        info!(address = %local(&bound), tls = bound.tls, "listening for client requests");
        let incoming = accept(bound, &tls, "client");
        let data_dir = data_dir.clone();
        let serve = serve_clients(member.clone(), token.clone(), data_dir, max_streams, incoming);
        tokio::spawn(serve);
    }
    let status = member.status();
    info!(
        leader = %format!("{:x}", status.leader.unwrap_or(0)),
        term = status.raft_term,
        client_urls = ?client_urls,
        "published local member to cluster through raft"
    );
    info!("enabled capabilities for version 3.4");
    info!("ready to serve client requests");
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan_of(args: &[&str]) -> Result<Plan, String> {
        plan(&Flags::parse_from(std::iter::once("detcd").chain(args.iter().copied())))
    }

    #[test]
    fn https_urls_need_their_side_s_certificate() {
        assert!(plan_of(&[]).is_ok());
        let error = plan_of(&["--listen-client-urls", "https://127.0.0.1:2379"]).err().unwrap();
        assert_eq!(
            error,
            "--listen-client-urls https://127.0.0.1:2379: https needs --cert-file and --key-file, \
             or --auto-tls"
        );
        let error = plan_of(&["--listen-metrics-urls", "https://127.0.0.1:2381"]).err().unwrap();
        assert!(error.starts_with("--listen-metrics-urls https://127.0.0.1:2381: https needs"));
        let error = plan_of(&["--listen-peer-urls", "https://127.0.0.1:2380"]).err().unwrap();
        assert!(error.contains("https needs --peer-cert-file and --peer-key-file"), "{error}");
        // Another member's https peer URL: this member must speak TLS to it.
        let cluster = "default=http://127.0.0.1:2380,other=https://127.0.0.1:2480";
        let error = plan_of(&["--initial-cluster", cluster]).err().unwrap();
        assert!(error.starts_with("--initial-cluster https://127.0.0.1:2480: https needs"));
    }

    #[test]
    fn an_https_listener_with_its_side_s_certificate_serves_tls() {
        let dir = std::env::temp_dir().join(format!("detcd-run-plan-{}", std::process::id()));
        let data_dir = dir.to_string_lossy().into_owned();
        let plan = plan_of(&[
            "--data-dir",
            &data_dir,
            "--auto-tls",
            "--listen-client-urls",
            "https://127.0.0.1:2379,http://127.0.0.1:2378",
        ])
        .unwrap();
        let tls: Vec<bool> = plan.client_addrs.iter().map(|listen| listen.tls).collect();
        assert_eq!(tls, [true, false]);
        assert!(plan.tls.client.is_some() && plan.tls.peer_server.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
