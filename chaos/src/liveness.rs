//! Liveness after the heal: with every member running again, a write and then a linearizable
//! read of it must both succeed within a bound, as the simulator's `liveness` check demands.

use super::workloads::Verdict;
use detcd_core::api::{PutRequest, RangeRequest};
use detcd_proto::client::GrpcClient;
use std::time::{Duration, Instant};

const KEY: &str = "chaos-liveness";

/// Tries a write and a linearizable read of it through `endpoints` until both succeed or
/// `bound` passes.
pub async fn check(endpoints: &[String], bound: Duration) -> Verdict {
    let checker = "liveness".to_string();
    let started = Instant::now();
    let endpoints: Vec<&str> = endpoints.iter().map(String::as_str).collect();
    let client = match GrpcClient::new(&endpoints) {
        Ok(client) => client,
        Err(error) => return Verdict { checker, ok: Some(false), summary: error.to_string() },
    };
    let mut attempt = 0;
    let mut last = String::from("no attempt");
    while started.elapsed() < bound {
        attempt += 1;
        let value = format!("after-heal-{attempt}");
        let put =
            PutRequest { key: KEY.into(), value: value.clone().into_bytes(), ..Default::default() };
        match client.put(put).await {
            Ok(_) => {
                match client.range(RangeRequest { key: KEY.into(), ..Default::default() }).await {
                    Ok(read) if read.kvs.first().is_some_and(|kv| kv.value == value.as_bytes()) => {
                        let seconds = started.elapsed().as_secs_f64();
                        let summary =
                            format!("ok (a write and a linearizable read after {seconds:.1}s)");
                        return Verdict { checker, ok: Some(true), summary };
                    }
                    Ok(read) => {
                        let seen = read
                            .kvs
                            .first()
                            .map(|kv| String::from_utf8_lossy(&kv.value).to_string());
                        let summary = format!("a linearizable read after an acknowledged write of {value:?} saw {seen:?}");
                        return Verdict { checker, ok: Some(false), summary };
                    }
                    Err(error) => last = format!("read: {error}"),
                }
            }
            Err(error) => last = format!("write: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let summary =
        format!("FAILED: no write and read succeeded within {bound:?} of the heal (last: {last})");
    Verdict { checker, ok: Some(false), summary }
}
