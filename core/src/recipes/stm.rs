//! STM: software transactional memory over etcd (etcd's `concurrency.STM`).
//!
//! A transaction is a closure that reads and writes through an [`Stm`]. Reads go to the cluster
//! (and are remembered); writes are buffered. At the end everything commits as one txn whose
//! compares check that what was read is still what the cluster has; if not, the closure runs
//! again from scratch on fresh reads. Isolation levels, strongest first:
//!
//! - `SerializableSnapshot` (default): every read is at the revision of the first read (one
//!   snapshot); commit requires the read keys unchanged *and* the written keys not modified after
//!   that snapshot, so even write-write conflicts on unread keys retry.
//! - `Serializable`: reads at one snapshot; commit requires the read keys unchanged.
//! - `RepeatableReads`: each key is read once (later reads come from the read set); commit
//!   requires the read keys unchanged.
//! - `ReadCommitted`: every read goes to the cluster; commit checks nothing.
//!
//! A commit whose outcome is unknown is returned as unknown: the closure's effects may or may not
//! be in the store, and resending them could apply them twice. Reads are resent freely.

use super::error::{RecipeError, RecipeResult};
use super::retry;
use crate::api::{Compare, CompareResult, CompareTarget, RequestOp, TxnRequest};
use crate::client::{ops, Client};
use crate::kv::KeyValue;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// How many conflicting attempts a transaction gets before `run` gives up.
pub const MAX_ATTEMPTS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    #[default]
    SerializableSnapshot,
    Serializable,
    RepeatableReads,
    ReadCommitted,
}

/// One attempt's view: the read set, the write set, and the snapshot revision.
pub struct Stm<C: Client> {
    client: C,
    isolation: Isolation,
    /// Each read key with what it held (None = absent) when first read.
    reads: ReadSet,
    /// Buffered writes; None = delete.
    writes: WriteSet,
    snapshot: Option<i64>,
}

/// Each read key with what it held (None = absent) when first read.
type ReadSet = BTreeMap<Vec<u8>, Option<KeyValue>>;
/// Buffered writes; None = delete.
type WriteSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

pub type StmFuture<'a, T> = Pin<Box<dyn Future<Output = RecipeResult<T>> + Send + 'a>>;

impl<C: Client> Stm<C> {
    fn new(client: &C, isolation: Isolation) -> Self {
        Stm {
            client: client.clone(),
            isolation,
            reads: BTreeMap::new(),
            writes: BTreeMap::new(),
            snapshot: None,
        }
    }

    /// The key's value as this transaction sees it (its own writes first).
    pub async fn get(&mut self, key: impl AsRef<[u8]>) -> RecipeResult<Option<Vec<u8>>> {
        let key = key.as_ref();
        if let Some(written) = self.writes.get(key) {
            return Ok(written.clone());
        }
        if self.isolation != Isolation::ReadCommitted {
            if let Some(read) = self.reads.get(key) {
                return Ok(read.as_ref().map(|kv| kv.value.clone()));
            }
        }
        let kv = self.fetch(key).await?;
        let value = kv.as_ref().map(|kv| kv.value.clone());
        self.reads.entry(key.to_vec()).or_insert(kv);
        Ok(value)
    }

    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.writes.insert(key.as_ref().to_vec(), Some(value.as_ref().to_vec()));
    }

    pub fn delete(&mut self, key: impl AsRef<[u8]>) {
        self.writes.insert(key.as_ref().to_vec(), None);
    }

    /// The mod revision the key had when this transaction first read it (0 = absent / unread).
    pub fn revision(&self, key: impl AsRef<[u8]>) -> i64 {
        self.reads.get(key.as_ref()).and_then(|kv| kv.as_ref()).map_or(0, |kv| kv.mod_revision)
    }

    async fn fetch(&mut self, key: &[u8]) -> RecipeResult<Option<KeyValue>> {
        let mut request = ops::get(key);
        let snapshot_reads =
            matches!(self.isolation, Isolation::SerializableSnapshot | Isolation::Serializable);
        if snapshot_reads {
            request.revision = self.snapshot.unwrap_or(0);
        }
        let client = &self.client;
        let response = retry::idempotent(|| client.range(request.clone())).await?;
        if snapshot_reads && self.snapshot.is_none() {
            self.snapshot = Some(response.header.revision);
        }
        Ok(response.kvs.into_iter().next())
    }
}

/// The commit of one attempt: guards by isolation level, then every buffered write.
fn commit_request(
    isolation: Isolation,
    reads: &ReadSet,
    writes: &WriteSet,
    snapshot: Option<i64>,
) -> TxnRequest {
    let mut compare: Vec<Compare> = Vec::new();
    if isolation != Isolation::ReadCommitted {
        for (key, kv) in reads {
            let seen = kv.as_ref().map_or(0, |kv| kv.mod_revision);
            compare.push(ops::compare(key, CompareTarget::Mod(seen), CompareResult::Equal));
        }
    }
    if let (Isolation::SerializableSnapshot, Some(snapshot)) = (isolation, snapshot) {
        for key in writes.keys().filter(|key| !reads.contains_key(*key)) {
            let newer = CompareTarget::Mod(snapshot + 1);
            compare.push(ops::compare(key, newer, CompareResult::Less));
        }
    }
    let success = writes.iter().map(|(key, write)| match write {
        Some(value) => RequestOp::Put(ops::put(key, value, 0)),
        None => RequestOp::DeleteRange(ops::delete(key)),
    });
    TxnRequest { compare, success: success.collect(), failure: vec![] }
}

