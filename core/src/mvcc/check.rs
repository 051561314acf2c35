//! Request checks that need no state: what etcd refuses before a request ever reaches raft.
//!
//! - an empty key anywhere (range, put, delete, compare) -> `EmptyKey`;
//! - `ignore_value` with a value -> `ValueProvided`, `ignore_lease` with a lease -> `LeaseProvided`;
//! - a txn level with more than `MAX_TXN_OPS` compares or ops in a branch -> `TooManyOps`; a
//!   nested txn gets what is left of the budget (etcd's `maxTxnOps - opc`);
//! - a key written twice in one branch -> `DuplicateKey`: two puts of one key, or a put inside a
//!   delete range, across nesting. Puts in the `success` and `failure` branch of one nested txn
//!   may share a key (only one branch runs), and delete ranges may overlap each other (etcd's
//!   `checkIntervals`). Like etcd's, the check does not compare an earlier nested txn's puts with
//!   a later nested txn's deletes, so one txn can put a key and then delete it; the store
//!   handles two changes of one key at one revision.

use crate::api::{Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest};
use crate::error::{Error, Result};
use crate::kv::KeyRange;
use std::collections::BTreeSet;

/// etcd's default `--max-txn-ops`.
pub const MAX_TXN_OPS: usize = 128;

pub fn check_range(r: &RangeRequest) -> Result<()> {
    non_empty(&r.key)
}

pub fn check_put(r: &PutRequest) -> Result<()> {
    non_empty(&r.key)?;
    if r.ignore_value && !r.value.is_empty() {
        return Err(Error::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(Error::LeaseProvided);
    }
    Ok(())
}

pub fn check_delete(r: &DeleteRangeRequest) -> Result<()> {
    non_empty(&r.key)
}

pub fn check_compare(c: &Compare) -> Result<()> {
    non_empty(&c.key)
}

/// Checks a whole txn: sizes, keys and duplicate writes in each branch.
pub fn check_txn(txn: &TxnRequest) -> Result<()> {
    check_txn_shape(txn, MAX_TXN_OPS)?;
    check_intervals(&txn.success)?;
    check_intervals(&txn.failure)?;
    Ok(())
}

fn check_txn_shape(txn: &TxnRequest, budget: usize) -> Result<()> {
    let ops = txn.compare.len().max(txn.success.len()).max(txn.failure.len());
    if ops > budget {
        return Err(Error::TooManyOps);
    }
    txn.compare.iter().try_for_each(check_compare)?;
    for op in txn.success.iter().chain(&txn.failure) {
        match op {
            RequestOp::Range(r) => check_range(r)?,
            RequestOp::Put(r) => check_put(r)?,
            RequestOp::DeleteRange(r) => check_delete(r)?,
            RequestOp::Txn(t) => check_txn_shape(t, budget - ops)?,
        }
    }
    Ok(())
}

/// The keys one branch puts and the ranges it deletes, for the duplicate check.
#[derive(Default)]
struct Writes {
    puts: BTreeSet<Vec<u8>>,
    deletes: Vec<KeyRange>,
}

impl Writes {
    fn deletes_cover(&self, key: &[u8]) -> bool {
        self.deletes.iter().any(|d| d.contains(key))
    }
}

fn check_intervals(ops: &[RequestOp]) -> Result<Writes> {
    let mut writes = Writes::default();
    for op in ops {
        if let RequestOp::DeleteRange(d) = op {
            writes.deletes.push(KeyRange { key: d.key.clone(), range_end: d.range_end.clone() });
        }
    }
    for op in ops {
        let RequestOp::Txn(txn) = op else { continue };
        let then = check_intervals(&txn.success)?;
        let otherwise = check_intervals(&txn.failure)?;
        for key in &then.puts {
            if writes.puts.contains(key) || writes.deletes_cover(key) {
                return Err(Error::DuplicateKey);
            }
            writes.puts.insert(key.clone());
        }
        for key in &otherwise.puts {
            let clash = writes.puts.contains(key) && !then.puts.contains(key);
            if clash || writes.deletes_cover(key) {
                return Err(Error::DuplicateKey);
            }
            writes.puts.insert(key.clone());
        }
        // Later children and this level's puts must also stay clear of these deletes.
        writes.deletes.extend(then.deletes);
        writes.deletes.extend(otherwise.deletes);
    }
    for op in ops {
        let RequestOp::Put(put) = op else { continue };
        if writes.puts.contains(&put.key) || writes.deletes_cover(&put.key) {
            return Err(Error::DuplicateKey);
        }
        writes.puts.insert(put.key.clone());
    }
    Ok(writes)
}

fn non_empty(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str) -> RequestOp {
        RequestOp::Put(PutRequest { key: key.into(), ..Default::default() })
    }

    fn del(key: &str, end: &str) -> RequestOp {
        RequestOp::DeleteRange(DeleteRangeRequest {
            key: key.into(),
            range_end: end.into(),
            prev_kv: false,
        })
    }

    fn nested(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> RequestOp {
        RequestOp::Txn(TxnRequest { compare: vec![], success, failure })
    }

    fn check(success: Vec<RequestOp>) -> Result<()> {
        check_txn(&TxnRequest { compare: vec![], success, failure: vec![] })
    }

    #[test]
    fn duplicate_writes_follow_etcds_check_intervals() {
        assert_eq!(check(vec![put("a"), put("a")]), Err(Error::DuplicateKey));
        assert_eq!(check(vec![del("a", "c"), put("b")]), Err(Error::DuplicateKey));
        assert_eq!(check(vec![put("b"), del("a", "c")]), Err(Error::DuplicateKey));
        // A delete in an earlier nested txn clashes with a put in a later one.
        let first = nested(vec![del("a", "c")], vec![]);
        assert_eq!(check(vec![first, nested(vec![put("b")], vec![])]), Err(Error::DuplicateKey));
        // then/else of one nested txn exclude each other; overlapping deletes are fine.
        assert_eq!(check(vec![nested(vec![put("a")], vec![put("a")])]), Ok(()));
        assert_eq!(check(vec![del("a", "c"), del("b", "d"), put("e")]), Ok(()));
        // ... but a put in the else branch still clashes with an earlier sibling's put.
        let sibling = nested(vec![put("a")], vec![]);
        assert_eq!(check(vec![sibling, nested(vec![], vec![put("a")])]), Err(Error::DuplicateKey));
        // etcd's hole, kept for compatibility: an earlier child's put is not checked against a
        // later child's delete.
        let later = nested(vec![del("a", "")], vec![]);
        assert_eq!(check(vec![nested(vec![put("a")], vec![]), later]), Ok(()));
        // The top-level branches are checked separately.
        let txn = TxnRequest { compare: vec![], success: vec![put("a")], failure: vec![put("a")] };
        assert_eq!(check_txn(&txn), Ok(()));
    }

    #[test]
    fn stateless_checks_refuse_malformed_ops() {
        let empty = RequestOp::Range(RangeRequest::default());
        assert_eq!(check(vec![empty]), Err(Error::EmptyKey));
        let value = PutRequest {
            key: "k".into(),
            value: "v".into(),
            ignore_value: true,
            ..Default::default()
        };
        assert_eq!(check(vec![RequestOp::Put(value)]), Err(Error::ValueProvided));
        let lease =
            PutRequest { key: "k".into(), lease: 3, ignore_lease: true, ..Default::default() };
        assert_eq!(check(vec![RequestOp::Put(lease)]), Err(Error::LeaseProvided));
    }
}
