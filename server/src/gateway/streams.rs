//! `--max-concurrent-streams` on the gateway: at most that many gateway calls in progress.
//!
//! etcd's gateway is a gRPC client of its own server over one HTTP/2 connection, so every
//! gateway call is a stream on that connection and the server's `--max-concurrent-streams`
//! bounds how many run at once: a call beyond the limit waits until one ends (a curl watch holds
//! its stream until it is closed). detcd's gateway calls the services in-process, so it keeps the
//! same budget itself: a call takes one of `max_streams` permits before it is served and holds
//! it until its answer has been sent, which for a streaming answer (`watch`, `keepalive`,
//! `observe`, sent without a length) is until the client goes away.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_stream::StreamExt;

/// The gateway's stream budget.
pub type Streams = Arc<Semaphore>;

/// A budget of `max_streams` calls at once.
pub fn budget(max_streams: u32) -> Streams {
    let permits = usize::try_from(max_streams).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
    Arc::new(Semaphore::new(permits))
}

/// Serves `request` once a permit is free, and keeps the permit until the answer is sent.
pub async fn one_stream(State(streams): State<Streams>, request: Request, next: Next) -> Response {
    // The semaphore is never closed, so acquiring fails only if it were; serve anyway then.
    let Ok(permit) = streams.acquire_owned().await else {
        return next.run(request).await;
    };
    let response = next.run(request).await;
    if response.headers().contains_key(CONTENT_LENGTH) {
        // A whole answer, already made: the call is over.
        return response;
    }
    response.map(|body| {
        let held = body.into_data_stream().map(move |chunk| {
            let _held = &permit;
            chunk
        });
        Body::from_stream(held)
    })
}
