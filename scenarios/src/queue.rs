//! `queue` and `priority-queue`: producers enqueue unique values, consumers dequeue them, under
//! faults; nothing may be lost or delivered twice, and order must hold.
//!
//! Odd-numbered clients produce (`p<client>-<n>`, at a random priority 0–2 for the priority
//! queue), even-numbered clients consume until they dequeue a stop marker. When every producer is
//! done, client 1 enqueues one stop marker per consumer at the least urgent priority (so they come
//! last), more if consumers are still at work a while later, then waits for the consumers and
//! reads what is left in the queue. Recorded: every enqueue (an unknown outcome as never
//! returned; a certain refusal not at all), every dequeue (a failed one as never returned), and
//! the values left. A dequeue still waiting 30 s after the chaos ends is given up (recorded with
//! its `gave_up` time as an unknown outcome) and its consumer stops. Judged by
//! `detcd_check::queue`: no loss, no duplicate, no phantom, FIFO within a priority, priority
//! order, and no dequeue stuck while values were queued after the heal.

use crate::recipe_client::{self as rc, Crew};
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::queue::{self, Dequeue, Enqueue, QueueHistory};
use detcd_core::client::{ops, Client};
use detcd_core::recipes::{PriorityQueue, Queue, RecipeError};
use detcd_sim::client::SimClient;
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::run::RunResult;
use detcd_sim::trace;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STOP: &str = "stop";
/// A consumer gives up a dequeue this long after the chaos ends (and stops): long past
/// `STUCK_SLACK`, so a dequeue that waits on while values are queued after the heal is judged
/// `stuck` instead of hanging the run.
const AFTER_HEAL: Duration = Duration::from_secs(30);
/// The stop markers' priority: after every value.
const STOP_PRIORITY: u32 = 9;

pub struct QueueScenario {
    pub priority: bool,
}

impl Scenario for QueueScenario {
    fn name(&self) -> &'static str {
        if self.priority {
            "priority-queue"
        } else {
            "queue"
        }
    }

    fn description(&self) -> &'static str {
        if self.priority {
            "producers and consumers on a PriorityQueue under faults; queue checker (no loss/duplicates, FIFO per priority, priority order)"
        } else {
            "producers and consumers on a Queue under faults; queue checker (no loss, no duplicates, FIFO)"
        }
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(QueueWorkload {
            priority: self.priority,
            members: Arc::default(),
            producers: Arc::default(),
            consumers: Arc::default(),
        })
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        let started = Instant::now();
        let Some(remaining) = rc::last_item::<Vec<String>>(&result.history, "queue-remaining")
        else {
            return vec![rc::not_judged("queue", "what was left in the queue could not be read")];
        };
        let (enqueues, enqueue_ops) = rc::items_at(&result.history, "enqueue");
        let (dequeues, dequeue_ops) = rc::items_at(&result.history, "dequeue");
        let healed = Some(result.healed_at.as_secs_f64());
        let history = QueueHistory { enqueues, dequeues, remaining, healed };
        let delivered = history.dequeues.iter().filter(|d| d.value.is_some()).count();
        let work = format!(
            "{} enqueues, {delivered} delivered, {} left",
            history.enqueues.len(),
            history.remaining.len()
        );
        // Records are dequeue indices for these rules, enqueue indices for the others.
        let verdict = rc::on_operations(queue::check(&history), |rule, record| match rule {
            "duplicate" | "phantom" | "stuck" => dequeue_ops.get(record).copied(),
            _ => enqueue_ops.get(record).copied(),
        });
        vec![rc::safety("queue", verdict, work, started)]
    }
}

struct QueueWorkload {
    priority: bool,
    /// Finds the members (its own count is unused).
    members: Arc<Crew>,
    producers: Arc<Crew>,
    consumers: Arc<Crew>,
}

impl Workload for QueueWorkload {
    fn name(&self) -> &str {
        if self.priority {
            "priority-queue"
        } else {
            "queue"
        }
    }

    fn setup(&self, client: SimClient) -> BoxFuture<'static, ()> {
        let crews = [self.members.clone(), self.producers.clone(), self.consumers.clone()];
        Box::pin(async move {
            crews[0].find_members(client).await;
            // Every crew connects to the same members.
            let members = crews[0].members();
            crews[1].set_members(members.clone());
            crews[2].set_members(members);
        })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        let priority = self.priority;
        if ctx.index % 2 == 1 {
            let (producers, consumers) = (self.producers.clone(), self.consumers.clone());
            Box::pin(producer(ctx, priority, producers, consumers))
        } else {
            Box::pin(consumer(ctx, priority, self.consumers.clone()))
        }
    }
}

/// Either queue, so one workload drives both.
enum AnyQueue {
    Plain(Queue<SimEtcdClient>),
    Priority(PriorityQueue<SimEtcdClient>),
}

