//! `bank-stm`: the bank's transfers written as software transactional memory
//! (`detcd_core::recipes::stm::transfer`), judged like `bank`.
//!
//! Each client runs its transfers at one isolation level (serializable snapshot, serializable or
//! repeatable reads, by client number; read committed would rightly break the sum): the STM reads
//! both balances, and commits both writes in one txn guarded by what it read, retrying on
//! conflict. A transfer that certainly failed is recorded as not applied; one whose commit had
//! no answer, as unknown. Readers read every account in one range, as in `bank`. The bank checker
//! demands that every read sums to the initial total and that the history is linearizable.

use crate::bank::{self, ACCOUNTS, PREFIX};
use crate::recipe_client::{self as rc, Crew};
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_core::recipes::stm::{self, Isolation};
use detcd_sim::client::SimClient;
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::run::RunResult;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde_json::json;
use std::sync::{Arc, Mutex};

const ISOLATIONS: [Isolation; 3] =
    [Isolation::SerializableSnapshot, Isolation::Serializable, Isolation::RepeatableReads];

pub struct BankStmScenario;

impl Scenario for BankStmScenario {
    fn name(&self) -> &'static str {
        "bank-stm"
    }

    fn description(&self) -> &'static str {
        "the bank's transfers as STM transactions at three isolation levels; bank checker (sum + linearizable)"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(BankStmWorkload { crew: Arc::default() })
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![bank::bank_verdict(&result.history)]
    }
}

struct BankStmWorkload {
    crew: Arc<Crew>,
}

impl Workload for BankStmWorkload {
    fn name(&self) -> &str {
        "bank-stm"
    }

    fn setup(&self, mut client: SimClient) -> BoxFuture<'static, ()> {
        let crew = self.crew.clone();
        Box::pin(async move {
            bank::open_accounts(&mut client).await;
            crew.find_members(client).await;
        })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(stm_client(ctx, self.crew.clone()))
    }
}

async fn stm_client(mut ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    let isolation = ISOLATIONS[ctx.index as usize % ISOLATIONS.len()];
    while ctx.running().await {
        if ctx.rng.gen_bool(0.3) {
            bank::read_all(&mut ctx).await;
        } else {
            let from = ctx.rng.gen_range(0..ACCOUNTS);
            let to = (from + ctx.rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
            let amount = ctx.rng.gen_range(1..=10);
            let (from, to) = (format!("{PREFIX}{from}"), format!("{PREFIX}{to}"));
            transfer(&ctx, &client, isolation, &from, &to, amount).await;
        }
        rc::jitter(&mut ctx, 1, 30).await;
    }
}

async fn transfer(
    ctx: &ClientContext,
    client: &SimEtcdClient,
    isolation: Isolation,
    from: &str,
    to: &str,
    amount: i64,
) {
    // Every attempt's commit compares what it read of both accounts (each isolation level here
    // guards its reads), and the reads come after the call. An unknown outcome says when the
    // last attempt's reads returned: the guard held what they read (`read_by`), and the commit,
    // if it applied, came after them (`applies_after`). If the last attempt never finished its
    // reads, the unknown outcome was a read's and nothing was applied.
    let input = json!({"from": from, "to": to, "amount": amount, "guarded": true});
    let pending = ctx.recorder.invoke(ctx.index, "transfer", None, input);
    let reads_done: Arc<Mutex<Option<f64>>> = Arc::default();
    let done = reads_done.clone();
    let observe = Arc::new(move |attempt: stm::Attempt| {
        let now = (attempt == stm::Attempt::Read).then(rc::now);
        *done.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = now;
    });
    let outcome = stm::transfer_observed(client, isolation, from, to, amount, observe).await;
    let reads_done = *reads_done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match (outcome, reads_done) {
        (Ok(applied), _) => ctx.recorder.complete(pending, json!(applied)),
        (Err(error), Some(read)) if error.is_unknown() => {
            let known = json!({"read_by": read, "applies_after": read});
            ctx.recorder.unknown_with(pending, &error.to_string(), known)
        }
        // A definite failure, or an unknown read before any commit: nothing changed.
        (Err(_), _) => ctx.recorder.complete(pending, json!(false)),
    }
}
