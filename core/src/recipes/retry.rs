//! Resending calls that are safe to resend.
//!
//! A read, or a write made idempotent by its txn guard (`If(CreateRevision(myKey) == 0)`), may be
//! sent again after any transient failure, including an unknown outcome: a second copy can only
//! find the first one's effect. Recipes use this for exactly those calls and nothing else.

use crate::client::{ClientError, ClientResult};
use crate::runtime::DetRuntime;
use openraft_rt::AsyncRuntime;
use std::future::Future;
use std::time::Duration;

/// How many times an idempotent call is tried before its last error is returned: enough to ride
/// out a leader election or two.
const ATTEMPTS: usize = 40;
const BACKOFF: Duration = Duration::from_millis(250);

/// Runs `call` until it succeeds, fails definitely, or the attempts run out.
pub async fn idempotent<T, F, Fut>(mut call: F) -> ClientResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ClientResult<T>>,
{
    let mut last = ClientError::Unavailable("never tried".into());
    for _ in 0..ATTEMPTS {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() => last = error,
            Err(error) => return Err(error),
        }
        DetRuntime::sleep(BACKOFF).await;
    }
    Err(last)
}

/// Runs a non-idempotent `call`, resending it only when it certainly did not apply.
pub async fn once<T, F, Fut>(mut call: F) -> ClientResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ClientResult<T>>,
{
    let mut last = ClientError::Unavailable("never tried".into());
    for _ in 0..ATTEMPTS {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.certainly_not_applied() => last = error,
            Err(error) => return Err(error),
        }
        DetRuntime::sleep(BACKOFF).await;
    }
    Err(last)
}
