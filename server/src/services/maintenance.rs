//! etcd's `Maintenance` service: Status, HashKV, Alarm (through the log, `apply::alarm`),
//! Defragment (nothing to defragment: succeeds; compaction already freed the space the quota
//! counts, see `mvcc::size`), Snapshot (the member's state as a detcd snapshot file), MoveLeader
//! (`member::move_leader`), Hash (of the backend database a snapshot would hold), Downgrade
//! (`member::downgrade`).
//!
//! Status reports as its db size what etcd's stands for, the member's footprint on disk: here
//! the bytes under `--data-dir` (WAL segments and snapshots), read by the server since the core
//! does no real I/O. The MVCC keeps no live size estimate, so `db_size_in_use` is the same.

use super::call;
use crate::status::invalid;
use detcd_core::member::{HashKvRequest, Member, MoveLeaderRequest};
use detcd_proto::convert::{
    alarm_request_from_proto, alarm_response_to_proto, alarm_text, downgrade_request_from_proto,
    downgrade_response_to_proto, hash_kv_response_to_proto, header_to_proto,
    status_response_to_proto,
};
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::maintenance_server::Maintenance;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::debug;

/// Bytes per snapshot message (etcd sends 32 KiB).
const SNAPSHOT_CHUNK: usize = 32 * 1024;

pub use detcd_core::version::ETCD_VERSION;

pub struct MaintenanceService {
    member: Member,
    /// Where the member's files are; without it Status reports the core's snapshot size.
    data_dir: Option<Arc<Path>>,
}

impl MaintenanceService {
    pub fn new(member: Member) -> Self {
        MaintenanceService { member, data_dir: None }
    }

    /// The member's state now: its archive bytes and the state machine they hold (a copy, so
    /// the replica is locked only while the archive is taken). `call` names the method in errors.
    fn state_now(&self, call: &str) -> Result<(Vec<u8>, detcd_core::apply::StateMachine), Status> {
        let archive = self.member.archive();
        let machine = detcd_core::member::archive::decode(&archive)
            .map_err(|e| Status::internal(format!("{call}: {e}")))?
            .machine;
        Ok((archive, machine))
    }

    /// Status reports the bytes under `data_dir` as the db size.
    pub fn with_data_dir(self, data_dir: impl Into<PathBuf>) -> Self {
        MaintenanceService { data_dir: Some(Arc::from(data_dir.into())), ..self }
    }

    /// Bytes the member's files take under `--data-dir`, if it has one and it can be read.
    async fn disk_usage(&self) -> Option<i64> {
        let dir = self.data_dir.clone()?;
        let walked = tokio::task::spawn_blocking(move || bytes_under(&dir)).await;
        match walked {
            Ok(Ok(bytes)) => Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
            Ok(Err(error)) => {
                debug!(%error, "cannot measure the data directory");
                None
            }
            Err(error) => {
                debug!(%error, "measuring the data directory failed");
                None
            }
        }
    }
}

