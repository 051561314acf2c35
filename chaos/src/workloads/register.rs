//! `register`: one key as a read/write/compare-and-set register, judged by the `register`
//! linearizability model (the simulator's `register` shapes: `write` n, `read` -> n or null,
//! `cas` [expected, new] -> true/false).
//!
//! Every value written is new (the client's number and a count), so a read names the one write
//! it saw and a lost acknowledged write cannot hide behind a later write of the same value. A
//! compare-and-set expects the value the client read last, so it often succeeds.

use super::{check_options, pace, Ctx, Verdict, CHECK_STEPS, CHECK_TIME};
use detcd_check::history::{History, Operation};
use detcd_check::linearizability::{self, Verdict as Linearizability};
use detcd_check::models::register::Register;
use detcd_core::api::*;
use detcd_core::client::ClientResult;
use rand::Rng;
use serde_json::{json, Value};

const KEY: &str = "register";

pub async fn client(mut ctx: Ctx) {
    let mut written = 0;
    let mut last_read = None;
    while ctx.running() {
        written += 1;
        let value = ctx.index as i64 * 1_000_000 + written;
        match ctx.rng.gen_range(0..3) {
            0 => write(&ctx, value).await,
            1 => last_read = read(&ctx).await.or(last_read),
            _ => {
                let expected = last_read.unwrap_or_else(|| ctx.rng.gen_range(0..5));
                cas(&ctx, expected, value).await
            }
        }
        pace(&mut ctx, 5, 40).await;
    }
}

/// Completes a write-like call: ok -> `output`, open fate -> unknown, else refused.
pub(super) fn settle<T>(
    ctx: &Ctx,
    pending: crate::recorder::Pending,
    outcome: &ClientResult<T>,
    output: impl FnOnce(&T) -> Value,
) {
    match outcome {
        Ok(answer) => ctx.recorder.complete(pending, output(answer)),
        Err(error) if error.is_unknown() => {
            ctx.unknown.store(true, std::sync::atomic::Ordering::SeqCst);
            ctx.recorder.unknown(pending)
        }
        Err(_) => ctx.recorder.refused(pending),
    }
}

async fn write(ctx: &Ctx, value: i64) {
    let pending = ctx.recorder.invoke(ctx.index, "write", None, json!(value));
    let request =
        PutRequest { key: KEY.into(), value: value.to_string().into_bytes(), ..Default::default() };
    let outcome = ctx.client.put(request).await;
    settle(ctx, pending, &outcome, |_| Value::Null);
}

/// The register's value, when the read succeeded and found one.
async fn read(ctx: &Ctx) -> Option<i64> {
    let pending = ctx.recorder.invoke(ctx.index, "read", None, Value::Null);
    let request = RangeRequest { key: KEY.into(), ..Default::default() };
    match ctx.client.range(request).await {
        Ok(r) => {
            let value =
                r.kvs.first().and_then(|kv| String::from_utf8_lossy(&kv.value).parse::<i64>().ok());
            ctx.recorder.complete(pending, json!(value));
            value
        }
        // A read that got no answer observed nothing and changed nothing.
        Err(_) => {
            ctx.recorder.refused(pending);
            None
        }
    }
}

async fn cas(ctx: &Ctx, expected: i64, value: i64) {
    let pending = ctx.recorder.invoke(ctx.index, "cas", None, json!([expected, value]));
    let compare = Compare {
        key: KEY.into(),
        range_end: Vec::new(),
        target: CompareTarget::Value(expected.to_string().into_bytes()),
        result: CompareResult::Equal,
    };
    let put =
        PutRequest { key: KEY.into(), value: value.to_string().into_bytes(), ..Default::default() };
    let txn = TxnRequest {
        compare: vec![compare],
        success: vec![RequestOp::Put(put)],
        failure: Vec::new(),
    };
    let outcome = ctx.client.txn(txn).await;
    settle(ctx, pending, &outcome, |r| json!(r.succeeded));
}

/// The register model's verdict.
pub fn verdict(ops: &[Operation]) -> Verdict {
    linearizable(&Register, "linearizable (register model)", ops)
}

/// A linearizability verdict of `model` on `ops`, with the simulator's search budget.
pub fn linearizable<M: linearizability::Model>(
    model: &M,
    name: &str,
    ops: &[Operation],
) -> Verdict {
    let started = std::time::Instant::now();
    let options = check_options();
    let verdict = linearizability::check(model, &History::new(ops.to_vec()), options);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict {
        Ok(Linearizability::Linearizable) => {
            (Some(true), format!("ok ({} ops, {seconds:.2}s)", ops.len()))
        }
        Ok(Linearizability::Unknown) => {
            (None, format!("unknown (search budget spent: {CHECK_STEPS} steps or {CHECK_TIME:?}; {seconds:.2}s)"))
        }
        Ok(Linearizability::NotLinearizable(violation)) => {
            (Some(false), format!("NOT LINEARIZABLE: {}", violation.message))
        }
        Err(error) => (Some(false), format!("history could not be checked: {error}")),
    };
    Verdict { checker: name.to_string(), ok, summary }
}
