//! Client-side concurrency recipes over the [`Client`](crate::client::Client) trait: etcd's
//! `clientv3/concurrency` (Session, Mutex, RWMutex... Election, STM) and `contrib/recipes`
//! (Queue, PriorityQueue, Barrier, DoubleBarrier), written once for every transport.
//!
//! Shared rules, each explained where it is used:
//! - Keys a session owns are named after its lease and created idempotently (`own_key`), so an
//!   unknown outcome is resolved by resending, and a key is released only if it is still the
//!   incarnation this call created.
//! - Waiting is a resumable watch (`wait`): broken streams reopen from the next revision.
//! - Only reads and guarded, idempotent writes are resent after an unknown outcome (`retry`);
//!   anything else reports the unknown outcome to the caller.
//! - Every future is cancel-safe: dropping it leaves no key that blocks others beyond the life of
//!   the session's lease, and waiting recipes delete their key when dropped.

mod error;
mod own_key;
mod retry;
pub mod wait;

pub mod barrier;
pub mod double_barrier;
pub mod election;
pub mod mutex;
pub mod priority_queue;
pub mod queue;
pub mod rwmutex;
pub mod session;
pub mod stm;

pub use barrier::Barrier;
pub use double_barrier::DoubleBarrier;
pub use election::{Election, Observer};
pub use error::{RecipeError, RecipeResult};
pub use mutex::{Locker, Mutex};
pub use priority_queue::PriorityQueue;
pub use queue::Queue;
pub use rwmutex::RwMutex;
pub use session::{Session, DEFAULT_TTL};
pub use stm::{Isolation, Stm};
