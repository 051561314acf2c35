//! The command line, and its validation into a [`Plan`].
//!
//! clap parses the flags; [`Args::plan`] then checks what clap cannot (that the flags make sense
//! together) and returns either a plan every later step may trust or one line saying what is
//! wrong. Invariants of a `Plan`: at least one endpoint, each a valid URL; `1 <= conns <= clients`;
//! a positive budget; keys wide enough to spell every key of the key space; a watch run has a key
//! per client.

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use std::time::Duration;
use tonic::transport::Endpoint;

/// The largest value a run may write: etcd refuses requests above 1.5 MiB by default.
pub const MAX_VAL_SIZE: usize = 1024 * 1024;

/// Requests a run makes when neither `--total` nor `--duration` is given.
const DEFAULT_TOTAL: u64 = 10_000;

#[derive(Debug, Parser)]
#[command(name = "detcd-bench", about = "Load an etcd v3 cluster (detcd or etcd) and summarise it")]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub workload: WorkloadArg,
}

#[derive(Debug, ClapArgs)]
pub struct CommonArgs {
    /// Client URLs, comma-separated (`host:port` or `http://host:port`).
    #[arg(long, global = true, default_value = "127.0.0.1:2379", value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// Concurrent clients, each with one request in flight.
    #[arg(long, global = true, default_value_t = 1)]
    pub clients: usize,
    /// gRPC connections the clients share (round-robin over the endpoints).
    #[arg(long, global = true, default_value_t = 1)]
    pub conns: usize,
    /// Stop after this many requests (default 10000 unless --duration is given).
    #[arg(long, global = true, conflicts_with = "duration")]
    pub total: Option<u64>,
    /// Stop after this long: `30s`, `500ms`, `2m` or plain seconds.
    #[arg(long, global = true)]
    pub duration: Option<String>,
    /// Bytes per key.
    #[arg(long, global = true, default_value_t = 8)]
    pub key_size: usize,
    /// Bytes per value.
    #[arg(long, global = true, default_value_t = 8)]
    pub val_size: usize,
    /// Distinct keys the clients pick from at random.
    #[arg(long, global = true, default_value_t = 10_000)]
    pub key_space: u64,
    /// CA certificate file verifying `https://` endpoints (as etcdctl's `--cacert`).
    #[arg(long, global = true)]
    pub cacert: Option<String>,
    /// Client certificate file for mutual TLS (with `--key`).
    #[arg(long, global = true, requires = "key")]
    pub cert: Option<String>,
    /// Client key file for mutual TLS (with `--cert`).
    #[arg(long, global = true, requires = "cert")]
    pub key: Option<String>,
    /// `name:password` of the user to authenticate as (as etcdctl's `--user`), for a cluster
    /// with auth enabled.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// `text` (etcd benchmark style) or `tsv` (one line, for scripts).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Tsv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum WorkloadArg {
    /// Put a random key of the key space.
    Put,
    /// Range over one random key.
    Range {
        /// `l` linearizable or `s` serializable.
        #[arg(long, value_enum, default_value_t = Consistency::L)]
        consistency: Consistency,
    },
    /// A txn: if the key's version is not -1 (always true), put it.
    Txn,
    /// Each client watches its own key, puts it, and waits for the event.
    Watch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Consistency {
    /// Linearizable.
    L,
    /// Serializable.
    S,
}

/// What one request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Put,
    Range { serializable: bool },
    Txn,
    Watch,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::Range { serializable: false } => "range-l",
            Workload::Range { serializable: true } => "range-s",
            Workload::Txn => "txn",
            Workload::Watch => "watch",
        }
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Requests(u64),
    Time(Duration),
}

/// A validated run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub endpoints: Vec<String>,
    pub clients: usize,
    pub conns: usize,
    pub budget: Budget,
    pub key_size: usize,
    pub val_size: usize,
    pub key_space: u64,
    pub workload: Workload,
    pub output: Output,
    /// TLS for `https://` endpoints: the CA, and the client's certificate and key, as PEM text.
    pub tls: Option<TlsFiles>,
    /// The user every connection authenticates as (`--user`).
    pub user: Option<Credentials>,
}

/// A user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub name: String,
    pub password: String,
}

/// Never prints the password.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The PEM contents of the TLS files, read once when the plan is made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsFiles {
    pub ca: Option<String>,
    pub identity: Option<(String, String)>,
}

