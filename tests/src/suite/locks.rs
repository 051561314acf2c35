//! Mutex and RWMutex: exclusion, FIFO hand-over, try-lock, and fencing with the holder's
//! create revision, as etcd's `concurrency.Mutex` behaves.

use super::support::*;
use detcd_core::recipes::{Mutex, RecipeError, RwMutex};
use detcd_proto::client::GrpcClient;

pub async fn mutex_excludes_queues_and_fences(client: GrpcClient) {
    let (one, two) = (session(&client).await, session(&client).await);
    let mut first = Mutex::new(&one, "suite-mutex").expect("valid prefix");
    first.lock().await.expect("free lock");
    // etcd names the own key `<prefix>/<lease id in hex>` (what `etcdctl lock` prints).
    let first_key = format!("suite-mutex/{:x}", one.lease());
    assert_eq!(first.key(), first_key.as_bytes());
    let first_token = first.revision();
    assert!(first_token > 0);

    let mut second = Mutex::new(&two, "suite-mutex").expect("valid prefix");
    let mut waiter = spawn(async move { second.lock().await.map(|()| second) });
    assert_blocked(&mut waiter, "a second lock while the first is held").await;

    // The holder's guard lets its writes through; the fenced resource sees its token.
    let first_guard = first.is_owner();
    assert!(guarded_put(&client, first_guard.clone(), "suite-mutex-resource", "one").await);

    first.unlock().await.expect("unlock");
    let second = finishes(waiter, "the waiting lock").await.expect("lock after unlock");
    assert!(second.revision() > first_token, "fencing tokens must increase");
    assert!(
        !guarded_put(&client, first_guard, "suite-mutex-resource", "stale").await,
        "a former holder's guarded write went through"
    );
    assert!(guarded_put(&client, second.is_owner(), "suite-mutex-resource", "two").await);
    assert_eq!(value_of(&client, "suite-mutex-resource").await.as_deref(), Some("two"));
    let _ = (one.close().await, two.close().await);
    assert_eq!(keys_under(&client, "suite-mutex/").await, Vec::<String>::new());
}

pub async fn try_lock_fails_at_once_and_leaves_no_key(client: GrpcClient) {
    let (one, two) = (session(&client).await, session(&client).await);
    let mut holder = Mutex::new(&one, "suite-trylock").expect("valid prefix");
    holder.try_lock().await.expect("try-lock on a free mutex");
    let mut other = Mutex::new(&two, "suite-trylock").expect("valid prefix");
    let refused = other.try_lock().await;
    assert_eq!(refused, Err(RecipeError::Locked));
    assert_eq!(RecipeError::Locked.to_string(), "mutex: Locked by another session");
    let holder_key = format!("suite-trylock/{:x}", one.lease());
    assert_eq!(keys_under(&client, "suite-trylock/").await, vec![holder_key]);
    holder.unlock().await.expect("unlock");
    other.try_lock().await.expect("try-lock once free");
    assert_eq!(other.unlock().await, Ok(()));
    assert!(matches!(other.unlock().await, Err(RecipeError::NotHeld(_))));
    let _ = (one.close().await, two.close().await);
}

pub async fn rwmutex_shares_reads_and_keeps_fifo_order(client: GrpcClient) {
    let sessions = [
        session(&client).await,
        session(&client).await,
        session(&client).await,
        session(&client).await,
    ];
    let rw = |i: usize| RwMutex::new(&sessions[i], "suite-rw").expect("valid prefix");
    let (mut reader1, mut reader2) = (rw(0), rw(1));
    reader1.read_lock().await.expect("first reader");
    reader2.read_lock().await.expect("readers share");

    let mut writer = rw(2);
    let mut writing = spawn(async move { writer.write_lock().await.map(|_| writer) });
    assert_blocked(&mut writing, "a writer behind readers").await;
    // A reader arriving after a waiting writer queues behind it: no overtaking.
    let mut reader4 = rw(3);
    let mut late_read = spawn(async move { reader4.read_lock().await.map(|_| reader4) });
    assert_blocked(&mut late_read, "a reader behind a waiting writer").await;

    reader1.unlock().await.expect("unlock reader 1");
    assert_blocked(&mut writing, "a writer while one reader remains").await;
    reader2.unlock().await.expect("unlock reader 2");
    let mut writer = finishes(writing, "the writer").await.expect("write lock");
    assert_blocked(&mut late_read, "a reader while the writer holds").await;
    writer.unlock().await.expect("unlock writer");
    let mut reader4 = finishes(late_read, "the late reader").await.expect("read lock");
    reader4.unlock().await.expect("unlock reader 4");
    for session in &sessions {
        let _ = session.close().await;
    }
}
