//! `queue`: producers enqueue unique values, consumers dequeue them, through the core's `Queue`
//! recipe over gRPC, judged by the queue checker (`detcd_check::queue`): nothing lost, nothing
//! delivered twice, no phantom, FIFO, and no dequeue stuck while values were queued after the
//! heal.
//!
//! The simulator's `queue` shapes (`scenarios/src/queue.rs`): odd-numbered clients produce
//! (`p<client>-<n>`), even-numbered clients consume until they dequeue a stop marker. When the
//! chaos phase is over and every producer is done, client 1 enqueues one stop marker per consumer
//! still at work (more if consumers are still at work a while later) and waits for them.
//! Recorded: every enqueue (output `detcd_check::queue::Enqueue`; an unknown outcome as never
//! returned, a certain refusal leaves the history), every dequeue (`Dequeue`; a failed one as
//! never returned, one still waiting [`AFTER_HEAL`] after the chaos phase as given up, its
//! consumer then stopping), and, in the run's finish (after the heal, with every client done),
//! `queue-healed` (when the heal had completed: every member running again) and `queue-remaining` (the values left).
//! With one client there is no consumer: the checker then judges loss and phantoms against what
//! is left.

use super::{jitter, Ctx, Shared, Verdict};
use crate::recorder::Recorder;
use detcd_check::history::Operation;
use detcd_check::queue::{self, Dequeue, Enqueue, QueueHistory};
use detcd_core::client::ops;
use detcd_core::recipes::Queue;
use detcd_proto::client::GrpcClient;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PREFIX: &str = "queue";
const STOP: &str = "stop";
/// A consumer gives up a dequeue this long after the chaos phase (and stops): long past the
/// checker's `STUCK_SLACK`, so a dequeue that waits on while values are queued after the heal is
/// judged `stuck`, and inside the run's grace for its clients.
const AFTER_HEAL: Duration = Duration::from_secs(25);
/// How long after the chaos phase client 1 waits for the others.
const WAIT_FOR_CREW: Duration = Duration::from_secs(30);

/// Producers and consumers still at work.
#[derive(Default)]
pub struct Crews {
    producers: AtomicUsize,
    consumers: AtomicUsize,
}

/// One client's time at work in a crew; dropping it clocks the client out.
struct Shift<'a>(&'a AtomicUsize);

