//! The gateway's streaming routes: a body of request messages in, a chunked body of
//! `{"result":..}` lines out, for as long as the call streams and the HTTP client stays.
//!
//! The request messages are decoded before the call starts, so a malformed body is refused with
//! HTTP 400 and nothing is opened. Dropping the response body (the client hung up) drops the
//! call's response stream, which ends the call (the watch stream closes on the member).

use super::json;
use crate::services::{caller_of, keep_alive as serve_keep_alive, open_watch_as, ElectionService};
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use detcd_core::member::Member;
use detcd_proto::etcdserverpb as pb;
use detcd_proto::v3electionpb as epb;
use detcd_proto::v3electionpb::election_server::Election;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio_stream::{Stream, StreamExt};
use tonic::Status;

/// `/v3/watch`: etcd's Watch stream, for the caller the `Authorization` header names.
pub fn watch(member: Member) -> MethodRouter {
    post(move |headers: HeaderMap, body: Bytes| {
        let member = member.clone();
        async move {
            let caller = caller_of(&super::with_token((), &headers));
            let opened = json::decode_all::<pb::WatchRequest>(&body)
                .and_then(|requests| open_watch_as(&member, &caller, requests_stream(requests)));
            match opened {
                Ok(responses) => lines(responses),
                Err(status) => json::failure(&status),
            }
        }
    })
}

/// `/v3/lease/keepalive`: one answer per keep-alive request in the body.
pub fn keep_alive(member: Member) -> MethodRouter {
    post(move |body: Bytes| {
        let member = member.clone();
        async move {
            match json::decode_all::<pb::LeaseKeepAliveRequest>(&body) {
                Ok(requests) => lines(serve_keep_alive(&member, requests_stream(requests))),
                Err(status) => json::failure(&status),
            }
        }
    })
}

/// `/v3/election/observe`: every new leader of the election named in the body, for the caller
/// the `Authorization` header names.
pub fn observe(election: Arc<ElectionService>) -> MethodRouter {
    post(move |headers: HeaderMap, body: Bytes| {
        let election = election.clone();
        async move {
            let request = match json::decode::<epb::LeaderRequest>(&body) {
                Ok(request) => request,
                Err(status) => return json::failure(&status),
            };
            match election.observe(super::with_token(request, &headers)).await {
                Ok(leaders) => lines(leaders.into_inner()),
                Err(status) => json::failure(&status),
            }
        }
    })
}

fn requests_stream<T>(requests: Vec<T>) -> impl Stream<Item = Result<T, Status>> + Unpin {
    tokio_stream::iter(requests.into_iter().map(Ok))
}

/// A response stream as the gateway's chunked body: a line per message, the error line last.
fn lines<T, S>(responses: S) -> Response
where
    T: Serialize + Send + 'static,
    S: Stream<Item = Result<T, Status>> + Send + 'static,
{
    let body = responses.map(|item| Ok::<_, Infallible>(json::stream_line(item)));
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (headers, Body::from_stream(body)).into_response()
}
