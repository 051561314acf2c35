//! etcd's Election service (`v3electionpb`, what `etcdctl elect` reaches and any client can
//! call): the server campaigns for the caller's lease and answers with the key that stands for
//! its leadership, which `proclaim` and `resign` name again. The recipe runs on the member, so
//! these calls test the server's recipe, where `detcd_core::recipes::Election` over this client
//! tests the same recipe client-side.
//!
//! Every call writes (a campaign creates a key, a proclamation puts a value, a resignation
//! deletes the key), so each goes to one endpoint and is never resent after an unknown outcome.

use super::{GrpcClient, GrpcResult};
use crate::convert::header_from_proto;
use crate::v3electionpb::election_client::ElectionClient;
use crate::v3electionpb::{self as pb, CampaignRequest, ProclaimRequest, ResignRequest};
use detcd_core::kv::ResponseHeader;

/// A leadership won: the election's name, the leader's key, its create revision and lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderKey {
    pub name: Vec<u8>,
    pub key: Vec<u8>,
    pub rev: i64,
    pub lease: i64,
}

impl LeaderKey {
    fn to_proto(&self) -> pb::LeaderKey {
        pb::LeaderKey {
            name: self.name.clone(),
            key: self.key.clone(),
            rev: self.rev,
            lease: self.lease,
        }
    }
}

impl GrpcClient {
    /// Waits until `lease` leads the election `name`, announcing `value` (etcd's `Campaign`).
    pub async fn campaign(&self, name: &[u8], lease: i64, value: &[u8]) -> GrpcResult<LeaderKey> {
        let request = CampaignRequest { name: name.to_vec(), lease, value: value.to_vec() };
        let response = self
            .call(false, |channel| {
                let request = request.clone();
                async move { ElectionClient::new(channel).campaign(request).await }
            })
            .await?
            .into_inner();
        // A campaign answered without its key is no leadership anyone can name again.
        let leader = response.leader.unwrap_or_default();
        Ok(LeaderKey { name: leader.name, key: leader.key, rev: leader.rev, lease: leader.lease })
    }

    /// Announces `value` as the leader `leader` (etcd's `Proclaim`).
    pub async fn proclaim(&self, leader: &LeaderKey, value: &[u8]) -> GrpcResult<ResponseHeader> {
        let request = ProclaimRequest { leader: Some(leader.to_proto()), value: value.to_vec() };
        let response = self
            .call(false, |channel| {
                let request = request.clone();
                async move { ElectionClient::new(channel).proclaim(request).await }
            })
            .await?
            .into_inner();
        Ok(header_from_proto(response.header))
    }

    /// Gives the leadership `leader` up by deleting its key (etcd's `Resign`).
    pub async fn resign(&self, leader: &LeaderKey) -> GrpcResult<ResponseHeader> {
        let request = ResignRequest { leader: Some(leader.to_proto()) };
        let response = self
            .call(false, |channel| {
                let request = request.clone();
                async move { ElectionClient::new(channel).resign(request).await }
            })
            .await?
            .into_inner();
        Ok(header_from_proto(response.header))
    }
}
