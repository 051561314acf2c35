//! Barrier and DoubleBarrier: waiters block until the barrier is released; `count` participants
//! enter together and leave together, leaving no keys behind.

use super::support::*;
use detcd_core::recipes::{Barrier, DoubleBarrier, RecipeError};
use detcd_proto::client::GrpcClient;

pub async fn barrier_blocks_waiters_until_released(client: GrpcClient) {
    let barrier = Barrier::new(&client, "suite-barrier").expect("valid key");
    barrier.wait().await.expect("an absent barrier lets everyone through");
    barrier.hold().await.expect("hold");
    assert_eq!(barrier.hold().await, Err(RecipeError::KeyExists));

    let waiter = Barrier::new(&client, "suite-barrier").expect("valid key");
    let mut waiting = spawn(async move { waiter.wait().await });
    assert_blocked(&mut waiting, "a wait on a held barrier").await;
    barrier.release().await.expect("release");
    finishes(waiting, "the barrier wait").await.expect("wait after release");
}

pub async fn double_barrier_enters_and_leaves_together(client: GrpcClient) {
    const COUNT: usize = 3;
    let mut sessions = Vec::new();
    for _ in 0..COUNT {
        sessions.push(session(&client).await);
    }
    let barrier = |i: usize| DoubleBarrier::new(&sessions[i], "suite-db", COUNT).expect("valid");

    let mut entering = Vec::new();
    for i in 0..COUNT - 1 {
        let mut participant = barrier(i);
        entering.push(spawn(async move { participant.enter().await.map(|()| participant) }));
    }
    for task in &mut entering {
        assert_blocked(task, "an enter before the count is reached").await;
    }
    let mut last = barrier(COUNT - 1);
    last.enter().await.expect("the last participant enters");
    let mut inside = vec![last];
    for task in entering {
        inside.push(finishes(task, "an enter").await.expect("enter"));
    }

    let mut last = inside.pop().expect("participants");
    let mut leaving: Vec<_> = inside
        .into_iter()
        .map(|mut participant| spawn(async move { participant.leave().await }))
        .collect();
    for task in &mut leaving {
        assert_blocked(task, "a leave before everyone leaves").await;
    }
    last.leave().await.expect("the last participant leaves");
    for task in leaving {
        finishes(task, "a leave").await.expect("leave");
    }
    assert_eq!(keys_under(&client, "suite-db/").await, Vec::<String>::new());
    for session in &sessions {
        let _ = session.close().await;
    }
}
