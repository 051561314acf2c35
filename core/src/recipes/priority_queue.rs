//! PriorityQueue: a queue whose values come out lowest priority number first, FIFO within one
//! priority (etcd's `recipe.PriorityQueue`).
//!
//! Keys: `prefix/<priority, 5 digits>/<sequence, 16 digits>`, e.g.
//! `test_queue/00005/0000000000000000`. Zero-padding makes key order = (priority, sequence) order,
//! so dequeue is the plain queue's "take the first key under the prefix", with the same
//! receipt-guarded claim; enqueue is the plain queue's sequential create under the priority's own
//! directory. Unknown outcomes are handled as in `queue`.

use super::error::RecipeResult;
use super::mutex::directory;
use super::queue::{dequeue_first, enqueue_sequential};
use crate::client::Client;

/// The lowest and the highest priority number a key can hold (5 digits).
pub const MAX_PRIORITY: u32 = 99_999;

pub struct PriorityQueue<C: Client> {
    client: C,
    prefix: Vec<u8>,
}

impl<C: Client> PriorityQueue<C> {
    pub fn new(client: &C, prefix: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let prefix = directory(prefix.as_ref(), "priority queue prefix")?;
        Ok(PriorityQueue { client: client.clone(), prefix })
    }

    /// Adds `value` with `priority` (lower comes out first; at most `MAX_PRIORITY`). Returns its key.
    pub async fn enqueue(&self, value: impl AsRef<[u8]>, priority: u32) -> RecipeResult<Vec<u8>> {
        if priority > MAX_PRIORITY {
            return Err(super::RecipeError::InvalidArgument {
                what: "priority",
                why: "must fit in 5 digits (0..=99999)",
            });
        }
        let dir = self.priority_dir(priority);
        enqueue_sequential(&self.client, &dir, value.as_ref()).await
    }

    /// Takes the most urgent value, waiting while the queue is empty.
    pub async fn dequeue(&self) -> RecipeResult<Vec<u8>> {
        dequeue_first(&self.client, &self.prefix).await
    }

    fn priority_dir(&self, priority: u32) -> Vec<u8> {
        let mut dir = self.prefix.clone();
        dir.extend_from_slice(format!("{priority:05}/").as_bytes());
        dir
    }
}
