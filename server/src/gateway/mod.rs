//! etcd's HTTP/JSON gateway on the client port: etcd 3.4's grpc-gateway routes under `/v3/...`
//! (`curl -X POST http://127.0.0.1:2379/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'`).
//!
//! Every route decodes the body into the gRPC request message, calls the very gRPC service the
//! gRPC port serves, and encodes its answer (see `json` for the dialect): the gateway adds no
//! behaviour of its own. Streaming calls (`watch`, `lease/keepalive`, `election/observe`) answer
//! with one `{"result":..}` line per message; a streaming request body holds the request
//! messages one after another (with `curl -d`, all of them at once).

mod json;
mod stream;

use crate::services::*;
use axum::body::Bytes;
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use axum::Router;
use detcd_core::member::Member;
use detcd_proto::etcdserverpb::cluster_server::Cluster;
use detcd_proto::etcdserverpb::kv_server::Kv;
use detcd_proto::etcdserverpb::lease_server::Lease;
use detcd_proto::etcdserverpb::maintenance_server::Maintenance;
use detcd_proto::v3electionpb::election_server::Election;
use detcd_proto::v3lockpb::lock_server::Lock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use tonic::Status;

/// A unary route: body -> request message -> `call` -> JSON answer or the gateway's error.
fn unary<Req, Resp, F, Fut>(call: F) -> MethodRouter
where
    Req: DeserializeOwned + Default + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>> + Send + 'static,
{
    post(move |body: Bytes| {
        let call = call.clone();
        async move { respond(json::decode::<Req>(&body), call).await }
    })
}

async fn respond<Req, Resp, Fut>(
    request: Result<Req, Status>,
    call: impl FnOnce(Req) -> Fut,
) -> Response
where
    Resp: Serialize,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
{
    let answered = match request {
        Ok(request) => call(request).await,
        Err(status) => Err(status),
    };
    match answered {
        Ok(response) => json::answer(response.get_ref()),
        Err(status) => json::failure(&status),
    }
}

/// The unary route of `$service.$method`.
macro_rules! rpc {
    ($service:expr, $method:ident) => {{
        let service = $service.clone();
        unary(move |request| {
            let service = service.clone();
            async move { service.$method(tonic::Request::new(request)).await }
        })
    }};
}

/// The gateway's routes; `token` is `--initial-cluster-token` (member ids derive from it),
/// `data_dir` the directory whose size `/v3/maintenance/status` reports, as the gRPC one does.
pub fn router(member: Member, token: String, data_dir: &str) -> Router {
    let kv = Arc::new(KvService::new(member.clone()));
    let lease = Arc::new(LeaseService::new(member.clone()));
    let cluster = Arc::new(ClusterService::new(member.clone(), token));
    let maintenance = Arc::new(MaintenanceService::new(member.clone()).with_data_dir(data_dir));
    let lock = Arc::new(LockService::new(member.clone()));
    let election = Arc::new(ElectionService::new(member.clone()));
    Router::new()
        .route("/v3/kv/range", rpc!(kv, range))
        .route("/v3/kv/put", rpc!(kv, put))
        .route("/v3/kv/deleterange", rpc!(kv, delete_range))
        .route("/v3/kv/txn", rpc!(kv, txn))
        .route("/v3/kv/compaction", rpc!(kv, compact))
        .route("/v3/watch", stream::watch(member.clone()))
        .route("/v3/lease/grant", rpc!(lease, lease_grant))
        .route("/v3/lease/revoke", rpc!(lease, lease_revoke))
        .route("/v3/kv/lease/revoke", rpc!(lease, lease_revoke))
        .route("/v3/lease/keepalive", stream::keep_alive(member.clone()))
        .route("/v3/lease/timetolive", rpc!(lease, lease_time_to_live))
        .route("/v3/kv/lease/timetolive", rpc!(lease, lease_time_to_live))
        .route("/v3/lease/leases", rpc!(lease, lease_leases))
        .route("/v3/kv/lease/leases", rpc!(lease, lease_leases))
        .route("/v3/cluster/member/add", rpc!(cluster, member_add))
        .route("/v3/cluster/member/remove", rpc!(cluster, member_remove))
        .route("/v3/cluster/member/update", rpc!(cluster, member_update))
        .route("/v3/cluster/member/list", rpc!(cluster, member_list))
        .route("/v3/cluster/member/promote", rpc!(cluster, member_promote))
        .route("/v3/maintenance/alarm", rpc!(maintenance, alarm))
        .route("/v3/maintenance/status", rpc!(maintenance, status))
        .route("/v3/maintenance/defragment", rpc!(maintenance, defragment))
        // etcd binds Hash and HashKV to the same path; grpc-gateway keeps the later, HashKV.
        .route("/v3/maintenance/hash", rpc!(maintenance, hash_kv))
        .route("/v3/lock/lock", rpc!(lock, lock))
        .route("/v3/lock/unlock", rpc!(lock, unlock))
        .route("/v3/election/campaign", rpc!(election, campaign))
        .route("/v3/election/proclaim", rpc!(election, proclaim))
        .route("/v3/election/leader", rpc!(election, leader))
        .route("/v3/election/resign", rpc!(election, resign))
        .route("/v3/election/observe", stream::observe(election))
}
