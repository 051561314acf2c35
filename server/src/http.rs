//! Plain HTTP beside gRPC: `/health` (etcd's JSON) and `/metrics` (Prometheus text).
//!
//! Served on the client URLs (gRPC and HTTP/1 share the port) and on `--listen-metrics-urls`.
//! Both only read the member's status; neither can change anything.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use detcd_core::member::Member;
use std::fmt::Write;

pub fn router(member: Member) -> Router {
    let health_member = member.clone();
    Router::new()
        .route("/health", get(move || health(health_member.clone())))
        .route("/metrics", get(move || metrics(member.clone())))
}

/// etcd's answer: healthy while the member knows a leader.
async fn health(member: Member) -> impl IntoResponse {
    let has_leader = member.status().leader.is_some();
    let body = if has_leader {
        r#"{"health":"true"}"#
    } else {
        r#"{"health":"false","reason":"RAFT NO LEADER"}"#
    };
    let code = if has_leader { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], body)
}

/// A few of etcd's metric names, enough for dashboards that check leadership and progress.
async fn metrics(member: Member) -> impl IntoResponse {
    let status = member.status();
    let gauges: [(&str, &str, i128); 7] = [
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
