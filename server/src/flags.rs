//! etcd's command-line flags, with etcd's names, meanings and `ETCD_*` environment variables.
//!
//! Deployment scripts written for etcd 3.4 should start detcd unchanged. `--quota-backend-bytes`
//! has etcd's meaning (`member::quota`), and so has `--max-concurrent-streams` (the client
//! listener's HTTP/2 setting, and the gateway's budget of calls at once, `gateway::streams`). Flags
//! still in `IgnoredFlags` are parsed and do nothing (logging knobs, file-count limits, keep-alive
//! tuning, ...: issue #17 part 2 names each one to be given its meaning or refused).
//! Auto-compaction is accepted only switched off (etcd's default retention `0`); a retention that
//! would compact is refused, since detcd does not compact by itself. Flags whose meaning detcd
//! cannot honour (discovery, JWT tokens) stop start-up with a one-line error naming the flag,
//! because silently running without them would be worse than not running. The TLS flags
//! (`TlsFlags`) are etcd's, and are read by `tls::TlsConfigs`; the auth flags (`AuthFlags`) become
//! the member's `AuthConfig`.

use crate::tls::Side;
use clap::Parser;

#[derive(Debug, Clone, Parser)]
// Go's flag package lets a flag be given twice, the last one winning (etcd's own tests do it).
#[command(
    name = "detcd",
    version,
    about = "an etcd v3 compatible server on the detcd core",
    args_override_self = true
)]
pub struct Flags {
    /// Human-readable name for this member.
    #[arg(long, env = "ETCD_NAME", default_value = "default")]
    pub name: String,
    /// Path to the data directory (default: ./<name>.detcd).
    #[arg(long, env = "ETCD_DATA_DIR")]
    pub data_dir: Option<String>,
    /// URLs to listen on for client traffic (comma-separated).
    #[arg(long, env = "ETCD_LISTEN_CLIENT_URLS", default_value = "http://127.0.0.1:2379")]
    pub listen_client_urls: String,
    /// This member's client URLs to advertise to the rest of the cluster.
    #[arg(long, env = "ETCD_ADVERTISE_CLIENT_URLS", default_value = "http://127.0.0.1:2379")]
    pub advertise_client_urls: String,
    /// URLs to listen on for peer traffic.
    #[arg(long, env = "ETCD_LISTEN_PEER_URLS", default_value = "http://127.0.0.1:2380")]
    pub listen_peer_urls: String,
    /// This member's peer URLs to advertise to the rest of the cluster.
    #[arg(long, env = "ETCD_INITIAL_ADVERTISE_PEER_URLS", default_value = "http://127.0.0.1:2380")]
    pub initial_advertise_peer_urls: String,
    /// Initial cluster configuration for bootstrapping: name=peer-url,... (default: this member).
    #[arg(long, env = "ETCD_INITIAL_CLUSTER")]
    pub initial_cluster: Option<String>,
    /// `new` for a member of a new cluster, `existing` to join a running one.
    #[arg(long, env = "ETCD_INITIAL_CLUSTER_STATE", default_value = "new")]
    pub initial_cluster_state: ClusterState,
    /// Initial cluster token: members of different clusters get different ids.
    #[arg(long, env = "ETCD_INITIAL_CLUSTER_TOKEN", default_value = "etcd-cluster")]
    pub initial_cluster_token: String,
    /// Time (in milliseconds) of a heartbeat interval.
    #[arg(long, env = "ETCD_HEARTBEAT_INTERVAL", default_value_t = 100)]
    pub heartbeat_interval: u64,
    /// Time (in milliseconds) for an election to time out.
    #[arg(long, env = "ETCD_ELECTION_TIMEOUT", default_value_t = 1000)]
    pub election_timeout: u64,
    /// Number of committed transactions to trigger a snapshot.
    #[arg(long, env = "ETCD_SNAPSHOT_COUNT", default_value_t = 100_000)]
    pub snapshot_count: u64,
    /// Extra URLs serving /metrics and /health (the client URLs serve them too).
    #[arg(long, env = "ETCD_LISTEN_METRICS_URLS")]
    pub listen_metrics_urls: Option<String>,
    /// Log level: debug, info, warn, error.
    #[arg(long, env = "ETCD_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Before serving, compare the key space's hash with the peers' and refuse to start on a
    /// mismatch (`corrupt_check`).
    #[arg(long, env = "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", num_args = 0..=1,
          default_missing_value = "true", value_parser = go_bool)]
    pub experimental_initial_corrupt_check: Option<bool>,
    /// Raise the NOSPACE alarm when the backend size would pass this many bytes (0: etcd's
    /// default, 2 GiB; negative: no quota).
    #[arg(
        long,
        env = "ETCD_QUOTA_BACKEND_BYTES",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub quota_backend_bytes: i64,
    /// Maximum concurrent HTTP/2 streams a client connection may open (etcd's default: 2^32-1).
    #[arg(long, env = "ETCD_MAX_CONCURRENT_STREAMS", default_value_t = u32::MAX)]
    pub max_concurrent_streams: u32,
    /// Auto-compaction mode, `periodic` or `revision`: only with a retention of 0 (detcd does not
    /// compact by itself).
    #[arg(long, env = "ETCD_AUTO_COMPACTION_MODE", default_value = "periodic")]
    pub auto_compaction_mode: String,
    /// Auto-compaction retention: only `0` (off) is accepted.
    #[arg(long, env = "ETCD_AUTO_COMPACTION_RETENTION", default_value = "0")]
    pub auto_compaction_retention: String,

    #[command(flatten)]
    pub tls: TlsFlags,
    #[command(flatten)]
    pub auth: AuthFlags,
    #[command(flatten)]
    pub ignored: IgnoredFlags,
    #[command(flatten)]
    pub unsupported: UnsupportedFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterState {
    New,
    Existing,
}

