//! `--auto-tls` and `--peer-auto-tls`: a self-signed certificate made at start-up, as etcd does.
//!
//! As in etcd, the pair lives under the data directory (`fixtures/client`, `fixtures/peer`) and a
//! pair already there is used again, so a restarted member keeps its certificate. Its names are
//! the hosts of the listen URLs plus `localhost` and `127.0.0.1`. Nobody can verify such a
//! certificate, so peers using it accept each other's without verification (etcd's behaviour).

use super::files::FlagFile;
use std::fs;
use std::path::Path;

/// The certificate and key files for `flag`, made under `dir` if they are not there yet.
pub fn self_signed(
    flag: &'static str,
    dir: &Path,
    hosts: &[String],
) -> Result<(FlagFile, FlagFile), String> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let files = |c: &Path, k: &Path| {
        (FlagFile::new(flag, &c.to_string_lossy()), FlagFile::new(flag, &k.to_string_lossy()))
    };
    if cert.is_file() && key.is_file() {
        return Ok(files(&cert, &key));
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{flag}: {what}: {e}");
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    for host in hosts {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| fail("cannot make a self-signed certificate", &e))?;
    fs::create_dir_all(dir).map_err(|e| fail(&format!("cannot create {}", dir.display()), &e))?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())
        .map_err(|e| fail(&format!("cannot write {}", key.display()), &e))?;
    fs::write(&cert, made.cert.pem())
        .map_err(|e| fail(&format!("cannot write {}", cert.display()), &e))?;
    Ok(files(&cert, &key))
}

/// Writes a key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
