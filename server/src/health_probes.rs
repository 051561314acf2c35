//! etcd 3.6's `/livez` and `/readyz` over HTTP: each probe at its root and each check on its own
//! sub-path (`/readyz/linearizable_read`), with etcd's query parameters and answers.
//!
//! What the checks mean is decided in core (`detcd_core::member::HealthProbe`); this file only
//! reads the query and renders the outcomes as etcd does: `200 ok` (with every check's line first
//! when `?verbose` is given), or `503` with every check's line whether verbose or not.
//! `?exclude=NAME` (repeatable) skips a check at the root; a name no check has is ignored.

use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use detcd_core::member::{all_passed, CheckOutcome, HealthProbe, Member};
use std::collections::BTreeSet;
use std::fmt::Write;

type Params = Query<Vec<(String, String)>>;

/// The routes of both probes.
pub fn router(member: Member) -> Router {
    let mut router = Router::new();
    for probe in [HealthProbe::Livez, HealthProbe::Readyz] {
        let root = format!("/{}", name(probe));
        let at_root = member.clone();
        let one = member.clone();
        router = router
            .route(
                &root,
                get(move |Query(params): Params| async move {
                    let exclude: BTreeSet<String> = values(&params, "exclude");
                    let outcomes = at_root.probe(probe, &exclude).await;
                    render(&outcomes, has(&params, "verbose"))
                }),
            )
            .route(
                &format!("{root}/{{check}}"),
                get(move |Path(check): Path<String>, Query(params): Params| async move {
                    if !probe.checks().contains(&check.as_str()) {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    match one.probe_check(&check).await {
                        Some(outcome) => render(&[outcome], has(&params, "verbose")),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }),
            );
    }
    router
}

fn name(probe: HealthProbe) -> &'static str {
    match probe {
        HealthProbe::Livez => "livez",
        HealthProbe::Readyz => "readyz",
    }
}

fn values(params: &[(String, String)], key: &str) -> BTreeSet<String> {
    params.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
}

fn has(params: &[(String, String)], key: &str) -> bool {
    params.iter().any(|(k, _)| k == key)
}

/// etcd's answer for these outcomes.
fn render(outcomes: &[CheckOutcome], verbose: bool) -> Response {
    let mut lines = String::new();
    for outcome in outcomes {
        match &outcome.failure {
            None => writeln!(lines, "[+]{} ok", outcome.name),
            Some(reason) => writeln!(lines, "[-]{} failed: {reason}", outcome.name),
        }
        .expect("writing to a String");
    }
    let plain = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if !all_passed(outcomes) {
        // Go's http.Error adds a line break after the text.
        return (StatusCode::SERVICE_UNAVAILABLE, plain, format!("{lines}\n")).into_response();
    }
    let body = if verbose { format!("{lines}ok\n") } else { "ok\n".to_string() };
    (StatusCode::OK, plain, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    fn outcome(name: &'static str, failure: Option<&str>) -> CheckOutcome {
        CheckOutcome { name, failure: failure.map(str::to_string) }
    }

    async fn text(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, String::from_utf8(body.to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn passing_checks_answer_ok_and_list_themselves_only_when_verbose() {
        let passed = [outcome("serializable_read", None), outcome("non_learner", None)];
        assert_eq!(text(render(&passed, false)).await, (StatusCode::OK, "ok\n".into()));
        assert_eq!(
            text(render(&passed, true)).await,
            (StatusCode::OK, "[+]serializable_read ok\n[+]non_learner ok\nok\n".into())
        );
    }

    #[tokio::test]
    async fn a_failing_check_answers_503_with_every_check_and_the_reason() {
        let outcomes = [
            outcome("serializable_read", None),
            outcome("linearizable_read", Some("etcdserver: request timed out")),
        ];
        let expected = "[+]serializable_read ok\n\
                        [-]linearizable_read failed: etcdserver: request timed out\n\n";
        assert_eq!(
            text(render(&outcomes, false)).await,
            (StatusCode::SERVICE_UNAVAILABLE, expected.into())
        );
    }
}