/// Accepted for compatibility with etcd deployment scripts; they change nothing in detcd.
#[derive(Debug, Clone, clap::Args)]
pub struct IgnoredFlags {
    #[arg(long, env = "ETCD_STRICT_RECONFIG_CHECK", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub strict_reconfig_check: Option<String>,
    #[arg(long, env = "ETCD_LOGGER", hide = true)]
    pub logger: Option<String>,
    #[arg(long, env = "ETCD_LOG_OUTPUTS", hide = true)]
    pub log_outputs: Option<String>,
    #[arg(long, env = "ETCD_MAX_SNAPSHOTS", hide = true)]
    pub max_snapshots: Option<String>,
    #[arg(long, env = "ETCD_MAX_WALS", hide = true)]
    pub max_wals: Option<String>,
    #[arg(long, env = "ETCD_MAX_REQUEST_BYTES", hide = true)]
    pub max_request_bytes: Option<String>,
    #[arg(long, env = "ETCD_ENABLE_V2", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub enable_v2: Option<String>,
    #[arg(long, env = "ETCD_ENABLE_PPROF", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub enable_pprof: Option<String>,
    #[arg(long, env = "ETCD_METRICS", hide = true)]
    pub metrics: Option<String>,
    #[arg(long, env = "ETCD_DEBUG", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub debug: Option<String>,
    #[arg(long, env = "ETCD_WAL_DIR", hide = true)]
    pub wal_dir: Option<String>,
    #[arg(long, env = "ETCD_GRPC_KEEPALIVE_MIN_TIME", hide = true)]
    pub grpc_keepalive_min_time: Option<String>,
    #[arg(long, env = "ETCD_GRPC_KEEPALIVE_INTERVAL", hide = true)]
    pub grpc_keepalive_interval: Option<String>,
    #[arg(long, env = "ETCD_GRPC_KEEPALIVE_TIMEOUT", hide = true)]
    pub grpc_keepalive_timeout: Option<String>,
}

