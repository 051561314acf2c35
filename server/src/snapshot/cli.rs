//! `detcd snapshot status|restore`: etcdctl's offline snapshot commands for detcd's snapshot files.
//!
//! `status` prints the archive's hash, revision, key count and file size (`-w simple|table|json`,
//! as etcdctl). `restore` writes a new data directory that a `detcd` started with the same
//! `--name`, `--initial-cluster`, `--initial-cluster-token` and `--initial-advertise-peer-urls`
//! starts from: a new cluster holding the snapshot's keys. Both refuse a damaged file (sha256)
//! and `restore` refuses an existing data directory, each with a one-line reason.

use crate::flags::url_list;
use crate::identity::InitialCluster;
use clap::{Parser, Subcommand, ValueEnum};
use detcd_core::member::archive::{self, ArchiveStatus};
use detcd_core::storage::RealDisk;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "detcd snapshot", about = "Inspect and restore detcd snapshot files")]
pub struct SnapshotCli {
    #[command(subcommand)]
    command: SnapshotCommand,
}

#[derive(Subcommand, Debug)]
enum SnapshotCommand {
    /// Hash, revision, total keys and size of a snapshot file.
    Status {
        file: String,
        #[arg(short = 'w', long = "write-out", value_enum, default_value = "simple")]
        write_out: WriteOut,
    },
    /// A new data directory from a snapshot file.
    Restore {
        file: String,
        #[arg(long, default_value = "default")]
        name: String,
        /// Defaults to `<name>.detcd`, as the server's `--data-dir`.
        #[arg(long)]
        data_dir: Option<String>,
        #[arg(long, default_value = "default=http://localhost:2380")]
        initial_cluster: String,
        #[arg(long, default_value = "etcd-cluster")]
        initial_cluster_token: String,
        #[arg(long, default_value = "http://localhost:2380")]
        initial_advertise_peer_urls: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum WriteOut {
    Simple,
    Table,
    Json,
}

/// Runs `detcd snapshot ...` (`args` start at `snapshot`); `Err` is the one-line reason.
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), String> {
    // Usage errors and --help print clap's text and exit, as the server's flags do.
    let cli = SnapshotCli::try_parse_from(args).unwrap_or_else(|error| error.exit());
    match cli.command {
        SnapshotCommand::Status { file, write_out } => {
            let bytes = read(&file)?;
            let status = archive::decode(&super::open(&bytes)?)
                .and_then(|archive| archive.status())
                .map_err(|e| format!("{file}: {e}"))?;
            print!("{}", render(status, bytes.len() as u64, write_out));
            Ok(())
        }
        SnapshotCommand::Restore {
            file,
            name,
            data_dir,
            initial_cluster,
            initial_cluster_token,
            initial_advertise_peer_urls,
        } => {
            let data_dir = data_dir.unwrap_or_else(|| format!("{name}.detcd"));
            let cluster = InitialCluster::parse(&initial_cluster)?;
            check_member_listed(&cluster, &name, &initial_advertise_peer_urls)?;
            let bytes = read(&file)?;
            let archive = super::open(&bytes).map_err(|e| format!("{file}: {e}"))?;
            restore(&archive, &data_dir, cluster, &initial_cluster_token)?;
            println!("restored snapshot {file} into {data_dir} for member {name}");
            Ok(())
        }
    }
}

fn read(file: &str) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))
}

/// etcd's rule: the member restored must be in `--initial-cluster` with exactly its advertised
/// peer URLs.
fn check_member_listed(
    cluster: &InitialCluster,
    name: &str,
    advertised: &str,
) -> Result<(), String> {
    let mut listed = cluster.peers.get(name).cloned().unwrap_or_default();
    let mut advertised = url_list(advertised);
    listed.sort();
    advertised.sort();
    if listed != advertised {
        return Err(format!(
            "--initial-cluster has no member {name:?} with --initial-advertise-peer-urls {}",
            advertised.join(",")
        ));
    }
    Ok(())
}

fn restore(
    archive: &[u8],
    data_dir: &str,
    cluster: InitialCluster,
    token: &str,
) -> Result<(), String> {
    if std::path::Path::new(data_dir).exists() {
        return Err(format!("data-dir {data_dir:?} exists"));
    }
    let disk = RealDisk::open(data_dir).map_err(|e| format!("--data-dir {data_dir}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let restored = runtime.block_on(detcd_core::member::restore::restore(
        Arc::new(disk),
        archive,
        cluster.voters(token),
    ));
    if let Err(error) = restored {
        // Leave nothing half-written behind.
        let _ = std::fs::remove_dir_all(data_dir);
        return Err(error.to_string());
    }
    Ok(())
}

fn render(status: ArchiveStatus, size: u64, write_out: WriteOut) -> String {
    let ArchiveStatus { hash, revision, total_keys } = status;
    match write_out {
        WriteOut::Simple => format!("{hash:x}, {revision}, {total_keys}, {}\n", human_bytes(size)),
        WriteOut::Json => format!(
            "{{\"hash\":{hash},\"revision\":{revision},\"totalKey\":{total_keys},\"totalSize\":{size}}}\n"
        ),
        WriteOut::Table => table(
            &["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"],
            &[format!("{hash:x}"), revision.to_string(), total_keys.to_string(), human_bytes(size)],
        ),
    }
}

/// etcdctl's table: centred header, right-aligned cells.
fn table(header: &[&str], row: &[String]) -> String {
    let widths: Vec<usize> = header.iter().zip(row).map(|(h, c)| h.len().max(c.len())).collect();
    let rule: String =
        widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+\n";
    let head: String =
        header.iter().zip(&widths).map(|(h, w)| format!("| {h:^w$} ")).collect::<String>() + "|\n";
    let cells: String =
        row.iter().zip(&widths).map(|(c, w)| format!("| {c:>w$} ")).collect::<String>() + "|\n";
    format!("{rule}{head}{rule}{cells}{rule}")
}

/// Sizes as etcdctl prints them (go-humanize's SI bytes: `500 B`, `1.2 kB`, `2.1 MB`).
fn human_bytes(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if size < 10 {
        return format!("{size} B");
    }
    let exponent = ((size as f64).log10() / 3.0).floor() as usize;
    let exponent = exponent.min(UNITS.len() - 1);
    let value = (size as f64 / 1000f64.powi(exponent as i32) * 10.0 + 0.5).floor() / 10.0;
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[exponent])
    } else {
        format!("{value:.0} {}", UNITS[exponent])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_etcdctl() {
        assert_eq!(human_bytes(5), "5 B");
        assert_eq!(human_bytes(500), "500 B");
        assert_eq!(human_bytes(1234), "1.2 kB");
        assert_eq!(human_bytes(2_101_248), "2.1 MB");
        assert_eq!(human_bytes(20_480), "20 kB");
    }

    #[test]
    fn status_renders_simple_json_and_table() {
        let status = ArchiveStatus { hash: 0xfe01cf57, revision: 10, total_keys: 7 };
        assert_eq!(render(status, 2_101_248, WriteOut::Simple), "fe01cf57, 10, 7, 2.1 MB\n");
        assert_eq!(
            render(status, 5, WriteOut::Json),
            "{\"hash\":4261531479,\"revision\":10,\"totalKey\":7,\"totalSize\":5}\n"
        );
        let table = render(status, 2_101_248, WriteOut::Table);
        assert!(table.contains("|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |"), "{table}");
        assert!(table.contains("| fe01cf57 |       10 |          7 |     2.1 MB |"), "{table}");
    }
}
