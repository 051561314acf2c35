//! Certificates for the TLS tests, made when a test runs (rcgen): no key is ever committed.
//!
//! A `Ca` writes its certificate as `<name>.pem` into a directory and issues leaves for
//! `127.0.0.1` and `localhost` with a chosen common name, written as `<file>.crt` and
//! `<file>.key` beside it: the files detcd's and etcdctl's TLS flags take.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};

/// A certificate authority writing into one directory.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
    name: String,
}

/// A certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA certificate");
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("write CA");
        Ca { issuer: Issuer::new(params, key), dir: dir.to_path_buf(), name: name.to_string() }
    }

    /// The CA certificate file (`--trusted-ca-file`, etcdctl's `--cacert`).
    pub fn cert(&self) -> String {
        self.path(&format!("{}.pem", self.name))
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    /// A leaf for `127.0.0.1`/`localhost` with common name `cn`, as `<file>.crt`/`<file>.key`.
    pub fn leaf(&self, file: &str, cn: &str) -> Pair {
        let key = KeyPair::generate().expect("leaf key");
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer).expect("leaf certificate");
        let pair = Pair {
            cert: self.path(&format!("{file}.crt")),
            key: self.path(&format!("{file}.key")),
        };
        std::fs::write(&pair.cert, cert.pem()).expect("write certificate");
        std::fs::write(&pair.key, key.serialize_pem()).expect("write key");
        pair
    }
}