/// etcd's TLS flags: the client side, the peer side, and the versions and ciphers of both.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsFlags {
    /// Path to the client server TLS certificate file.
    #[arg(long, env = "ETCD_CERT_FILE")]
    pub cert_file: Option<String>,
    /// Path to the client server TLS key file.
    #[arg(long, env = "ETCD_KEY_FILE")]
    pub key_file: Option<String>,
    /// Path to the client server TLS trusted CA certificate file.
    #[arg(long, env = "ETCD_TRUSTED_CA_FILE")]
    pub trusted_ca_file: Option<String>,
    /// Enable client certificate authentication (needs --trusted-ca-file).
    #[arg(long, env = "ETCD_CLIENT_CERT_AUTH", num_args = 0..=1, default_missing_value = "true")]
    pub client_cert_auth: Option<String>,
    /// Client TLS using a generated self-signed certificate.
    #[arg(long, env = "ETCD_AUTO_TLS", num_args = 0..=1, default_missing_value = "true")]
    pub auto_tls: Option<String>,
    /// Path to the peer server TLS certificate file (also this member's peer client certificate).
    #[arg(long, env = "ETCD_PEER_CERT_FILE")]
    pub peer_cert_file: Option<String>,
    /// Path to the peer server TLS key file.
    #[arg(long, env = "ETCD_PEER_KEY_FILE")]
    pub peer_key_file: Option<String>,
    /// Path to the peer server TLS trusted CA file.
    #[arg(long, env = "ETCD_PEER_TRUSTED_CA_FILE")]
    pub peer_trusted_ca_file: Option<String>,
    /// Enable peer client certificate authentication (needs --peer-trusted-ca-file).
    #[arg(long, env = "ETCD_PEER_CLIENT_CERT_AUTH", num_args = 0..=1, default_missing_value = "true")]
    pub peer_client_cert_auth: Option<String>,
    /// Peer TLS using generated self-signed certificates.
    #[arg(long, env = "ETCD_PEER_AUTO_TLS", num_args = 0..=1, default_missing_value = "true")]
    pub peer_auto_tls: Option<String>,
    /// Allowed TLS host name of the certificates of other members.
    #[arg(long, env = "ETCD_PEER_CERT_ALLOWED_HOSTNAME")]
    pub peer_cert_allowed_hostname: Option<String>,
    /// Path to the client certificate revocation list file (DER or PEM), read at every handshake.
    #[arg(long, env = "ETCD_CLIENT_CRL_FILE")]
    pub client_crl_file: Option<String>,
    /// Path to the peer certificate revocation list file (DER or PEM), read at every handshake.
    #[arg(long, env = "ETCD_PEER_CRL_FILE")]
    pub peer_crl_file: Option<String>,
    /// Allowed common name of the certificates of other members.
    #[arg(long, env = "ETCD_PEER_CERT_ALLOWED_CN")]
    pub peer_cert_allowed_cn: Option<String>,
    /// Comma-separated TLS 1.2 cipher suites (Go's names); default: rustls's.
    #[arg(long, env = "ETCD_CIPHER_SUITES")]
    pub cipher_suites: Option<String>,
    /// Minimum TLS version: TLS1.2 (default) or TLS1.3.
    #[arg(long, env = "ETCD_TLS_MIN_VERSION")]
    pub tls_min_version: Option<String>,
    /// Maximum TLS version: TLS1.3 (default) or TLS1.2.
    #[arg(long, env = "ETCD_TLS_MAX_VERSION")]
    pub tls_max_version: Option<String>,
}

impl TlsFlags {
    /// The client side's flags.
    pub fn client_side(&self) -> Side {
        Side {
            name: "client",
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            trusted_ca_file: self.trusted_ca_file.clone(),
            client_cert_auth: is_true(&self.client_cert_auth),
            auto_tls: is_true(&self.auto_tls),
            allowed_cn: None,
            allowed_hostname: None,
            crl_file: self.client_crl_file.clone().filter(|path| !path.is_empty()),
            flags: [
                "--cert-file",
                "--key-file",
                "--trusted-ca-file",
                "--client-cert-auth",
                "--auto-tls",
                "--client-crl-file",
            ],
        }
    }

    /// The peer side's flags.
    pub fn peer_side(&self) -> Side {
        Side {
            name: "peer",
            cert_file: self.peer_cert_file.clone(),
            key_file: self.peer_key_file.clone(),
            trusted_ca_file: self.peer_trusted_ca_file.clone(),
            client_cert_auth: is_true(&self.peer_client_cert_auth),
            auto_tls: is_true(&self.peer_auto_tls),
            allowed_cn: self.peer_cert_allowed_cn.clone().filter(|cn| !cn.is_empty()),
            allowed_hostname: self.peer_cert_allowed_hostname.clone().filter(|h| !h.is_empty()),
            crl_file: self.peer_crl_file.clone().filter(|path| !path.is_empty()),
            flags: [
                "--peer-cert-file",
                "--peer-key-file",
                "--peer-trusted-ca-file",
                "--peer-client-cert-auth",
                "--peer-auto-tls",
                "--peer-crl-file",
            ],
        }
    }
}

