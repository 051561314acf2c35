//! gRPC's server metrics as etcd exports them (go-grpc-prometheus): `grpc_server_started_total`
//! and `grpc_server_handled_total`, labelled by service, method, call type and, once handled,
//! the status code's name.
//!
//! A layer around the client listener's routes watches every gRPC call: started when its request
//! arrives, handled when its status is known. The status is in the response headers when the
//! call failed at once (a "trailers-only" answer), else in the trailers after the last message.
//! A call whose response the transport dropped before the trailers (the client went away or
//! reset the stream, as `etcdctl watch` does when it is stopped) is handled as `Canceled`, which
//! is what etcd's server reports for it.
//!
//! Invariants: every started call is handled at most once, and a call is handled only after it
//! started, so `handled <= started` for every method. The counters only grow.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// One gRPC method: its service, its name and its call type (`unary`, `server_stream`, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Method {
    service: String,
    name: String,
    kind: &'static str,
}

#[derive(Debug, Default)]
struct Counts {
    started: u64,
    /// By status code name.
    handled: BTreeMap<&'static str, u64>,
}

/// The counters, shared by the layer that counts and the `/metrics` page that shows them.
#[derive(Debug, Clone, Default)]
pub struct GrpcMetrics {
    methods: Arc<Mutex<BTreeMap<Method, Counts>>>,
}

/// The process's counters: one member per process, and every listener (client URLs and
/// `--listen-metrics-urls`) shows the same ones, as Prometheus' default registry does in etcd.
pub fn process_metrics() -> &'static GrpcMetrics {
    static METRICS: std::sync::OnceLock<GrpcMetrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(GrpcMetrics::default)
}

impl GrpcMetrics {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<Method, Counts>) -> T) -> T {
        // A panic while counting loses nothing worth stopping the server for.
        let mut methods = self.methods.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut methods)
    }

    fn started(&self, method: &Method) {
        self.with(|methods| methods.entry(method.clone()).or_default().started += 1);
    }

    fn handled(&self, method: &Method, code: &'static str) {
        self.with(|methods| {
            *methods.entry(method.clone()).or_default().handled.entry(code).or_default() += 1
        });
    }

    /// The counters in Prometheus' text format.
    pub fn render(&self, text: &mut String) {
        self.with(|methods| {
            let _ = writeln!(
                text,
                "# HELP grpc_server_started_total Total number of RPCs started on the server.\n\
                 # TYPE grpc_server_started_total counter"
            );
            for (method, counts) in methods.iter() {
                let _ = writeln!(
                    text,
                    "grpc_server_started_total{{{}}} {}",
                    labels(method),
                    counts.started
                );
            }
            let _ = writeln!(
                text,
                "# HELP grpc_server_handled_total Total number of RPCs completed on the server, \
                 regardless of success or failure.\n# TYPE grpc_server_handled_total counter"
            );
            for (method, counts) in methods.iter() {
                for (code, count) in &counts.handled {
                    let _ = writeln!(
                        text,
                        "grpc_server_handled_total{{grpc_code=\"{code}\",{}}} {count}",
                        labels(method)
                    );
                }
            }
        });
    }
}

fn labels(method: &Method) -> String {
    format!(
        "grpc_method=\"{}\",grpc_service=\"{}\",grpc_type=\"{}\"",
        method.name, method.service, method.kind
    )
}

/// The method a request calls, if it is a gRPC call (`/package.Service/Method`).
fn method_of(request: &Request) -> Option<Method> {
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"));
    if !grpc {
        return None;
    }
    let (service, name) = request.uri().path().strip_prefix('/')?.split_once('/')?;
    let kind = call_type(service, name);
    Some(Method { service: service.to_string(), name: name.to_string(), kind })
}

