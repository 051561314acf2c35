//! Puts, delete ranges and txns: the writes, each all-or-nothing at one new revision.
//!
//! Every write runs in three steps, so a refused one changes nothing:
//! 1. stateless checks ([`super::check`]);
//! 2. stateful checks against the store *before* the write: for a txn, first the branch taken at
//!    every nesting level (all compares, nested ones too, see the pre-txn state, as etcd's
//!    `compareToPath`), then the ops of that path: `ignore_value`/`ignore_lease` need the key to
//!    exist (`KeyNotFound`), a lease must exist (`LeaseNotFound`), a range's revision must be
//!    readable (`Compacted`/`FutureRevision`);
//! 3. the changes, which cannot fail, all at `revision + 1`; reads inside a txn after its first
//!    change see that change (etcd reads its own txn's writes).
//!
//! A write that changed nothing leaves the revision alone, and every change made is returned as
//! an [`Event`] with `prev_kv` filled, in the order applied.

use super::check::{check_delete, check_put, check_txn};
use super::store::{Store, Writer};
use crate::api::{
    Compare, CompareResult, CompareTarget, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RequestOp, ResponseOp, TxnRequest, TxnResponse,
};
use crate::error::{Error, Result};
use crate::kv::{Event, KeyRange, KeyValue, LeaseId, ResponseHeader};
use crate::plant::{self, Bug};
use std::cmp::Ordering;

/// What the store needs to know about leases to accept a put: whether one exists.
pub trait LeaseLookup {
    fn lease_exists(&self, lease: LeaseId) -> bool;
}

impl<F: Fn(LeaseId) -> bool> LeaseLookup for F {
    fn lease_exists(&self, lease: LeaseId) -> bool {
        self(lease)
    }
}

/// The branch a txn takes at every nesting level, decided before anything changes.
struct Path {
    succeeded: bool,
    /// One entry per nested txn of the taken branch, in op order.
    nested: Vec<Path>,
}

impl Store {
    /// Puts one key (etcd's `Put`).
    pub fn put(
        &mut self,
        request: &PutRequest,
        leases: &impl LeaseLookup,
    ) -> Result<(PutResponse, Vec<Event>)> {
        check_put(request)?;
        self.check_put_state(request, leases)?;
        let mut writer = self.writer();
        // A put makes exactly one event.
        writer.events.reserve_exact(1);
        let mut response = execute_put(&mut writer, request);
        let events = writer.finish();
        response.header.revision = self.revision;
        Ok((response, events))
    }

    /// Deletes every key of a range (etcd's `DeleteRange`).
    pub fn delete_range(
        &mut self,
        request: &DeleteRangeRequest,
    ) -> Result<(DeleteRangeResponse, Vec<Event>)> {
        check_delete(request)?;
        let mut writer = self.writer();
        let mut response = execute_delete(&mut writer, request);
        let events = writer.finish();
        response.header.revision = self.revision;
        Ok((response, events))
    }

    /// Runs a txn (etcd's `Txn`).
    pub fn txn(
        &mut self,
        request: &TxnRequest,
        leases: &impl LeaseLookup,
    ) -> Result<(TxnResponse, Vec<Event>)> {
        check_txn(request)?;
        let path = self.txn_path(request);
        self.check_txn_state(request, &path, leases)?;
        let mut writer = self.writer();
        let mut response = execute_txn(&mut writer, request, &path);
        let events = writer.finish();
        stamp_txn(&mut response, self.revision);
        Ok((response, events))
    }

    /// Deletes the given keys (those that exist) at one revision: a lease revoke.
    pub fn delete_keys(&mut self, keys: &[Vec<u8>]) -> Vec<Event> {
        let mut writer = self.writer();
        for key in keys {
            writer.delete(key);
        }
        writer.finish()
    }

    fn check_put_state(&self, request: &PutRequest, leases: &impl LeaseLookup) -> Result<()> {
        if (request.ignore_value || request.ignore_lease) && self.get(&request.key).is_none() {
            return Err(Error::KeyNotFound);
        }
        if request.lease != 0 && !leases.lease_exists(request.lease) {
            return Err(Error::LeaseNotFound);
        }
        Ok(())
    }

    fn txn_path(&self, txn: &TxnRequest) -> Path {
        let succeeded = txn.compare.iter().all(|c| self.compare_holds(c));
        let branch = if succeeded { &txn.success } else { &txn.failure };
        let nested = branch
            .iter()
            .filter_map(|op| match op {
                RequestOp::Txn(t) => Some(self.txn_path(t)),
                _ => None,
            })
            .collect();
        Path { succeeded, nested }
    }

