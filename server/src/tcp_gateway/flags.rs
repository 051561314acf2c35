//! `detcd gateway start`'s flags: etcd 3.4's `etcd gateway start`, with its names and defaults.
//!
//! Flags may come before or after `start` (`detcd gateway --endpoints=... start`, as etcd's own
//! tests call it). DNS SRV discovery is refused with its reason: this gateway proxies the
//! endpoints it is given. `--insecure-discovery` and `--trusted-ca-file` only shape that
//! discovery in etcd, so without `--discovery-srv` they change nothing there either.

use crate::go_duration::go_duration;
use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "detcd gateway",
    bin_name = "detcd gateway",
    about = "A TCP proxy in front of a cluster's client URLs (etcd's gateway)"
)]
pub struct GatewayCli {
    #[command(subcommand)]
    pub command: GatewayCommand,
    /// Address the gateway listens on.
    #[arg(long, global = true, default_value = "127.0.0.1:23790")]
    pub listen_addr: String,
    /// The cluster's client endpoints, comma-separated (a scheme is stripped: the gateway
    /// proxies TCP, so TLS passes through it end to end).
    #[arg(long, global = true, value_delimiter = ',', default_value = "127.0.0.1:2379")]
    pub endpoints: Vec<String>,
    /// How long an endpoint that refused a connection is skipped before it is tried again.
    #[arg(long, global = true, default_value = "1m0s")]
    pub retry_delay: String,
    /// DNS SRV discovery of the endpoints: not supported.
    #[arg(long, global = true)]
    pub discovery_srv: Option<String>,
    /// The service name of DNS SRV discovery: not supported.
    #[arg(long, global = true)]
    pub discovery_srv_name: Option<String>,
    /// Accept discovered endpoints whose certificate does not verify (discovery only).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub insecure_discovery: Option<String>,
    /// CA file that verifies discovered endpoints (discovery only).
    #[arg(long, global = true)]
    pub trusted_ca_file: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Start the gateway.
    Start,
}

/// What the gateway runs with, checked.
#[derive(Debug, PartialEq, Eq)]
pub struct GatewayPlan {
    pub listen_addr: String,
    /// `host:port` of every endpoint, in the order given.
    pub endpoints: Vec<String>,
    pub retry_delay: Duration,
}

impl GatewayCli {
    pub fn plan(&self) -> Result<GatewayPlan, String> {
        if self.discovery_srv.is_some() || self.discovery_srv_name.is_some() {
            return Err("--discovery-srv is not supported: DNS SRV discovery is not built in; \
                        give the cluster's client URLs with --endpoints"
                .into());
        }
        let endpoints: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(host_port)
            .collect::<Result<_, _>>()?;
        if endpoints.is_empty() {
            return Err("no endpoints found: give them with --endpoints".into());
        }
        let retry_delay =
            go_duration(&self.retry_delay).filter(|d| !d.is_zero()).ok_or_else(|| {
                format!(
                    "--retry-delay {:?} is not a positive duration such as 1m or 500ms",
                    self.retry_delay
                )
            })?;
        Ok(GatewayPlan { listen_addr: self.listen_addr.clone(), endpoints, retry_delay })
    }
}

/// An endpoint as `host:port`: a URL's scheme and path are dropped (etcd's `stripSchema`).
fn host_port(endpoint: &str) -> Result<String, String> {
    let without_scheme = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
    let authority = without_scheme.split('/').next().unwrap_or_default();
    let port = authority.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() => Ok(authority.to_string()),
        _ => {
            Err(format!("error parsing endpoint {endpoint:?}: want host:port or a URL with a port"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<GatewayPlan, String> {
        let cli = GatewayCli::try_parse_from([&["detcd gateway"], args].concat())
            .map_err(|e| e.to_string())?;
        cli.plan()
    }

    #[test]
    fn flags_may_come_before_or_after_start_and_default_as_etcds() {
        let plan = parse(&["--endpoints=http://127.0.0.1:1,127.0.0.1:2/x", "start"]).unwrap();
        assert_eq!(plan.endpoints, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(plan.listen_addr, "127.0.0.1:23790");
        assert_eq!(plan.retry_delay, Duration::from_secs(60));
        let plan =
            parse(&["start", "--listen-addr", "127.0.0.1:9", "--retry-delay", "250ms"]).unwrap();
        assert_eq!(plan.endpoints, ["127.0.0.1:2379"]);
        assert_eq!(plan.listen_addr, "127.0.0.1:9");
        assert_eq!(plan.retry_delay, Duration::from_millis(250));
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let refused = |args: &[&str]| parse(args).expect_err("refused");
        assert!(refused(&["start", "--endpoints", "nonsense"])
            .starts_with("error parsing endpoint \"nonsense\""));
        assert!(refused(&["start", "--endpoints", "h:port"]).starts_with("error parsing endpoint"));
        assert!(refused(&["start", "--discovery-srv", "example.com"]).contains("not supported"));
        assert!(refused(&["start", "--retry-delay", "soon"]).contains("--retry-delay"));
        assert!(refused(&["start", "--endpoints", ","]).starts_with("no endpoints found"));
        assert!(refused(&["--endpoints", "a:1"]).contains("Usage"), "start is required");
    }
}
