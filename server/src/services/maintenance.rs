//! etcd's `Maintenance` service: Status, HashKV, Alarm (never any alarms), Defragment (nothing to
//! defragment: succeeds), Snapshot (the member's state as a detcd snapshot file). Hash and
//! MoveLeader answer `Unimplemented`.

use super::{header_now, serve};
use crate::status::{mismatched, unimplemented};
use detcd_core::member::{ClientRequest as Q, ClientResponse as A, Member};
use detcd_proto::convert::{hash_kv_response_to_proto, header_to_proto, status_response_to_proto};
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::maintenance_server::Maintenance;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Bytes per snapshot message (etcd sends 32 KiB).
const SNAPSHOT_CHUNK: usize = 32 * 1024;

/// The etcd version detcd reports: the API level it serves, which clients use to pick features.
pub const ETCD_VERSION: &str = "3.4.23";

pub struct MaintenanceService {
    member: Member,
}

impl MaintenanceService {
    pub fn new(member: Member) -> Self {
        MaintenanceService { member }
    }
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(
        &self,
        _request: Request<pb::AlarmRequest>,
    ) -> Result<Response<pb::AlarmResponse>, Status> {
        let header = header_to_proto(header_now(&self.member));
        Ok(Response::new(pb::AlarmResponse { header, alarms: Vec::new() }))
    }

    async fn status(
        &self,
        _request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let header = header_now(&self.member);
        let status = self.member.status();
        Ok(Response::new(status_response_to_proto(header, status, ETCD_VERSION)))
    }

    async fn defragment(
        &self,
        _request: Request<pb::DefragmentRequest>,
    ) -> Result<Response<pb::DefragmentResponse>, Status> {
        let header = header_to_proto(header_now(&self.member));
        Ok(Response::new(pb::DefragmentResponse { header }))
    }

    /// etcd's Hash covers its whole bbolt backend, which detcd does not have.
    async fn hash(
        &self,
        _request: Request<pb::HashRequest>,
    ) -> Result<Response<pb::HashResponse>, Status> {
        Err(unimplemented("Maintenance.Hash (use HashKV)"))
    }

    async fn hash_kv(
        &self,
        request: Request<pb::HashKvRequest>,
    ) -> Result<Response<pb::HashKvResponse>, Status> {
        let revision = request.into_inner().revision;
        match serve(&self.member, Q::HashKv { revision }).await? {
            A::HashKv { hash, compact_revision, revision } => {
                let mut header = header_now(&self.member);
                header.revision = revision;
                Ok(Response::new(hash_kv_response_to_proto(header, hash, compact_revision)))
            }
            _ => Err(mismatched("HashKV")),
        }
    }

    type SnapshotStream = Pin<Box<dyn Stream<Item = Result<pb::SnapshotResponse, Status>> + Send>>;

    /// The member's state now as a snapshot file (archive + sha256 trailer, see `snapshot`), in
    /// chunks as etcd sends them; `etcdctl snapshot save` writes the chunks to its file.
    async fn snapshot(
        &self,
        _request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        let file = crate::snapshot::seal(self.member.archive());
        let header = super::proto_header(&self.member);
        let total = file.len();
        let chunks: Vec<Result<pb::SnapshotResponse, Status>> = file
            .chunks(SNAPSHOT_CHUNK)
            .enumerate()
            .map(|(i, blob)| {
                let sent = (i * SNAPSHOT_CHUNK + blob.len()) as u64;
                Ok(pb::SnapshotResponse {
                    header,
                    remaining_bytes: total as u64 - sent,
                    blob: blob.to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn move_leader(
        &self,
        _request: Request<pb::MoveLeaderRequest>,
    ) -> Result<Response<pb::MoveLeaderResponse>, Status> {
        Err(unimplemented("Maintenance.MoveLeader"))
    }
}