impl<'a> Shift<'a> {
    fn clock_in(crew: &'a AtomicUsize) -> Shift<'a> {
        crew.fetch_add(1, Ordering::SeqCst);
        Shift(crew)
    }
}

impl Drop for Shift<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn complete<T: Serialize>(recorder: &Recorder, pending: crate::recorder::Pending, item: &T) {
    match serde_json::to_value(item) {
        Ok(output) => recorder.complete(pending, output),
        Err(_) => recorder.unknown(pending),
    }
}

pub async fn client(ctx: Ctx) {
    if ctx.index % 2 == 1 {
        producer(ctx).await
    } else {
        consumer(ctx).await
    }
}

async fn producer(mut ctx: Ctx) {
    let shared = ctx.shared.clone();
    let shift = Shift::clock_in(&shared.crews.producers);
    let Ok(queue) = Queue::new(&ctx.client, PREFIX) else { return };
    let mut number = 0;
    while ctx.running() {
        let value = format!("p{}-{number}", ctx.index);
        let pending =
            ctx.recorder.invoke(ctx.index, "enqueue", Some(&value), json!({"priority": 0}));
        let call = ctx.recorder.now();
        let ret = match queue.enqueue(&value).await {
            Ok(_) => Some(ctx.recorder.now()),
            Err(error) if error.is_unknown() => None,
            // Certainly not enqueued: not part of the checker's history.
            Err(_) => {
                ctx.recorder.refused(pending);
                jitter(&mut ctx, 100, 300).await;
                continue;
            }
        };
        let enqueue = Enqueue { client: ctx.index, value, priority: 0, call, ret };
        complete(&ctx.recorder, pending, &enqueue);
        number += 1;
        jitter(&mut ctx, 50, 400).await;
    }
    drop(shift);
    if ctx.index == 1 {
        drain(&ctx, &queue).await;
    }
}

async fn consumer(mut ctx: Ctx) {
    let shared = ctx.shared.clone();
    let _shift = Shift::clock_in(&shared.crews.consumers);
    let Ok(queue) = Queue::new(&ctx.client, PREFIX) else { return };
    let give_up = ctx.until + AFTER_HEAL;
    loop {
        let pending = ctx.recorder.invoke(ctx.index, "dequeue", None, json!(null));
        let call = ctx.recorder.now();
        let client = ctx.index;
        let patience = give_up.saturating_duration_since(Instant::now());
        let dequeue = match tokio::time::timeout(patience, queue.dequeue()).await {
            Ok(Ok(value)) if value == STOP.as_bytes() => return ctx.recorder.refused(pending),
            Ok(Ok(value)) => {
                let value = Some(String::from_utf8_lossy(&value).into_owned());
                Dequeue { client, value, call, ret: Some(ctx.recorder.now()), gave_up: None }
            }
            Ok(Err(_)) => Dequeue { client, value: None, call, ret: None, gave_up: None },
            // Dropped mid-call, it may still have taken a value: an unknown outcome.
            Err(_) => {
                let gave_up = Some(ctx.recorder.now());
                let dequeue = Dequeue { client, value: None, call, ret: None, gave_up };
                return complete(&ctx.recorder, pending, &dequeue);
            }
        };
        complete(&ctx.recorder, pending, &dequeue);
        jitter(&mut ctx, 50, 500).await;
    }
}

/// After the producers: stop markers until the consumers are done.
async fn drain(ctx: &Ctx, queue: &Queue<GrpcClient>) {
    let crews = &ctx.shared.crews;
    let deadline = ctx.until + WAIT_FOR_CREW;
    let done = |crew: &AtomicUsize| crew.load(Ordering::SeqCst) == 0;
    while !done(&crews.producers) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while !done(&crews.consumers) && Instant::now() < deadline {
        for _ in 0..crews.consumers.load(Ordering::SeqCst) {
            while queue.enqueue(STOP).await.is_err() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let wait = Instant::now() + Duration::from_secs(8);
        while !done(&crews.consumers) && Instant::now() < wait.min(deadline) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// After the heal, with every client done: records when the heal was surely complete and the
/// values left in the queue.
pub async fn finish(client: &GrpcClient, recorder: &Recorder, index: u64, shared: &Shared) {
    let healed = shared.healed().unwrap_or_else(|| recorder.now());
    let pending = recorder.invoke(index, "queue-healed", None, json!(null));
    recorder.complete(pending, json!(healed));
    let pending = recorder.invoke(index, "queue-remaining", None, json!(null));
    let request = ops::get_prefix(format!("{PREFIX}/").as_bytes());
    for _ in 0..30 {
        if let Ok(left) = client.range(request.clone()).await {
            let values: Vec<String> = left
                .kvs
                .into_iter()
                .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
                .filter(|value| value != STOP)
                .collect();
            return complete(recorder, pending, &values);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    recorder.unknown(pending);
}

fn items<T: DeserializeOwned>(ops: &[Operation], f: &str) -> Vec<T> {
    ops.iter()
        .filter(|op| op.f == f && op.ret.is_some())
        .filter_map(|op| serde_json::from_value(op.output.clone()).ok())
        .collect()
}

/// The queue checker's verdict.
pub fn verdict(ops: &[Operation]) -> Verdict {
    let checker = "queue".to_string();
    let started = Instant::now();
    let Some(remaining) = items::<Vec<String>>(ops, "queue-remaining").pop() else {
        return Verdict {
            checker,
            ok: None,
            summary: "unknown: what was left in the queue could not be read".into(),
        };
    };
    let healed = items::<f64>(ops, "queue-healed").pop();
    let history = QueueHistory {
        enqueues: items(ops, "enqueue"),
        dequeues: items(ops, "dequeue"),
        remaining,
        healed,
    };
    let delivered = history.dequeues.iter().filter(|d| d.value.is_some()).count();
    let work = format!(
        "{} enqueues, {delivered} delivered, {} left",
        history.enqueues.len(),
        history.remaining.len()
    );
    let verdict = queue::check(&history);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict.violation_summary() {
        None => (Some(true), format!("ok ({work}, {seconds:.2}s)")),
        Some(violated) => (Some(false), violated),
    };
    Verdict { checker, ok, summary }
}