/// The call type of etcd's streaming methods; every other method is unary.
fn call_type(service: &str, method: &str) -> &'static str {
    match (service, method) {
        ("etcdserverpb.Watch", "Watch") | ("etcdserverpb.Lease", "LeaseKeepAlive") => "bidi_stream",
        ("etcdserverpb.Maintenance", "Snapshot") | ("v3electionpb.Election", "Observe") => {
            "server_stream"
        }
        _ => "unary",
    }
}

/// gRPC's status code names, as go-grpc-prometheus labels them.
fn code_name(code: &[u8]) -> &'static str {
    match code {
        b"0" => "OK",
        b"1" => "Canceled",
        b"2" => "Unknown",
        b"3" => "InvalidArgument",
        b"4" => "DeadlineExceeded",
        b"5" => "NotFound",
        b"6" => "AlreadyExists",
        b"7" => "PermissionDenied",
        b"8" => "ResourceExhausted",
        b"9" => "FailedPrecondition",
        b"10" => "Aborted",
        b"11" => "OutOfRange",
        b"12" => "Unimplemented",
        b"13" => "Internal",
        b"14" => "Unavailable",
        b"15" => "DataLoss",
        b"16" => "Unauthenticated",
        _ => "Unknown",
    }
}

fn status_in(headers: &http::HeaderMap) -> Option<&'static str> {
    headers.get("grpc-status").map(|code| code_name(code.as_bytes()))
}

/// The middleware: counts the call as started, and as handled when its status is known.
pub async fn observe(State(metrics): State<GrpcMetrics>, request: Request, next: Next) -> Response {
    let Some(method) = method_of(&request) else { return next.run(request).await };
    metrics.started(&method);
    let response = next.run(request).await;
    if let Some(code) = status_in(response.headers()) {
        metrics.handled(&method, code);
        return response;
    }
    response.map(|inner| Body::new(Observed { inner, call: Some((metrics, method)) }))
}

/// A response body that reports the call's status when its trailers pass, or `Canceled` when it
/// is dropped before them.
struct Observed {
    inner: Body,
    /// Taken once the call is counted as handled.
    call: Option<(GrpcMetrics, Method)>,
}

impl Observed {
    fn handled(&mut self, code: &'static str) {
        if let Some((metrics, method)) = self.call.take() {
            metrics.handled(&method, code);
        }
    }
}

impl http_body::Body for Observed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in) {
                    self.handled(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.handled("Unknown"),
            // Ended without a status: not a gRPC answer go-grpc-prometheus would see end well.
            Poll::Ready(None) => self.handled("Unknown"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.handled("Canceled");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_s_streaming_methods_have_their_call_type_and_the_rest_are_unary() {
        assert_eq!(call_type("etcdserverpb.Watch", "Watch"), "bidi_stream");
        assert_eq!(call_type("etcdserverpb.Lease", "LeaseKeepAlive"), "bidi_stream");
        assert_eq!(call_type("etcdserverpb.Maintenance", "Snapshot"), "server_stream");
        assert_eq!(call_type("v3electionpb.Election", "Observe"), "server_stream");
        assert_eq!(call_type("etcdserverpb.KV", "Put"), "unary");
    }

    #[test]
    fn a_handled_call_is_shown_with_its_code_name_beside_its_start() {
        let metrics = GrpcMetrics::default();
        let watch = Method {
            service: "etcdserverpb.Watch".into(),
            name: "Watch".into(),
            kind: "bidi_stream",
        };
        metrics.started(&watch);
        metrics.started(&watch);
        metrics.handled(&watch, code_name(b"1"));
        let mut text = String::new();
        metrics.render(&mut text);
        let labels =
            "grpc_method=\"Watch\",grpc_service=\"etcdserverpb.Watch\",grpc_type=\"bidi_stream\"";
        assert!(text.contains(&format!("grpc_server_started_total{{{labels}}} 2\n")), "{text}");
        assert!(
            text.contains(&format!(
                "grpc_server_handled_total{{grpc_code=\"Canceled\",{labels}}} 1\n"
            )),
            "{text}"
        );
    }
}
