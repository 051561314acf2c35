//! etcd's HTTP/JSON gateway on the client port: etcd 3.4's grpc-gateway routes under `/v3/...`
//! (`curl -X POST http://127.0.0.1:2379/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'`), and the
//! same routes under `/v3beta/...` and `/v3alpha/...`, as etcd 3.4 serves them.
//!
//! Every route decodes the body into the gRPC request message, calls the very gRPC service the
//! gRPC port serves, and encodes its answer (see `json` for the dialect): the gateway adds no
//! behaviour of its own. Streaming calls (`watch`, `lease/keepalive`, `election/observe`) answer
//! with one `{"result":..}` line per message; a streaming request body holds the request
//! messages one after another (with `curl -d`, all of them at once). A token from
//! `/v3/auth/authenticate` comes back in the `Authorization` header, as etcd's gateway takes it,
//! and reaches the service as the `token` metadata a gRPC client sends.

mod json;
mod stream;
mod streams;

use crate::services::*;
use axum::body::Bytes;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use axum::Router;
use detcd_core::member::Member;
use detcd_proto::etcdserverpb::auth_server::Auth;
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

/// A unary route: body -> request message (with the `Authorization` header as its `token`)
/// -> `call` -> JSON answer or the gateway's error.
fn unary<Req, Resp, F, Fut>(call: F) -> MethodRouter
where
    Req: DeserializeOwned + Default + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(tonic::Request<Req>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>> + Send + 'static,
{
    post(move |headers: HeaderMap, body: Bytes| {
        let call = call.clone();
        let request = json::decode::<Req>(&body).map(|message| with_token(message, &headers));
        async move { respond(request, call).await }
    })
}

/// `message` as a gRPC request carrying the HTTP request's `Authorization` header as `token`.
pub(crate) fn with_token<T>(message: T, headers: &HeaderMap) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let token = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(value) = token.and_then(|t| t.parse().ok()) {
        request.metadata_mut().insert("token", value);
    }
    request
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
            async move { service.$method(request).await }
        })
    }};
}

/// The gateway's routes; `token` is `--initial-cluster-token` (member ids derive from it),
/// `data_dir` the directory whose size `/v3/maintenance/status` reports, as the gRPC one does.
/// `max_streams`: how many gateway calls may be in progress at once (`streams`).
pub fn router(member: Member, token: String, data_dir: &str, max_streams: u32) -> Router {
    let kv = Arc::new(KvService::new(member.clone()));
    let lease = Arc::new(LeaseService::new(member.clone()));
    let cluster = Arc::new(ClusterService::new(member.clone(), token));
    let maintenance = Arc::new(MaintenanceService::new(member.clone()).with_data_dir(data_dir));
    let lock = Arc::new(LockService::new(member.clone()));
    let election = Arc::new(ElectionService::new(member.clone()));
    let auth = Arc::new(AuthService::new(member.clone()));
    let api = Router::new()
        .route("/kv/range", rpc!(kv, range))
        .route("/kv/put", rpc!(kv, put))
        .route("/kv/deleterange", rpc!(kv, delete_range))
        .route("/kv/txn", rpc!(kv, txn))
        .route("/kv/compaction", rpc!(kv, compact))
        .route("/watch", stream::watch(member.clone()))
        .route("/lease/grant", rpc!(lease, lease_grant))
        .route("/lease/revoke", rpc!(lease, lease_revoke))
        .route("/kv/lease/revoke", rpc!(lease, lease_revoke))
        .route("/lease/keepalive", stream::keep_alive(member.clone()))
        .route("/lease/timetolive", rpc!(lease, lease_time_to_live))
        .route("/kv/lease/timetolive", rpc!(lease, lease_time_to_live))
        .route("/lease/leases", rpc!(lease, lease_leases))
        .route("/kv/lease/leases", rpc!(lease, lease_leases))
        .route("/cluster/member/add", rpc!(cluster, member_add))
        .route("/cluster/member/remove", rpc!(cluster, member_remove))
        .route("/cluster/member/update", rpc!(cluster, member_update))
        .route("/cluster/member/list", rpc!(cluster, member_list))
        .route("/cluster/member/promote", rpc!(cluster, member_promote))
        .route("/maintenance/alarm", rpc!(maintenance, alarm))
        .route("/maintenance/status", rpc!(maintenance, status))
        .route("/maintenance/defragment", rpc!(maintenance, defragment))
        // etcd binds Hash and HashKV to the same path; grpc-gateway keeps the later, HashKV.
        .route("/maintenance/hash", rpc!(maintenance, hash_kv))
        .route("/maintenance/downgrade", rpc!(maintenance, downgrade))
        .route("/lock/lock", rpc!(lock, lock))
        .route("/lock/unlock", rpc!(lock, unlock))
        .route("/election/campaign", rpc!(election, campaign))
        .route("/election/proclaim", rpc!(election, proclaim))
        .route("/election/leader", rpc!(election, leader))
        .route("/election/resign", rpc!(election, resign))
        .route("/election/observe", stream::observe(election))
        .route("/auth/enable", rpc!(auth, auth_enable))
        .route("/auth/disable", rpc!(auth, auth_disable))
        .route("/auth/status", rpc!(auth, auth_status))
        .route("/auth/authenticate", rpc!(auth, authenticate))
        .route("/auth/user/add", rpc!(auth, user_add))
        .route("/auth/user/get", rpc!(auth, user_get))
        .route("/auth/user/list", rpc!(auth, user_list))
        .route("/auth/user/delete", rpc!(auth, user_delete))
        .route("/auth/user/changepw", rpc!(auth, user_change_password))
        .route("/auth/user/grant", rpc!(auth, user_grant_role))
        .route("/auth/user/revoke", rpc!(auth, user_revoke_role))
        .route("/auth/role/add", rpc!(auth, role_add))
        .route("/auth/role/get", rpc!(auth, role_get))
        .route("/auth/role/list", rpc!(auth, role_list))
        .route("/auth/role/delete", rpc!(auth, role_delete))
        .route("/auth/role/grant", rpc!(auth, role_grant_permission))
        .route("/auth/role/revoke", rpc!(auth, role_revoke_permission));
    // etcd 3.4 serves the same gateway under the prefixes of its earlier releases too, and tools
    // written for 3.3 (etcd 3.4's own e2e tests among them) call `/v3beta`.
    let streams = streams::budget(max_streams);
    let api = api.layer(axum::middleware::from_fn_with_state(streams, streams::one_stream));
    Router::new().nest("/v3", api.clone()).nest("/v3beta", api.clone()).nest("/v3alpha", api)
}