/// The sizes of the regular files under `dir`, in every subdirectory. Files and directories
/// that vanish while we walk (a WAL segment dropped after a snapshot) are not counted; only
/// `dir` itself must be readable.
fn bytes_under(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    let mut root = true;
    while let Some(next) = pending.pop() {
        let entries = match std::fs::read_dir(&next) {
            Ok(entries) => entries,
            Err(error) if root => return Err(error),
            Err(_) => continue,
        };
        root = false;
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else { continue };
            if metadata.is_dir() {
                pending.push(entry.path());
            } else if metadata.is_file() {
                total += metadata.len();
            }
        }
    }
    Ok(total)
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(
        &self,
        request: Request<pb::AlarmRequest>,
    ) -> Result<Response<pb::AlarmResponse>, Status> {
        let request = alarm_request_from_proto(request.into_inner()).map_err(invalid)?;
        let answer = call(&self.member, request).await?;
        Ok(Response::new(alarm_response_to_proto(answer)))
    }

    async fn status(
        &self,
        _request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let header = self.member.header_now();
        let status = self.member.status();
        let mut response = status_response_to_proto(header, status, ETCD_VERSION);
        response.errors.extend(self.member.alarms().into_iter().map(alarm_text));
        if let Some(bytes) = self.disk_usage().await {
            response.db_size = bytes;
            response.db_size_in_use = bytes;
        }
        Ok(Response::new(response))
    }

    async fn defragment(
        &self,
        request: Request<pb::DefragmentRequest>,
    ) -> Result<Response<pb::DefragmentResponse>, Status> {
        super::admin_only(&self.member, &request)?;
        let header = header_to_proto(self.member.header_now());
        Ok(Response::new(pb::DefragmentResponse { header }))
    }

    /// etcd's Hash: of the backend database this member's snapshot would be now
    /// (`snapshot::backend_hash`), at the member's current revision.
    async fn hash(
        &self,
        request: Request<pb::HashRequest>,
    ) -> Result<Response<pb::HashResponse>, Status> {
        super::admin_only(&self.member, &request)?;
        let (_, machine) = self.state_now("hash")?;
        let mut header = self.member.header_now();
        header.revision = machine.revision();
        let hash = crate::snapshot::backend_hash(&machine);
        Ok(Response::new(pb::HashResponse { header: header_to_proto(header), hash }))
    }

    async fn hash_kv(
        &self,
        request: Request<pb::HashKvRequest>,
    ) -> Result<Response<pb::HashKvResponse>, Status> {
        super::admin_only(&self.member, &request)?;
        let revision = request.into_inner().revision;
        let answer = call(&self.member, HashKvRequest { revision }).await?;
        let mut header = self.member.header_now();
        header.revision = answer.revision;
        Ok(Response::new(hash_kv_response_to_proto(
            header,
            answer.hash,
            answer.compact_revision,
            answer.revision,
        )))
    }

    type SnapshotStream = Pin<Box<dyn Stream<Item = Result<pb::SnapshotResponse, Status>> + Send>>;

    /// The member's state now as a snapshot file (archive + sha256 trailer, see `snapshot`), in
    /// chunks as etcd sends them; `etcdctl snapshot save` writes the chunks to its file.
    async fn snapshot(
        &self,
        request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        super::admin_only(&self.member, &request)?;
        let (archive, machine) = self.state_now("snapshot")?;
        let file = crate::snapshot::seal_database(&machine, archive);
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
        request: Request<pb::MoveLeaderRequest>,
    ) -> Result<Response<pb::MoveLeaderResponse>, Status> {
        let target_id = request.into_inner().target_id;
        let header = call(&self.member, MoveLeaderRequest { target_id }).await?;
        Ok(Response::new(pb::MoveLeaderResponse { header: header_to_proto(header) }))
    }

    /// etcd 3.5's Downgrade (validate / enable / cancel, `member::downgrade`); root only.
    async fn downgrade(
        &self,
        request: Request<pb::DowngradeRequest>,
    ) -> Result<Response<pb::DowngradeResponse>, Status> {
        let caller = super::caller_of(&request);
        let request = downgrade_request_from_proto(request.into_inner());
        let answer = super::call_as(&self.member, caller, request).await?;
        Ok(Response::new(downgrade_response_to_proto(answer)))
    }
}

#[cfg(test)]
mod tests {
    use super::bytes_under;
    use std::fs;

    #[test]
    fn bytes_under_counts_files_in_subdirectories() {
        let dir = std::env::temp_dir().join(format!("detcd-bytes-under-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("wal")).unwrap();
        fs::write(dir.join("wal").join("0.wal"), [0u8; 1000]).unwrap();
        fs::write(dir.join("snap"), [0u8; 24]).unwrap();
        let counted = bytes_under(&dir);
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(counted.unwrap(), 1024);
    }

    #[test]
    fn a_missing_data_dir_is_an_error() {
        assert!(bytes_under(std::path::Path::new("/nonexistent/detcd-data")).is_err());
    }
}