/// Runs `apply` as a transaction at `isolation`, retrying on conflict; returns its result.
pub async fn run<C, T, F>(client: &C, isolation: Isolation, mut apply: F) -> RecipeResult<T>
where
    C: Client,
    F: for<'a> FnMut(&'a mut Stm<C>) -> StmFuture<'a, T>,
{
    for _ in 0..MAX_ATTEMPTS {
        let mut stm = Stm::new(client, isolation);
        let result = apply(&mut stm).await?;
        if stm.writes.is_empty() && isolation == Isolation::ReadCommitted {
            return Ok(result);
        }
        let txn = commit_request(isolation, &stm.reads, &stm.writes, stm.snapshot);
        if retry::once(|| client.txn(txn.clone())).await?.succeeded {
            return Ok(result);
        }
    }
    Err(RecipeError::TooManyConflicts(MAX_ATTEMPTS))
}

/// The seed's bank transfer: move `amount` from one account (a key holding a decimal balance)
/// to another, atomically; false (and no change) when `from` has less than `amount`.
pub async fn transfer<C: Client>(
    client: &C,
    isolation: Isolation,
    from: &str,
    to: &str,
    amount: i64,
) -> RecipeResult<bool> {
    transfer_observed(client, isolation, from, to, amount, Arc::new(|_| {})).await
}

/// Where a transfer's attempt is, as [`transfer_observed`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// An attempt begins: it reads the balances (again, after a conflict).
    Reading,
    /// The attempt has read both balances; its commit, if any, comes next.
    Read,
}

/// [`transfer`], telling `observe` where each attempt is: a caller whose transfer ends with an
/// unknown outcome learns whether the last attempt got as far as committing (`Read`), and so
/// from when the transfer can have taken effect, or failed in its reads (`Reading`: every
/// earlier attempt certainly failed on a conflict, so nothing was applied).
pub async fn transfer_observed<C: Client>(
    client: &C,
    isolation: Isolation,
    from: &str,
    to: &str,
    amount: i64,
    observe: Arc<dyn Fn(Attempt) + Send + Sync>,
) -> RecipeResult<bool> {
    let (from, to) = (from.to_string(), to.to_string());
    run(client, isolation, move |stm| {
        let (from, to, observe) = (from.clone(), to.clone(), observe.clone());
        Box::pin(async move {
            observe(Attempt::Reading);
            let source = balance(stm.get(&from).await?)?;
            let target = balance(stm.get(&to).await?)?;
            observe(Attempt::Read);
            if source < amount {
                return Ok(false);
            }
            stm.put(&from, (source - amount).to_string());
            stm.put(&to, (target + amount).to_string());
            Ok(true)
        })
    })
    .await
}

/// A balance as stored: a decimal number; an absent account holds 0.
fn balance(value: Option<Vec<u8>>) -> RecipeResult<i64> {
    let Some(value) = value else { return Ok(0) };
    let parsed = std::str::from_utf8(&value).ok().and_then(|s| s.parse::<i64>().ok());
    parsed.ok_or(RecipeError::InvalidArgument { what: "balance", why: "not a decimal number" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, mod_revision: i64) -> KeyValue {
        KeyValue {
            key: key.into(),
            mod_revision,
            create_revision: 1,
            version: 1,
            ..Default::default()
        }
    }

    /// Read `a` (at mod 5) and `missing` (absent); write `a` and the unread `b`.
    fn attempt() -> (ReadSet, WriteSet) {
        let reads = [(b"a".to_vec(), Some(kv("a", 5))), (b"missing".to_vec(), None)].into();
        let writes = [(b"a".to_vec(), Some(b"1".to_vec())), (b"b".to_vec(), None)].into();
        (reads, writes)
    }

    fn guards(isolation: Isolation) -> Vec<(String, CompareTarget, CompareResult)> {
        let (reads, writes) = attempt();
        let txn = commit_request(isolation, &reads, &writes, Some(7));
        assert_eq!(txn.success.len(), 2, "every write commits");
        let key = |c: &Compare| String::from_utf8(c.key.clone()).unwrap();
        txn.compare.iter().map(|c| (key(c), c.target.clone(), c.result)).collect()
    }

    #[test]
    fn read_committed_checks_nothing() {
        assert!(guards(Isolation::ReadCommitted).is_empty());
    }

    #[test]
    fn repeatable_and_serializable_reads_check_the_read_set() {
        let expected = vec![
            ("a".to_string(), CompareTarget::Mod(5), CompareResult::Equal),
            ("missing".to_string(), CompareTarget::Mod(0), CompareResult::Equal),
        ];
        assert_eq!(guards(Isolation::RepeatableReads), expected);
        assert_eq!(guards(Isolation::Serializable), expected);
    }

    #[test]
    fn serializable_snapshot_also_checks_unread_writes_against_the_snapshot() {
        let guards = guards(Isolation::SerializableSnapshot);
        assert_eq!(guards.len(), 3);
        assert_eq!(guards[2], ("b".to_string(), CompareTarget::Mod(8), CompareResult::Less));
    }

    #[test]
    fn balances_are_decimal_and_absent_accounts_are_empty() {
        assert_eq!(balance(None).unwrap(), 0);
        assert_eq!(balance(Some(b"42".to_vec())).unwrap(), 42);
        assert!(balance(Some(b"x".to_vec())).is_err());
    }
}
