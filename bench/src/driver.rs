//! A run: `--conns` gRPC connections, `--clients` clients each with one request in flight, until
//! the budget (a request count or a time) is spent.
//!
//! Connection `i` goes to endpoint `i mod endpoints` and client `c` uses connection `c mod conns`,
//! so load spreads evenly however the numbers divide. Each tonic `Channel` made from its own
//! `Endpoint` is its own HTTP/2 connection. Clients record into their own `Recorder`; the run
//! merges them after the last client stops, so the hot path shares nothing but the budget counter.
//! With `--user`, every connection authenticates before the clock starts (see [`crate::auth`]).

use crate::auth::Token;
use crate::keys::{self, KeyPicker};
use crate::options::{Budget, Plan, TlsFiles, Workload};
use crate::requests;
use crate::summary::{Recorder, Summary};
use crate::watch;
use detcd_proto::etcdserverpb::kv_client::KvClient;
use detcd_proto::etcdserverpb::watch_client::WatchClient;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// The KV client every workload sends with: the connection, and its token if any.
pub type Kv = KvClient<InterceptedService<Channel, Token>>;
/// The watch client of the watch workload.
pub type Watch = WatchClient<InterceptedService<Channel, Token>>;

/// One gRPC connection and the token its requests carry.
#[derive(Debug, Clone)]
pub struct Connection {
    channel: Channel,
    token: Token,
}

impl Connection {
    pub fn kv(&self) -> Kv {
        KvClient::with_interceptor(self.channel.clone(), self.token.clone())
    }

    pub fn watch(&self) -> Watch {
        WatchClient::with_interceptor(self.channel.clone(), self.token.clone())
    }
}

/// A request slower than this counts as an error ("timed out") and the client moves on.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The budget shared by every client: each request first takes a ticket.
#[derive(Debug)]
pub struct Tickets {
    budget: Budget,
    started: Instant,
    issued: AtomicU64,
}

impl Tickets {
    pub fn new(budget: Budget) -> Tickets {
        Tickets { budget, started: Instant::now(), issued: AtomicU64::new(0) }
    }

    /// Whether one more request may start.
    pub fn take(&self) -> bool {
        match self.budget {
            Budget::Requests(total) => self.issued.fetch_add(1, Ordering::Relaxed) < total,
            Budget::Time(limit) => self.started.elapsed() < limit,
        }
    }
}

/// What a client needs to know about the run.
#[derive(Debug, Clone, Copy)]
pub struct ClientPlan {
    pub workload: Workload,
    pub key_size: usize,
    pub val_size: usize,
    pub key_space: u64,
}

/// Runs the plan and summarises it.
pub async fn run(plan: &Plan) -> Result<Summary, String> {
    let connections = connections(plan).await?;
    let client_plan = ClientPlan {
        workload: plan.workload,
        key_size: plan.key_size,
        val_size: plan.val_size,
        key_space: plan.key_space,
    };
    let tickets = Arc::new(Tickets::new(plan.budget));
    let started = Instant::now();
    let mut clients = JoinSet::new();
    for client in 0..plan.clients {
        let connection = connections[client % connections.len()].clone();
        let tickets = Arc::clone(&tickets);
        clients.spawn(async move {
            match client_plan.workload {
                Workload::Watch => watch::client(connection, client, client_plan, &tickets).await,
                _ => request_client(connection, client, client_plan, &tickets).await,
            }
        });
    }
    let mut total = Recorder::new();
    while let Some(finished) = clients.join_next().await {
        let recorder = finished.map_err(|e| format!("a client task failed: {e}"))?;
        total.merge(&recorder);
    }
    Ok(total.summarise(started.elapsed()))
}

async fn connections(plan: &Plan) -> Result<Vec<Connection>, String> {
    let mut connections = Vec::with_capacity(plan.conns);
    for i in 0..plan.conns {
        let url = plan.endpoints[i % plan.endpoints.len()].clone();
        let mut endpoint = Endpoint::from_shared(url.clone()).map_err(|e| format!("{url}: {e}"))?;
        if let Some(files) = plan.tls.as_ref().filter(|_| url.starts_with("https://")) {
            endpoint = endpoint.tls_config(tls_config(files)).map_err(|e| format!("{url}: {e}"))?;
        }
        let channel = endpoint.connect_timeout(CONNECT_TIMEOUT).tcp_nodelay(true).connect_lazy();
        let token = match &plan.user {
            Some(user) => Token::authenticate(channel.clone(), &url, user).await?,
            None => Token::none(),
        };
        connections.push(Connection { channel, token });
    }
    Ok(connections)
}

/// tonic's TLS settings for `https://` endpoints.
fn tls_config(files: &TlsFiles) -> ClientTlsConfig {
    let mut config = ClientTlsConfig::new();
    if let Some(ca) = &files.ca {
        config = config.ca_certificate(Certificate::from_pem(ca));
    }
    if let Some((cert, key)) = &files.identity {
        config = config.identity(Identity::from_pem(cert, key));
    }
    config
}

/// One client of the put, range or txn workload.
async fn request_client(
    connection: Connection,
    client: usize,
    plan: ClientPlan,
    tickets: &Tickets,
) -> Recorder {
    let mut kv = connection.kv();
    let mut keys = KeyPicker::new(plan.key_size, plan.key_space, client);
    let value = keys::value(plan.val_size);
    let mut recorder = Recorder::new();
    while tickets.take() {
        let key = keys.random();
        let started = Instant::now();
        let sent = requests::send(&mut kv, plan.workload, key, &value);
        match tokio::time::timeout(REQUEST_TIMEOUT, sent).await {
            Ok(Ok(())) => recorder.success(started.elapsed()),
            Ok(Err(status)) => recorder.failure(status_line(&status)),
            Err(_) => recorder.failure("timed out".into()),
        }
    }
    recorder
}

/// A status as one stable line: its code and message.
pub fn status_line(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_budget_hands_out_exactly_that_many_tickets() {
        let tickets = Tickets::new(Budget::Requests(3));
        let granted = (0..10).filter(|_| tickets.take()).count();
        assert_eq!(granted, 3);
    }

    #[test]
    fn a_time_budget_stops_granting_once_spent() {
        let tickets = Tickets::new(Budget::Time(Duration::from_millis(30)));
        assert!(tickets.take());
        std::thread::sleep(Duration::from_millis(40));
        assert!(!tickets.take());
    }
}
