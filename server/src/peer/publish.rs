//! Getting this member's client URLs into the replicated membership once it has started.
//!
//! The leader publishes directly (`Member::publish_client_urls`); any other member sends the same
//! request to the leader's peer `Publish` method. Retried until the membership shows the URLs, as
//! etcd retries its publish, because leaders change and peers start at different times.

use super::codec::{decode, encode};
use detcd_core::member::Member;
use detcd_core::Error;
use detcd_proto::detcdpeerpb::peer_client::PeerClient;
use detcd_proto::detcdpeerpb::PeerFrame;
use std::time::Duration;
use tracing::debug;

const RETRY: Duration = Duration::from_millis(100);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// Returns once the membership shows `client_urls` for this member.
pub async fn publish_until_done(member: &Member, client_urls: Vec<String>) {
    let id = member.id();
    while !member.is_published(id, &client_urls) {
        let attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, publish_once(member, &client_urls));
        match attempt.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => debug!(%error, "publish attempt failed"),
            Err(_) => debug!("publish attempt timed out"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn publish_once(member: &Member, client_urls: &[String]) -> Result<(), String> {
    let id = member.id();
    let leader = member.leader().ok_or("no leader yet")?;
    if leader == id {
        return member
            .publish_client_urls(id, client_urls.to_vec())
            .await
            .map_err(|e| e.to_string());
    }
    let leader_info =
        member.member_list().into_iter().find(|m| m.id == leader).ok_or("leader unknown")?;
    let url = leader_info.info.peer_urls.first().ok_or("leader has no peer URL")?.clone();
    let mut client = PeerClient::connect(url).await.map_err(|e| e.to_string())?;
    let payload = encode(&(id, client_urls.to_vec())).map_err(|e| e.to_string())?;
    let reply = client.publish(PeerFrame { payload }).await.map_err(|e| e.to_string())?;
    let outcome: Result<(), Error> =
        decode(&reply.into_inner().payload).map_err(|e| e.to_string())?;
    outcome.map_err(|e| e.to_string())
}