impl AnyQueue {
    fn new(client: &SimEtcdClient, priority: bool) -> Option<Self> {
        if priority {
            PriorityQueue::new(client, "pq").ok().map(AnyQueue::Priority)
        } else {
            Queue::new(client, "queue").ok().map(AnyQueue::Plain)
        }
    }

    fn prefix(&self) -> &'static str {
        match self {
            AnyQueue::Plain(_) => "queue/",
            AnyQueue::Priority(_) => "pq/",
        }
    }

    async fn enqueue(&self, value: &str, priority: u32) -> Result<Vec<u8>, RecipeError> {
        match self {
            AnyQueue::Plain(queue) => queue.enqueue(value).await,
            AnyQueue::Priority(queue) => queue.enqueue(value, priority).await,
        }
    }

    async fn dequeue(&self) -> Result<Vec<u8>, RecipeError> {
        match self {
            AnyQueue::Plain(queue) => queue.dequeue().await,
            AnyQueue::Priority(queue) => queue.dequeue().await,
        }
    }
}

async fn producer(
    mut ctx: ClientContext,
    priority: bool,
    producers: Arc<Crew>,
    consumers: Arc<Crew>,
) {
    let shift = producers.clock_in();
    let Some(client) = producers.connect().await else { return };
    let Some(queue) = AnyQueue::new(&client, priority) else { return };
    let mut number = 0;
    while ctx.running().await {
        let value = format!("p{}-{number}", ctx.index);
        let level = if priority { ctx.rng.gen_range(0..3) } else { 0 };
        let pending =
            ctx.recorder.invoke(ctx.index, "enqueue", Some(&value), json!({"priority": level}));
        let call = rc::now();
        let ret = match queue.enqueue(&value, level).await {
            Ok(_) => Some(rc::now()),
            Err(error) if error.is_unknown() => None,
            // Certainly not enqueued: not part of the checker's history.
            Err(error) => {
                rc::refused(&ctx, pending, error);
                continue;
            }
        };
        rc::complete(
            &ctx,
            pending,
            &Enqueue { client: ctx.index, value, priority: level, call, ret },
        );
        number += 1;
        rc::jitter(&mut ctx, 50, 400).await;
    }
    drop(shift);
    if ctx.index == 1 {
        drain(&ctx, &client, &queue, &producers, &consumers).await;
    }
}

async fn consumer(mut ctx: ClientContext, priority: bool, consumers: Arc<Crew>) {
    let _shift = consumers.clock_in();
    let Some(client) = consumers.connect().await else { return };
    let Some(queue) = AnyQueue::new(&client, priority) else { return };
    loop {
        let pending = ctx.recorder.invoke(ctx.index, "dequeue", None, json!(null));
        let call = rc::now();
        let patience = (ctx.until + AFTER_HEAL).saturating_sub(trace::now());
        let client = ctx.index;
        let dequeue = match madsim::time::timeout(patience, queue.dequeue()).await {
            Ok(Ok(value)) if value == STOP.as_bytes() => {
                return rc::refused(&ctx, pending, "stop marker");
            }
            Ok(Ok(value)) => {
                let value = Some(String::from_utf8_lossy(&value).into_owned());
                Dequeue { client, value, call, ret: Some(rc::now()), gave_up: None }
            }
            Ok(Err(_)) => Dequeue { client, value: None, call, ret: None, gave_up: None },
            // Dropped mid-call, it may still have taken a value: an unknown outcome.
            Err(_) => {
                let dequeue =
                    Dequeue { client, value: None, call, ret: None, gave_up: Some(rc::now()) };
                return rc::complete(&ctx, pending, &dequeue);
            }
        };
        rc::complete(&ctx, pending, &dequeue);
        rc::jitter(&mut ctx, 50, 500).await;
    }
}

/// After the producers: stop markers until the consumers are done, then what is left.
async fn drain(
    ctx: &ClientContext,
    client: &SimEtcdClient,
    queue: &AnyQueue,
    producers: &Crew,
    consumers: &Crew,
) {
    let deadline = ctx.until + rc::WAIT_FOR_CREW;
    producers.all_done(deadline).await;
    while consumers.working() > 0 && trace::now() < deadline {
        for _ in 0..consumers.working() {
            while queue.enqueue(STOP, STOP_PRIORITY).await.is_err() && trace::now() < deadline {
                rc::sleep_ms(200).await;
            }
        }
        consumers.all_done(trace::now() + Duration::from_secs(8)).await;
    }
    let pending = ctx.recorder.invoke(ctx.index, "queue-remaining", None, json!(null));
    let request = ops::get_prefix(queue.prefix().as_bytes());
    for _ in 0..30 {
        if let Ok(left) = client.range(request.clone()).await {
            let values: Vec<String> = left
                .kvs
                .into_iter()
                .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
                .filter(|value| value != STOP)
                .collect();
            return rc::complete(ctx, pending, &values);
        }
        rc::sleep_ms(500).await;
    }
    ctx.recorder.unknown(pending, "the queue could not be read");
}