    fn check_txn_state(
        &self,
        txn: &TxnRequest,
        path: &Path,
        leases: &impl LeaseLookup,
    ) -> Result<()> {
        let branch = if path.succeeded { &txn.success } else { &txn.failure };
        let mut nested = path.nested.iter();
        for op in branch {
            match op {
                RequestOp::Range(r) => self.check_read_revision(r.revision).map(|_| ())?,
                RequestOp::Put(r) => self.check_put_state(r, leases)?,
                RequestOp::DeleteRange(_) => {}
                RequestOp::Txn(t) => {
                    let Some(p) = nested.next() else { continue };
                    self.check_txn_state(t, p, leases)?;
                }
            }
        }
        Ok(())
    }

    /// Whether a compare holds now: for every key of its range, or - when the range holds no
    /// key - for a zero pair (a VALUE compare on nothing is false).
    pub(super) fn compare_holds(&self, compare: &Compare) -> bool {
        let range = KeyRange { key: compare.key.clone(), range_end: compare.range_end.clone() };
        let mut matched = false;
        for (key, version) in self.live_at(&range, self.revision) {
            matched = true;
            let kv = version.key_value(key).unwrap_or_default();
            if !compare_kv(compare, &kv) {
                return false;
            }
        }
        matched
            || !matches!(compare.target, CompareTarget::Value(_))
                && compare_kv(compare, &KeyValue::default())
    }
}

/// One compare against one pair.
pub fn compare_kv(compare: &Compare, kv: &KeyValue) -> bool {
    let ordering = match &compare.target {
        CompareTarget::Version(v) => kv.version.cmp(v),
        CompareTarget::Create(v) => kv.create_revision.cmp(v),
        CompareTarget::Mod(v) => kv.mod_revision.cmp(v),
        CompareTarget::Value(v) => kv.value.as_slice().cmp(v.as_slice()),
        CompareTarget::Lease(v) => kv.lease.cmp(v),
    };
    match compare.result {
        CompareResult::Equal => ordering == Ordering::Equal,
        CompareResult::NotEqual => ordering != Ordering::Equal,
        CompareResult::Greater => ordering == Ordering::Greater,
        CompareResult::Less => ordering == Ordering::Less,
    }
}

fn execute_put(writer: &mut Writer<'_>, request: &PutRequest) -> PutResponse {
    let (value, lease) = if request.ignore_value || request.ignore_lease {
        let current = writer.store.get(&request.key).unwrap_or_default();
        let value = if request.ignore_value { current.value } else { request.value.clone() };
        (value.into_boxed_slice(), if request.ignore_lease { current.lease } else { request.lease })
    } else {
        (request.value.as_slice().into(), request.lease)
    };
    let prev_kv = writer.put(&request.key, value, lease, request.prev_kv);
    PutResponse { header: ResponseHeader::default(), prev_kv }
}

fn execute_delete(writer: &mut Writer<'_>, request: &DeleteRangeRequest) -> DeleteRangeResponse {
    let range = KeyRange { key: request.key.clone(), range_end: request.range_end.clone() };
    let deleted = writer.delete_range(&range);
    DeleteRangeResponse {
        header: ResponseHeader::default(),
        deleted: deleted.len() as i64,
        prev_kvs: if request.prev_kv { deleted } else { Vec::new() },
    }
}

fn execute_txn(writer: &mut Writer<'_>, txn: &TxnRequest, path: &Path) -> TxnResponse {
    let branch = if path.succeeded { &txn.success } else { &txn.failure };
    let mut nested = path.nested.iter();
    let mut responses = Vec::with_capacity(branch.len());
    for op in branch {
        let response = match op {
            RequestOp::Range(r) => {
                let revision = if r.revision > 0 { r.revision } else { writer.read_revision() };
                ResponseOp::Range(writer.store.range_at(r, revision))
            }
            RequestOp::Put(_) if torn(writer) => ResponseOp::Put(PutResponse::default()),
            RequestOp::Put(r) => ResponseOp::Put(execute_put(writer, r)),
            RequestOp::DeleteRange(r) => ResponseOp::DeleteRange(execute_delete(writer, r)),
            RequestOp::Txn(t) => match nested.next() {
                Some(p) => ResponseOp::Txn(execute_txn(writer, t, p)),
                None => ResponseOp::Txn(TxnResponse::default()),
            },
        };
        responses.push(response);
    }
    TxnResponse { header: ResponseHeader::default(), succeeded: path.succeeded, responses }
}

/// The planted `torn-txn` bug: on every fourth revision, a txn's writes after its first are lost.
fn torn(writer: &Writer<'_>) -> bool {
    plant::active(Bug::TornTxn) && !writer.events.is_empty() && writer.revision % 4 == 0
}

/// Puts the final revision into the header of a txn response and of every response inside it.
fn stamp_txn(response: &mut TxnResponse, revision: i64) {
    response.header.revision = revision;
    for op in &mut response.responses {
        match op {
            ResponseOp::Range(r) => r.header.revision = revision,
            ResponseOp::Put(r) => r.header.revision = revision,
            ResponseOp::DeleteRange(r) => r.header.revision = revision,
            ResponseOp::Txn(t) => stamp_txn(t, revision),
        }
    }
}