impl Args {
    /// Checks the flags together; the error is one line naming the flag.
    pub fn plan(&self) -> Result<Plan, String> {
        let c = &self.common;
        let endpoints = c.endpoints.iter().map(|e| endpoint_url(e)).collect::<Result<_, _>>()?;
        if c.clients == 0 {
            return Err("--clients must be at least 1".into());
        }
        if c.conns == 0 || c.conns > c.clients {
            return Err(format!("--conns must be between 1 and --clients ({})", c.clients));
        }
        if c.key_space == 0 {
            return Err("--key-space must be at least 1".into());
        }
        let digits = digits(c.key_space - 1);
        if c.key_size < digits {
            return Err(format!(
                "--key-size {} is too small for --key-space {}: keys need {digits} bytes",
                c.key_size, c.key_space
            ));
        }
        if c.val_size > MAX_VAL_SIZE {
            return Err(format!("--val-size must be at most {MAX_VAL_SIZE} bytes"));
        }
        let workload = workload(self.workload);
        if workload == Workload::Watch && c.key_space < c.clients as u64 {
            return Err(
                "watch needs a key per client: --key-space must be at least --clients".into()
            );
        }
        Ok(Plan {
            endpoints,
            clients: c.clients,
            conns: c.conns,
            budget: budget(c.total, c.duration.as_deref())?,
            key_size: c.key_size,
            val_size: c.val_size,
            key_space: c.key_space,
            workload,
            output: c.output,
            tls: tls_files(c)?,
            user: c.user.as_deref().map(credentials).transpose()?,
        })
    }
}

/// Reads `--cacert`, `--cert` and `--key`; `None` when none is given.
fn tls_files(c: &CommonArgs) -> Result<Option<TlsFiles>, String> {
    let read = |flag: &str, path: &Option<String>| {
        path.as_ref()
            .map(|p| std::fs::read_to_string(p).map_err(|e| format!("{flag} {p}: {e}")))
            .transpose()
    };
    let ca = read("--cacert", &c.cacert)?;
    let cert = read("--cert", &c.cert)?;
    let key = read("--key", &c.key)?;
    if ca.is_none() && cert.is_none() {
        return Ok(None);
    }
    Ok(Some(TlsFiles { ca, identity: cert.zip(key) }))
}

/// `name:password`, split at the first colon (a password may hold colons, a name may not, as
/// etcdctl splits it); both parts must be non-empty.
fn credentials(text: &str) -> Result<Credentials, String> {
    match text.split_once(':') {
        Some((name, password)) if !name.is_empty() && !password.is_empty() => {
            Ok(Credentials { name: name.to_string(), password: password.to_string() })
        }
        _ => Err("--user takes name:password, both non-empty".into()),
    }
}

fn workload(arg: WorkloadArg) -> Workload {
    match arg {
        WorkloadArg::Put => Workload::Put,
        WorkloadArg::Range { consistency } => {
            Workload::Range { serializable: consistency == Consistency::S }
        }
        WorkloadArg::Txn => Workload::Txn,
        WorkloadArg::Watch => Workload::Watch,
    }
}

fn budget(total: Option<u64>, duration: Option<&str>) -> Result<Budget, String> {
    match (total, duration) {
        (Some(0), _) => Err("--total must be at least 1".into()),
        (Some(total), _) => Ok(Budget::Requests(total)),
        (None, Some(text)) => parse_duration(text).map(Budget::Time),
        (None, None) => Ok(Budget::Requests(DEFAULT_TOTAL)),
    }
}

/// `30s`, `500ms`, `2m` or plain seconds; must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("--duration {text:?}: expected e.g. 30s, 500ms, 2m or 10");
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (text, 1_000.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let millis = value * unit_ms;
    if !(1.0..=1e12).contains(&millis) {
        return Err(format!("--duration {text:?} must be between 1ms and about 30 years"));
    }
    Ok(Duration::from_millis(millis as u64))
}

/// `host:port` becomes `http://host:port`; anything tonic cannot use is refused.
fn endpoint_url(endpoint: &str) -> Result<String, String> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Err("--endpoints has an empty entry".into());
    }
    let url =
        if endpoint.contains("://") { endpoint.to_string() } else { format!("http://{endpoint}") };
    Endpoint::from_shared(url.clone()).map_err(|e| format!("--endpoints {endpoint:?}: {e}"))?;
    Ok(url)
}

