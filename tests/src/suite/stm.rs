//! STM: the seed's bank transfer under concurrent, conflicting transactions at each
//! serializable isolation level keeps the total; a transfer without funds changes nothing.

use super::support::*;
use detcd_core::client::ops;
use detcd_core::recipes::stm::{self, Isolation};
use detcd_proto::client::GrpcClient;

const ACCOUNTS: [&str; 4] = ["suite-bank/a", "suite-bank/b", "suite-bank/c", "suite-bank/d"];
const INITIAL: i64 = 100;
const TRANSFERS_PER_CLIENT: usize = 8;

pub async fn bank_transfers_keep_the_sum(client: GrpcClient) {
    for account in ACCOUNTS {
        client.put(ops::put(account.as_bytes(), INITIAL.to_string().as_bytes(), 0)).await.unwrap();
    }
    let isolations =
        [Isolation::SerializableSnapshot, Isolation::Serializable, Isolation::RepeatableReads];
    let clients: Vec<_> = isolations
        .into_iter()
        .enumerate()
        .map(|(me, isolation)| spawn(transfers(client.clone(), me, isolation)))
        .collect();
    let mut moved = 0;
    for task in clients {
        moved += finishes(task, "a transferring client").await;
    }
    assert!(moved > 0, "no transfer went through");
    assert_eq!(total(&client).await, INITIAL * ACCOUNTS.len() as i64, "money created or lost");

    let broke = stm::transfer(&client, Isolation::default(), ACCOUNTS[0], ACCOUNTS[1], 1_000_000);
    assert_eq!(broke.await, Ok(false), "a transfer beyond the balance must refuse");
    assert_eq!(total(&client).await, INITIAL * ACCOUNTS.len() as i64);
}

/// Transfers between every pair of accounts in a pattern that makes the clients conflict.
async fn transfers(client: GrpcClient, me: usize, isolation: Isolation) -> usize {
    let mut done = 0;
    for round in 0..TRANSFERS_PER_CLIENT {
        let from = ACCOUNTS[(me + round) % ACCOUNTS.len()];
        let to = ACCOUNTS[(me + round + 1) % ACCOUNTS.len()];
        let amount = 1 + ((me * 7 + round * 3) % 20) as i64;
        let moved = stm::transfer(&client, isolation, from, to, amount).await;
        done += moved.expect("transfer") as usize;
    }
    done
}

async fn total(client: &GrpcClient) -> i64 {
    let response = client.range(ops::get_prefix(b"suite-bank/")).await.expect("balances");
    let balance = |value: &[u8]| -> i64 {
        std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()).expect("decimal balance")
    };
    response.kvs.iter().map(|kv| balance(&kv.value)).sum()
}
