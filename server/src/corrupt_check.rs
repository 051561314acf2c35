//! `--experimental-initial-corrupt-check`: before a member serves clients it compares the hash of
//! its key space with each peer's, and refuses to start when they differ (etcd 3.4's
//! `CheckInitialHashKV`).
//!
//! As etcd: the hash is taken at this member's own revision and each peer is asked for its hash at
//! that revision; only a peer that answers with a different hash at the same compacted revision is
//! a mismatch. A peer that cannot answer (down, not ready yet, behind this member, or compacted
//! past it) or that compacted at another revision proves nothing and is logged, not counted, so a
//! fresh cluster whose members start one by one is never refused. etcd asks over the peer URLs;
//! detcd's peer protocol carries raft and forwarded requests only, so detcd asks the peers' client
//! URLs (published through raft) with `Maintenance.HashKV`. A peer with only `https` client URLs
//! is skipped with a warning: this check has no client TLS configuration to reach it with.

use detcd_core::member::Member;
use detcd_proto::client::GrpcClient;
use std::time::Duration;
use tracing::{info, warn};

/// How long a peer may take to answer: one that is still starting holds the connection unanswered
/// until it is ready, and start-up should not wait on it for long.
const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// The peers' hashes agree with this member's, or one of them proves they do not.
pub async fn initial_corrupt_check(member: &Member) -> Result<(), String> {
    let id = member.id();
    let (hash, compact_revision, revision) = match member.hash_kv(0) {
        Ok(local) => (local.hash, local.compact_revision, local.revision),
        Err(error) => return Err(format!("initial corruption check: local hash: {error}")),
    };
    info!(local_member_id = %format!("{id:x}"), revision, compact_revision, "starting initial corruption check");
    let mut mismatches = 0;
    for peer in member.member_list().into_iter().filter(|peer| peer.id != id) {
        let peer_id = format!("{:x}", peer.id);
        let urls: Vec<&str> = peer
            .info
            .client_urls
            .iter()
            .map(String::as_str)
            .filter(|url| !url.starts_with("https://"))
            .collect();
        if urls.is_empty() {
            if !peer.info.client_urls.is_empty() {
                warn!(%peer_id, "cannot fetch hash from remote peer: only https client URLs");
            }
            continue;
        }
        let answer = match GrpcClient::new(&urls) {
            Ok(client) => tokio::time::timeout(PEER_TIMEOUT, client.hash_kv(revision)).await,
            Err(error) => Ok(Err(error)),
        };
        let Ok(answer) = answer else {
            warn!(%peer_id, "cannot fetch hash from remote peer: no answer in time");
            continue;
        };
        match answer {
            Ok(theirs) if theirs.hash == hash => info!(%peer_id, revision, "peer's hash matches"),
            Ok(theirs) if theirs.compact_revision == compact_revision => {
                warn!(%peer_id, revision, local_hash = hash, remote_hash = theirs.hash, "found different hash values from remote peer");
                mismatches += 1;
            }
            Ok(theirs) => {
                warn!(%peer_id, local_compact_revision = compact_revision, remote_compact_revision = theirs.compact_revision, "found different compact revision values from remote peer");
            }
            Err(error) => warn!(%peer_id, %error, "cannot fetch hash from remote peer"),
        }
    }
    if mismatches > 0 {
        return Err(format!("{id:x} found data inconsistency with peers"));
    }
    info!(local_member_id = %format!("{id:x}"), "initial corruption checking passed; no corruption");
    Ok(())
}