/// Decimal digits of `n` (1 for 0).
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(args: &[&str]) -> Result<Plan, String> {
        let argv = std::iter::once("detcd-bench").chain(args.iter().copied());
        Args::try_parse_from(argv).map_err(|e| e.to_string())?.plan()
    }

    #[test]
    fn defaults_give_one_client_ten_thousand_puts_on_the_local_etcd_port() {
        let plan = plan(&["put"]).unwrap();
        assert_eq!(plan.endpoints, vec!["http://127.0.0.1:2379".to_string()]);
        assert_eq!((plan.clients, plan.conns), (1, 1));
        assert_eq!(plan.budget, Budget::Requests(10_000));
        assert_eq!(plan.workload, Workload::Put);
    }

    #[test]
    fn flags_may_follow_the_workload_and_endpoints_split_on_commas() {
        let plan = plan(&["range", "--consistency", "s", "--endpoints", "a:1,http://b:2"]).unwrap();
        assert_eq!(plan.workload, Workload::Range { serializable: true });
        assert_eq!(plan.endpoints, vec!["http://a:1".to_string(), "http://b:2".to_string()]);
    }

    #[test]
    fn user_splits_at_the_first_colon_and_refuses_a_missing_part() {
        assert_eq!(plan(&["put"]).unwrap().user, None);
        let user = plan(&["put", "--user", "bench:pa:ss"]).unwrap().user.unwrap();
        assert_eq!((user.name.as_str(), user.password.as_str()), ("bench", "pa:ss"));
        assert!(!format!("{user:?}").contains("pa:ss"), "the password is never printed");
        for bad in ["bench", "bench:", ":secret"] {
            let err = plan(&["put", "--user", bad]).unwrap_err();
            assert_eq!(err, "--user takes name:password, both non-empty", "{bad}");
        }
    }

    #[test]
    fn tls_files_are_read_when_the_plan_is_made_and_a_missing_one_is_named() {
        assert_eq!(plan(&["put"]).unwrap().tls, None);
        let dir = std::env::temp_dir().join(format!("detcd-bench-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, "CA PEM").unwrap();
        let ca = ca.to_string_lossy().into_owned();
        let tls = plan(&["put", "--cacert", &ca]).unwrap().tls.unwrap();
        assert_eq!((tls.ca.as_deref(), tls.identity), (Some("CA PEM"), None));
        let both = plan(&["put", "--cacert", &ca, "--cert", &ca, "--key", &ca]).unwrap();
        let identity = both.tls.unwrap().identity.unwrap();
        assert_eq!(identity, ("CA PEM".to_string(), "CA PEM".to_string()));
        let missing = dir.join("missing.pem").to_string_lossy().into_owned();
        let err = plan(&["put", "--cacert", &missing]).unwrap_err();
        assert!(err.starts_with(&format!("--cacert {missing}: ")), "{err}");
        assert!(plan(&["put", "--cert", &ca]).is_err(), "--cert without --key");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn conns_must_not_exceed_clients() {
        let err = plan(&["put", "--clients", "4", "--conns", "5"]).unwrap_err();
        assert_eq!(err, "--conns must be between 1 and --clients (4)");
        assert!(plan(&["put", "--clients", "0"]).unwrap_err().contains("--clients"));
        assert!(plan(&["put", "--clients", "4", "--conns", "0"]).is_err());
        assert_eq!(plan(&["put", "--clients", "4", "--conns", "4"]).unwrap().conns, 4);
    }

    #[test]
    fn keys_must_be_wide_enough_for_the_key_space() {
        let err = plan(&["put", "--key-size", "3", "--key-space", "1001"]).unwrap_err();
        assert_eq!(err, "--key-size 3 is too small for --key-space 1001: keys need 4 bytes");
        assert!(plan(&["put", "--key-size", "3", "--key-space", "1000"]).is_ok());
        assert!(plan(&["put", "--key-space", "0"]).is_err());
    }

    #[test]
    fn total_and_duration_exclude_each_other_and_must_be_positive() {
        assert!(plan(&["put", "--total", "5", "--duration", "1s"]).is_err());
        assert_eq!(plan(&["put", "--total", "0"]).unwrap_err(), "--total must be at least 1");
        let timed = plan(&["put", "--duration", "1500ms"]).unwrap();
        assert_eq!(timed.budget, Budget::Time(Duration::from_millis(1500)));
    }

    #[test]
    fn durations_take_a_unit_or_plain_seconds() {
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-3s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("NaN").is_err());
    }

    #[test]
    fn bad_endpoints_values_and_watch_key_spaces_are_refused() {
        assert!(plan(&["put", "--endpoints", "a:1,,b:2"]).unwrap_err().contains("empty"));
        assert!(plan(&["put", "--endpoints", "http://bad host"]).is_err());
        assert!(plan(&["put", "--val-size", "2000000"]).unwrap_err().contains("--val-size"));
        let err = plan(&["watch", "--clients", "8", "--key-space", "4"]).unwrap_err();
        assert!(err.contains("--key-space must be at least --clients"), "{err}");
    }

    #[test]
    fn digits_counts_decimal_places() {
        assert_eq!((digits(0), digits(9), digits(10), digits(999_999)), (1, 1, 2, 6));
    }
}
