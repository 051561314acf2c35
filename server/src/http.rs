//! Plain HTTP beside gRPC: `/health` (etcd's JSON), `/metrics` (Prometheus text), and etcd 3.6's
//! `/livez` and `/readyz` probes (`health_probes`).
//!
//! Served on the client URLs (gRPC and HTTP/1 share the port) and on `--listen-metrics-urls`.
//! Both only read the member's status; neither can change anything. `/metrics` carries a few of
//! etcd's metric names: the version gauges (`etcd_server_version{server_version=..}`), the mvcc
//! counters of what this member applied (`etcd_mvcc_put_total`, ...; reads served outside the log
//! are not counted, so etcd's `etcd_mvcc_range_total` is left out) and gRPC's per-method counters
//! ([`crate::grpc_metrics`]).

use crate::services::MaintenanceService;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use detcd_core::member::Member;
use detcd_proto::etcdserverpb::maintenance_server::Maintenance;
use detcd_proto::etcdserverpb::StatusRequest;
use std::fmt::Write;

pub fn router(member: Member) -> Router {
    let health_member = member.clone();
    let probes_member = member.clone();
    Router::new()
        .route("/health", get(move || health(health_member.clone())))
        .route("/metrics", get(move || metrics(member.clone())))
        .merge(crate::health_probes::router(probes_member))
}

/// etcd's answer: unhealthy while an alarm is raised (etcd 3.4's body, no reason), and otherwise
/// healthy while the member knows a leader.
async fn health(member: Member) -> impl IntoResponse {
    let has_leader = member.status().leader.is_some();
    let (healthy, body) = if !member.alarms().is_empty() {
        (false, r#"{"health":"false"}"#)
    } else if has_leader {
        (true, r#"{"health":"true"}"#)
    } else {
        (false, r#"{"health":"false","reason":"RAFT NO LEADER"}"#)
    };
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], body)
}

/// A few of etcd's metric names, enough for dashboards that check leadership and progress.
async fn metrics(member: Member) -> impl IntoResponse {
    let status = member.status();
    let (applied, keys) = member.apply_counters();
    let gauges: [(&str, &str, i128); 8] = [
        ("etcd_server_has_leader", "Whether a leader exists.", status.leader.is_some().into()),
        ("etcd_server_is_leader", "Whether this member is the leader.", status.is_leader.into()),
        ("etcd_server_is_learner", "Whether this member is a learner.", status.is_learner.into()),
        (
            "etcd_server_proposals_committed_total",
            "Committed raft index.",
            status.raft_index.into(),
        ),
        (
            "etcd_server_proposals_applied_total",
            "Applied raft index.",
            status.raft_applied_index.into(),
        ),
        ("etcd_debugging_mvcc_current_revision", "Current store revision.", status.revision.into()),
        ("etcd_debugging_mvcc_keys_total", "Total number of keys.", (keys as u64).into()),
        (
            "etcd_mvcc_db_total_size_in_bytes",
            "Size of the state machine snapshot.",
            status.db_size.into(),
        ),
    ];
    let mut text = String::new();
    for (name, help, value) in gauges {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    let counters = [
        ("etcd_mvcc_put_total", "Total number of puts seen by this member.", applied.puts),
        ("etcd_mvcc_delete_total", "Total number of deletes seen by this member.", applied.deletes),
        ("etcd_mvcc_txn_total", "Total number of txns seen by this member.", applied.txns),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
    }
    crate::grpc_metrics::process_metrics().render(&mut text);
    // etcd's version gauges: the version is the label and the value always 1 (tools and etcd's
    // own tests read the label). The version is the one `Maintenance.Status` reports.
    let maintenance = MaintenanceService::new(member);
    let answer = maintenance.status(tonic::Request::new(StatusRequest {})).await;
    let server = answer.map(|answer| answer.into_inner().version).unwrap_or_default();
    let cluster = cluster_version(&server);
    let versions = [
        ("etcd_server_version", "Which version is running.", "server_version", server.as_str()),
        ("etcd_cluster_version", "The cluster's version.", "cluster_version", cluster),
    ];
    for (name, help, label, version) in versions {
        let _ = writeln!(
            text,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{label}=\"{version}\"}} 1"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// etcd's cluster version: the server version's major.minor.
fn cluster_version(server: &str) -> &str {
    let mut dots = server.match_indices('.').map(|(at, _)| at);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &server[..second],
        _ => server,
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_version;

    #[test]
    fn the_cluster_version_is_the_server_version_s_major_and_minor() {
        assert_eq!(cluster_version("3.4.23"), "3.4");
        assert_eq!(cluster_version("3.4"), "3.4");
    }
}
