//! [`ApplyCounters`]: how many puts, deletes, ranges and txns this member has applied since it
//! started, counted as etcd's mvcc metrics count them (`etcd_mvcc_put_total`,
//! `etcd_mvcc_delete_total`, `etcd_mvcc_txn_total`; ranges are counted only as far as they pass
//! through the log, in txns and their compares, which is what decides whether a write is a txn).
//!
//! etcd counts the operations each write transaction performs: a put or a delete request is one
//! operation; a txn counts every operation of the branch it took (nested txns included) and is
//! itself a txn only when it performed more than one (its compares are reads of the store, so a
//! compare counts as a range); a lease revoke deletes each attached key with its own delete.
//! Refused commands performed nothing and count nothing.
//!
//! Invariants: the counters only grow, and they are this process's own, like etcd's
//! (Prometheus) counters: they are not replicated, not in snapshots, and a snapshot install
//! leaves them as they were. They never influence what is applied.

use super::command::{Command, Response};
use crate::api::{RequestOp, ResponseOp, TxnRequest, TxnResponse};
use crate::error::Error;
use crate::kv::Event;

/// Operations applied by this member since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyCounters {
    pub puts: u64,
    pub deletes: u64,
    pub ranges: u64,
    pub txns: u64,
}

/// The operations one write performed.
#[derive(Default)]
struct Operations {
    puts: u64,
    deletes: u64,
    ranges: u64,
}

impl ApplyCounters {
    /// Counts what applying `command` performed, given its outcome and its events.
    pub fn count(
        &mut self,
        command: &Command,
        outcome: &Result<Response, Error>,
        events: &[Event],
    ) {
        let Ok(response) = outcome else { return };
        let mut ops = Operations::default();
        match (command.unwrapped(), response) {
            (Command::Put(_), Response::Put(_)) => ops.puts = 1,
            (Command::DeleteRange(_), Response::DeleteRange(_)) => ops.deletes = 1,
            (Command::Range(_), Response::Range(_)) => ops.ranges = 1,
            (Command::Txn(request), Response::Txn(answer)) => add_txn(&mut ops, request, answer),
            (Command::LeaseRevoke(_), Response::LeaseRevoke(_)) => {
                ops.deletes = events.len() as u64
            }
            _ => {}
        }
        self.puts += ops.puts;
        self.deletes += ops.deletes;
        self.ranges += ops.ranges;
        if ops.puts + ops.deletes + ops.ranges > 1 {
            self.txns += 1;
        }
    }
}

/// A txn's compares and the operations of the branch it took, nested txns included (each
/// answer in `responses` belongs to the request operation at the same place in that branch).
fn add_txn(ops: &mut Operations, request: &TxnRequest, answer: &TxnResponse) {
    ops.ranges += request.compare.len() as u64;
    let branch = if answer.succeeded { &request.success } else { &request.failure };
    for (op, response) in branch.iter().zip(&answer.responses) {
        match (op, response) {
            (_, ResponseOp::Put(_)) => ops.puts += 1,
            (_, ResponseOp::DeleteRange(_)) => ops.deletes += 1,
            (_, ResponseOp::Range(_)) => ops.ranges += 1,
            (RequestOp::Txn(nested_request), ResponseOp::Txn(nested)) => {
                add_txn(ops, nested_request, nested)
            }
            (_, ResponseOp::Txn(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        Compare, CompareResult, CompareTarget, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
        PutResponse, RangeRequest, RangeResponse,
    };

    fn counted(steps: &[(Command, Result<Response, Error>, usize)]) -> ApplyCounters {
        let mut counters = ApplyCounters::default();
        for (command, outcome, events) in steps {
            let deleted = Event {
                kind: crate::kv::EventType::Delete,
                kv: crate::kv::KeyValue::default(),
                prev_kv: None,
            };
            let events = vec![deleted; *events];
            counters.count(command, outcome, &events);
        }
        counters
    }

    fn compare() -> Compare {
        Compare {
            key: b"k".to_vec(),
            range_end: Vec::new(),
            target: CompareTarget::Version(0),
            result: CompareResult::Equal,
        }
    }

    #[test]
    fn a_put_and_a_delete_are_one_operation_each_and_no_txn() {
        let counters = counted(&[
            (Command::Put(PutRequest::default()), Ok(Response::Put(PutResponse::default())), 1),
            (
                Command::DeleteRange(DeleteRangeRequest::default()),
                Ok(Response::DeleteRange(DeleteRangeResponse::default())),
                0,
            ),
        ]);
        assert_eq!(counters, ApplyCounters { puts: 1, deletes: 1, ranges: 0, txns: 0 });
    }

    #[test]
    fn a_refused_command_counts_nothing() {
        let counters =
            counted(&[(Command::Put(PutRequest::default()), Err(Error::LeaseNotFound), 0)]);
        assert_eq!(counters, ApplyCounters::default());
    }

    #[test]
    fn a_txn_counts_its_compares_and_the_taken_branch_including_nested_txns() {
        let nested_txn = TxnRequest {
            compare: vec![compare()],
            failure: vec![RequestOp::DeleteRange(DeleteRangeRequest::default())],
            ..TxnRequest::default()
        };
        let txn = TxnRequest {
            compare: vec![compare()],
            success: vec![
                RequestOp::Put(PutRequest::default()),
                RequestOp::Range(RangeRequest::default()),
                RequestOp::Txn(nested_txn),
            ],
            // Not taken: counts nothing.
            failure: vec![RequestOp::Put(PutRequest::default())],
        };
        let nested = TxnResponse {
            succeeded: false,
            responses: vec![ResponseOp::DeleteRange(DeleteRangeResponse::default())],
            ..TxnResponse::default()
        };
        let answer = TxnResponse {
            succeeded: true,
            responses: vec![
                ResponseOp::Put(PutResponse::default()),
                ResponseOp::Range(RangeResponse::default()),
                ResponseOp::Txn(nested),
            ],
            ..TxnResponse::default()
        };
        let counters = counted(&[(Command::Txn(txn), Ok(Response::Txn(answer)), 2)]);
        assert_eq!(counters, ApplyCounters { puts: 1, deletes: 1, ranges: 3, txns: 1 });
    }

    #[test]
    fn a_txn_of_one_operation_is_not_counted_as_a_txn() {
        let txn = TxnRequest {
            success: vec![RequestOp::Put(PutRequest::default())],
            ..TxnRequest::default()
        };
        let answer = TxnResponse {
            succeeded: true,
            responses: vec![ResponseOp::Put(PutResponse::default())],
            ..TxnResponse::default()
        };
        let counters = counted(&[(Command::Txn(txn), Ok(Response::Txn(answer)), 1)]);
        assert_eq!(counters, ApplyCounters { puts: 1, deletes: 0, ranges: 0, txns: 0 });
    }

    #[test]
    fn a_lease_revoke_deletes_each_attached_key() {
        let revoke = crate::api::LeaseRevokeRequest::default();
        let answer = crate::api::LeaseRevokeResponse::default();
        let counters =
            counted(&[(Command::LeaseRevoke(revoke), Ok(Response::LeaseRevoke(answer)), 3)]);
        assert_eq!(counters.deletes, 3);
    }
}
