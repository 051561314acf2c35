//! Queue and PriorityQueue: FIFO order, priority order with FIFO inside one priority, etcd's key
//! format, and a dequeue on an empty queue that blocks until something is enqueued.

use super::support::*;
use detcd_core::recipes::{PriorityQueue, Queue};
use detcd_proto::client::GrpcClient;

fn text(value: Vec<u8>) -> String {
    String::from_utf8(value).expect("utf-8 value")
}

pub async fn queue_is_fifo_and_dequeue_blocks_until_a_value(client: GrpcClient) {
    let queue = Queue::new(&client, "suite-queue").expect("valid prefix");
    for value in ["a", "b", "c"] {
        queue.enqueue(value).await.expect("enqueue");
    }
    for expected in ["a", "b", "c"] {
        assert_eq!(text(queue.dequeue().await.expect("dequeue")), expected);
    }
    assert_eq!(keys_under(&client, "suite-queue/").await, Vec::<String>::new());

    let mut waiting = spawn(async move { queue.dequeue().await.map(text) });
    assert_blocked(&mut waiting, "a dequeue on an empty queue").await;
    let producer = Queue::new(&client, "suite-queue").expect("valid prefix");
    producer.enqueue("late").await.expect("enqueue");
    let value = finishes(waiting, "the blocked dequeue").await.expect("dequeue");
    assert_eq!(value, "late");
}

pub async fn priority_queue_orders_by_priority_then_fifo(client: GrpcClient) {
    let queue = PriorityQueue::new(&client, "suite-pq").expect("valid prefix");
    let first_key = queue.enqueue("x", 5).await.expect("enqueue");
    assert_eq!(text(first_key), "suite-pq/00005/0000000000000000");
    for (value, priority) in [("y", 1), ("z", 5), ("w", 3)] {
        queue.enqueue(value, priority).await.expect("enqueue");
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(text(queue.dequeue().await.expect("dequeue")));
    }
    assert_eq!(order, ["y", "w", "x", "z"]);
}