/// etcd's auth flags.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthFlags {
    /// Auth token type: 'simple', or 'jwt,sign-method=RS256,priv-key=FILE,pub-key=FILE,ttl=5m'.
    #[arg(long, env = "ETCD_AUTH_TOKEN", default_value = "simple")]
    pub auth_token: String,
    /// How long a simple token lives unused, in seconds.
    #[arg(long, env = "ETCD_AUTH_TOKEN_TTL", default_value_t = 300)]
    pub auth_token_ttl: u64,
    /// bcrypt's cost for hashing passwords (4 to 31).
    #[arg(long, env = "ETCD_BCRYPT_COST", default_value_t = 10)]
    pub bcrypt_cost: u32,
}

impl AuthFlags {
    /// The member's auth settings, or the one-line start-up error naming the flag.
    pub fn config(&self) -> Result<detcd_core::auth::AuthConfig, String> {
        use detcd_core::auth::password::{MAX_COST, MIN_COST};
        let tokens = crate::auth_token::parse(&self.auth_token)?;
        if !(MIN_COST..=MAX_COST).contains(&self.bcrypt_cost) {
            return Err(format!(
                "--bcrypt-cost {} is out of range [{MIN_COST}, {MAX_COST}]",
                self.bcrypt_cost
            ));
        }
        Ok(detcd_core::auth::AuthConfig {
            token_ttl: std::time::Duration::from_secs(self.auth_token_ttl),
            bcrypt_cost: self.bcrypt_cost,
            tokens,
        })
    }
}

/// Flags whose meaning detcd cannot honour: given any of them, detcd refuses to start.
#[derive(Debug, Clone, clap::Args)]
pub struct UnsupportedFlags {
    #[arg(long, env = "ETCD_DISCOVERY", hide = true)]
    pub discovery: Option<String>,
    #[arg(long, env = "ETCD_DISCOVERY_SRV", hide = true)]
    pub discovery_srv: Option<String>,
    #[arg(long, env = "ETCD_FORCE_NEW_CLUSTER", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub force_new_cluster: Option<String>,
    #[arg(long, env = "ETCD_PROXY", hide = true)]
    pub proxy: Option<String>,
}

impl UnsupportedFlags {
    /// The first unsupported flag that was given, with why detcd cannot honour it.
    pub fn first_given(&self) -> Option<(&'static str, &'static str)> {
        let given = [
            (self.discovery.is_some(), "--discovery", "discovery is not implemented"),
            (self.discovery_srv.is_some(), "--discovery-srv", "discovery is not implemented"),
            (is_true(&self.force_new_cluster), "--force-new-cluster", "not implemented"),
            (self.proxy.is_some(), "--proxy", "proxy mode is not implemented"),
        ];
        given.into_iter().find(|(set, _, _)| *set).map(|(_, flag, why)| (flag, why))
    }
}

/// A boolean flag's value as Go's `strconv.ParseBool` (etcd's flag package) reads it.
fn go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {value:?} (true or false)")),
    }
}

/// A boolean flag given as `--flag`, `--flag=true` or `--flag=1`; `false` counts as not given.
fn is_true(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !matches!(v, "false" | "0" | ""))
}

impl Flags {
    /// The backend quota `--quota-backend-bytes` asks for, as etcd reads it: 0 is the default
    /// (2 GiB), a negative value turns the quota off.
    pub fn quota_backend_bytes(&self) -> Option<u64> {
        match self.quota_backend_bytes {
            0 => Some(detcd_core::member::DEFAULT_QUOTA_BYTES),
            bytes => u64::try_from(bytes).ok(),
        }
    }

