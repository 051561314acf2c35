//! etcd's Lock service (`v3lockpb`, what `etcdctl lock` reaches through the gRPC gateway and any
//! client can call): the server holds a lock for the caller's lease and answers with the key
//! that stands for it. The recipe runs on the member, so these calls test the server's recipe,
//! where `detcd_core::recipes::Mutex` over this client tests the same recipe client-side.
//!
//! Both calls write (a lock creates a key, an unlock deletes one), so they go to one endpoint
//! and are never resent after an unknown outcome; a refused call moves on as every call does.

use super::{GrpcClient, GrpcResult};
use crate::convert::header_from_proto;
use crate::v3lockpb::lock_client::LockClient;
use crate::v3lockpb::{LockRequest, UnlockRequest};
use detcd_core::kv::ResponseHeader;

/// The Lock service's answer: the key that stands for the lock while the lease lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockGranted {
    pub header: ResponseHeader,
    pub key: Vec<u8>,
}

impl GrpcClient {
    /// Waits until the lock `name` is held for `lease` (etcd's `Lock`).
    pub async fn lock(&self, name: &[u8], lease: i64) -> GrpcResult<LockGranted> {
        let request = LockRequest { name: name.to_vec(), lease };
        let response = self
            .call(false, |channel| {
                let request = request.clone();
                async move { LockClient::new(channel).lock(request).await }
            })
            .await?
            .into_inner();
        Ok(LockGranted { header: header_from_proto(response.header), key: response.key })
    }

    /// Gives the lock up by deleting its key (etcd's `Unlock`).
    pub async fn unlock(&self, key: &[u8]) -> GrpcResult<ResponseHeader> {
        let request = UnlockRequest { key: key.to_vec() };
        let response = self
            .call(false, |channel| {
                let request = request.clone();
                async move { LockClient::new(channel).unlock(request).await }
            })
            .await?
            .into_inner();
        Ok(header_from_proto(response.header))
    }
}
