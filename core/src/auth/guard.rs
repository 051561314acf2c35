//! The permission check of a key-space command, run in apply for the caller the command carries
//! (etcd's `authApplierV3`): Range needs read on its range; Put needs write on its key (read
//! too with `prev_kv`), and write on every key already attached to the lease it names (a user
//! who cannot revoke a lease may not attach to it); DeleteRange needs write (and read with
//! `prev_kv`); a Txn needs read on every compare and the rights of every operation of both
//! branches, nested txns included, whichever branch runs; LeaseRevoke needs write on every key
//! attached. Compact, LeaseGrant and Noop need nothing (etcd 3.4 checks none); the state
//! machine picks the check for each command (`apply::state_machine`).

use super::info::AuthInfo;
use super::permission::PermissionType::{Read, Write};
use super::store::AuthStore;
use crate::api::{DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest};
use crate::error::Result;
use crate::kv::LeaseId;
use crate::lease::Lessor;
use crate::plant::{self, Bug};

impl AuthStore {
    /// Each check is etcd's for that request (see the module docs); all pass when auth is off.
    pub fn check_range(&self, info: &AuthInfo, r: &RangeRequest) -> Result<()> {
        self.check(info, Read, &r.key, &r.range_end)
    }

    pub fn check_put(&self, info: &AuthInfo, r: &PutRequest, lessor: &Lessor) -> Result<()> {
        self.check(info, Write, &r.key, &[])?;
        self.check_lease_keys(info, r.lease, lessor)?;
        if r.prev_kv {
            self.check(info, Read, &r.key, &[])?;
        }
        Ok(())
    }

    pub fn check_delete(&self, info: &AuthInfo, r: &DeleteRangeRequest) -> Result<()> {
        self.check(info, Write, &r.key, &r.range_end)?;
        if r.prev_kv {
            self.check(info, Read, &r.key, &r.range_end)?;
        }
        Ok(())
    }

    pub fn check_txn(&self, info: &AuthInfo, txn: &TxnRequest, lessor: &Lessor) -> Result<()> {
        for compare in &txn.compare {
            self.check(info, Read, &compare.key, &compare.range_end)?;
        }
        // The planted `txn-else-unchecked` leaves the else-branch out.
        let failure = if plant::active(Bug::TxnElseUnchecked) { &[][..] } else { &txn.failure };
        for op in txn.success.iter().chain(failure) {
            match op {
                RequestOp::Range(r) => self.check_range(info, r)?,
                RequestOp::Put(r) => self.check_put(info, r, lessor)?,
                RequestOp::DeleteRange(r) => self.check_delete(info, r)?,
                RequestOp::Txn(t) => self.check_txn(info, t, lessor)?,
            }
        }
        Ok(())
    }

    pub fn check_lease_keys(&self, info: &AuthInfo, lease: LeaseId, lessor: &Lessor) -> Result<()> {
        let Some(lease) = lessor.lookup(lease) else { return Ok(()) };
        for key in &lease.keys {
            self.check(info, Write, key, &[])?;
        }
        Ok(())
    }
}