    /// Refuses auto-compaction that would compact: detcd has no compactor of its own, and
    /// accepting the flag would let history grow where the operator expects it bounded.
    pub fn check_auto_compaction(&self) -> Result<(), String> {
        let mode = self.auto_compaction_mode.as_str();
        if !matches!(mode, "periodic" | "revision") {
            return Err(format!(
                "--auto-compaction-mode: unknown mode {mode:?} (periodic or revision)"
            ));
        }
        let retention = self.auto_compaction_retention.trim();
        let off = match mode {
            "revision" => retention.parse::<u64>().map(|r| r == 0).map_err(|_| ()),
            // etcd reads a bare number as hours, or a Go duration such as `30m`.
            _ => {
                let number = retention.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                let unit = &retention[number.len()..];
                match (number.parse::<f64>(), unit) {
                    (Ok(n), "" | "ns" | "us" | "ms" | "s" | "m" | "h") if n >= 0.0 => Ok(n == 0.0),
                    _ => Err(()),
                }
            }
        };
        match off {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "--auto-compaction-retention {retention}: auto-compaction is not implemented in \
                 detcd; compact with `etcdctl compact` (or leave the retention at 0)"
            )),
            Err(_) => Err(format!("--auto-compaction-retention: invalid value {retention:?}")),
        }
    }

    /// `--experimental-initial-corrupt-check` was given (and not as `false`).
    pub fn initial_corrupt_check(&self) -> bool {
        self.experimental_initial_corrupt_check == Some(true)
    }

    pub fn data_dir(&self) -> String {
        self.data_dir.clone().unwrap_or_else(|| format!("{}.detcd", self.name))
    }

    /// `--initial-cluster`, or this member alone when it was not given (etcd's default).
    pub fn initial_cluster(&self) -> String {
        self.initial_cluster
            .clone()
            .unwrap_or_else(|| format!("{}={}", self.name, self.initial_advertise_peer_urls))
    }
}

/// Splits a comma-separated URL list, dropping empty items.
pub fn url_list(urls: &str) -> Vec<String> {
    urls.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
        Flags::try_parse_from(std::iter::once("detcd").chain(args.iter().copied()))
    }

    #[test]
    fn the_initial_corrupt_check_takes_go_s_booleans() {
        let flag = "--experimental-initial-corrupt-check";
        assert!(!parse(&[]).unwrap().initial_corrupt_check());
        assert!(parse(&[flag]).unwrap().initial_corrupt_check());
        assert!(parse(&[&format!("{flag}=true")]).unwrap().initial_corrupt_check());
        assert!(parse(&[&format!("{flag}=1")]).unwrap().initial_corrupt_check());
        assert!(!parse(&[&format!("{flag}=false")]).unwrap().initial_corrupt_check());
        let error = parse(&[&format!("{flag}=yes")]).unwrap_err().to_string();
        assert!(error.contains("invalid boolean value \"yes\""), "{error}");
    }

    #[test]
    fn a_flag_given_twice_takes_its_last_value_as_go_s_flags_do() {
        let flags = parse(&["--name", "a", "--name", "b"]).unwrap();
        assert_eq!(flags.name, "b");
        let tls = parse(&["--client-cert-auth", "--client-cert-auth=false"]).unwrap();
        assert!(!tls.tls.client_side().client_cert_auth);
        parse(&["--client-cert-auth", "--client-crl-file", "x.crl", "--client-cert-auth"]).unwrap();
    }

    #[test]
    fn the_quota_is_etcd_s_default_a_size_or_off() {
        let quota = |args: &[&str]| parse(args).unwrap().quota_backend_bytes();
        assert_eq!(quota(&[]), Some(2 << 30));
        assert_eq!(quota(&["--quota-backend-bytes", "0"]), Some(2 << 30));
        assert_eq!(quota(&["--quota-backend-bytes", "53248"]), Some(53248));
        assert_eq!(quota(&["--quota-backend-bytes", "-1"]), None);
        assert!(parse(&["--quota-backend-bytes", "lots"]).is_err());
    }

    #[test]
    fn auto_compaction_is_accepted_only_off() {
        let check = |args: &[&str]| parse(args).unwrap().check_auto_compaction();
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&["--auto-compaction-retention", "0"]), Ok(()));
        assert_eq!(check(&["--auto-compaction-retention", "0s"]), Ok(()));
        assert_eq!(check(&["--auto-compaction-mode", "revision"]), Ok(()));
        assert!(check(&["--auto-compaction-retention", "abc"]).unwrap_err().contains("invalid"));
        let refused = check(&["--auto-compaction-retention", "1h"]).unwrap_err();
        assert!(refused.contains("not implemented"), "{refused}");
        let refused =
            check(&["--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000"]);
        assert!(refused.unwrap_err().contains("not implemented"));
        let refused = check(&["--auto-compaction-mode", "hourly"]).unwrap_err();
        assert!(refused.contains("unknown mode"), "{refused}");
        let refused =
            check(&["--auto-compaction-mode", "revision", "--auto-compaction-retention", "x"]);
        assert!(refused.unwrap_err().contains("invalid value"));
    }
}
