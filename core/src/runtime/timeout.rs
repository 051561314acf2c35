//! A nameable, `Send` timeout future (madsim's own `timeout` returns an unnameable `impl Future`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The deadline passed before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for TimeoutError {}

pin_project_lite::pin_project! {
    /// Resolves to the inner future's output, or to `TimeoutError` once `sleep` fires first.
    /// The inner future is polled first, so a result that is ready at the deadline wins.
    pub struct Timeout<F> {
        #[pin]
        future: F,
        #[pin]
        sleep: super::Sleep,
    }
}

impl<F> Timeout<F> {
    pub(crate) fn new(future: F, sleep: super::Sleep) -> Self {
        Timeout { future, sleep }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        this.sleep.poll(cx).map(|()| Err(TimeoutError))
    }
}
