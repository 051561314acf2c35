//! Getting this member's name and client URLs into the replicated membership once it has started.
//!
//! The leader publishes directly (`Member::publish_attributes`); any other member sends the same
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

/// Returns once the membership shows this member's name and `client_urls`.
pub async fn publish_until_done(member: &Member, client_urls: Vec<String>) {
    let id = member.id();
    let name = member.config().name.clone();
    while !member.is_published(id, &name, &client_urls) {
        let attempt =
            tokio::time::timeout(ATTEMPT_TIMEOUT, publish_once(member, &name, &client_urls));
        match attempt.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => debug!(%error, "publish attempt failed"),
            Err(_) => debug!("publish attempt timed out"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn publish_once(member: &Member, name: &str, client_urls: &[String]) -> Result<(), String> {
    let id = member.id();
    let leader = member.leader().ok_or("no leader yet")?;
    if leader == id {
        let published = member.publish_attributes(id, name.to_string(), client_urls.to_vec());
        return published.await.map_err(|e| e.to_string());
    }
    let attributes = (id, name.to_string(), client_urls.to_vec());
    let leader_info =
        member.member_list().into_iter().find(|m| m.id == leader).ok_or("leader unknown")?;
    let url = leader_info.info.peer_urls.first().ok_or("leader has no peer URL")?.clone();
    let mut client = PeerClient::connect(url).await.map_err(|e| e.to_string())?;
    let payload = encode(&attributes).map_err(|e| e.to_string())?;
    let reply = client.publish(PeerFrame { payload }).await.map_err(|e| e.to_string())?;
    let outcome: Result<(), Error> =
        decode(&reply.into_inner().payload).map_err(|e| e.to_string())?;
    outcome.map_err(|e| e.to_string())
}
