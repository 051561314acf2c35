//! Building TLS configurations from flags, and handshakes between them, in memory.
//!
//! Certificates are made here with rcgen (a CA, and leaves it signs, with a common name and
//! `127.0.0.1` as their address); handshakes run over an in-memory duplex pipe.

use super::accept::{Conn, ConnInfo};
use super::files::FlagFile;
use super::identity::ClientIdentity;
use super::policy::policy;
use super::reload::ReloadingKey;
use super::settings::{Side, TlsConfigs};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detcd-tls-unit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A CA that writes its certificate and the leaves it signs into a directory.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        // The CA's own key, for tests where a client presents the CA certificate itself.
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        Ca { issuer: Issuer::new(params, key), dir: dir.to_path_buf() }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    /// Writes `<file>.crt` and `<file>.key`: a leaf for `127.0.0.1` with common name `cn`.
    fn leaf(&self, file: &str, cn: &str) -> (String, String) {
        self.leaf_with_serial(file, cn, None)
    }

    /// As `leaf`, with the given serial number (rcgen draws one otherwise).
    fn leaf_with_serial(&self, file: &str, cn: &str, serial: Option<u64>) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.serial_number = serial.map(SerialNumber::from);
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (crt, pem) = (self.path(&format!("{file}.crt")), self.path(&format!("{file}.key")));
        std::fs::write(&crt, cert.pem()).unwrap();
        std::fs::write(&pem, key.serialize_pem()).unwrap();
        (crt, pem)
    }

    /// Writes `<file>` (DER): a revocation list of the given serial numbers, signed by this CA.
    fn revocation_list(&self, file: &str, serials: &[u64]) -> String {
        let revoked_certs = serials
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from(*serial),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect();
        let params = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let list = params.signed_by(&self.issuer).unwrap();
        let path = self.path(file);
        std::fs::write(&path, list.der()).unwrap();
        path
    }
}

fn client_side(cert: &str, key: &str, ca: Option<&str>) -> Side {
    Side {
        name: "client",
        cert_file: Some(cert.into()),
        key_file: Some(key.into()),
        trusted_ca_file: ca.map(String::from),
        client_cert_auth: ca.is_some(),
        auto_tls: false,
        allowed_cn: None,
        allowed_hostname: None,
        crl_file: None,
        flags: [
            "--cert-file",
            "--key-file",
            "--trusted-ca-file",
            "--client-cert-auth",
            "--auto-tls",
            "--client-crl-file",
        ],
    }
}

fn peer_side(cert: &str, key: &str, ca: &str, allowed_cn: Option<&str>) -> Side {
    Side {
        name: "peer",
        cert_file: Some(cert.into()),
        key_file: Some(key.into()),
        trusted_ca_file: Some(ca.into()),
        client_cert_auth: true,
        auto_tls: false,
        allowed_cn: allowed_cn.map(String::from),
        allowed_hostname: None,
        crl_file: None,
        flags: [
            "--peer-cert-file",
            "--peer-key-file",
            "--peer-trusted-ca-file",
            "--peer-client-cert-auth",
            "--peer-auto-tls",
            "--peer-crl-file",
        ],
    }
}

fn no_side(name: &'static str) -> Side {
    Side { name, flags: client_side("", "", None).flags, ..Side::default() }
}

fn build(client: &Side, peer: &Side, dir: &Path) -> Result<TlsConfigs, String> {
    TlsConfigs::build(client, peer, (None, None, None), dir, &[])
}

/// One handshake over an in-memory pipe; the server's result (with the client's identity) or
/// the first error of either end.
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> Result<Option<ClientIdentity>, String> {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let accept = tokio::spawn(async move { TlsAcceptor::from(server).accept(far).await });
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let connected = TlsConnector::from(client).connect(name, near).await;
    let accepted = accept.await.unwrap();
    let accepted = accepted.map_err(|e| format!("server: {e}"))?;
    connected.map_err(|e| format!("client: {e}"))?;
    let certs = accepted.get_ref().1.peer_certificates();
    let cn = certs.and_then(|c| c.first()).and_then(super::identity::common_name);
    Ok(cn.map(|common_name| ClientIdentity { common_name }))
}

#[test]
fn no_tls_flags_build_no_configuration() {
    let dir = scratch("none");
    let configs = build(&no_side("client"), &no_side("peer"), &dir).unwrap();
    assert!(configs.client.is_none() && configs.peer_server.is_none());
    assert!(configs.peer_client.is_none());
}

#[test]
fn a_missing_certificate_file_is_one_error_naming_the_flag_and_the_file() {
    let dir = scratch("missing");
    let ca = Ca::new(&dir, "ca");
    let (_, key) = ca.leaf("server", "server");
    let missing = ca.path("nope.crt");
    let error = build(&client_side(&missing, &key, None), &no_side("peer"), &dir).unwrap_err();
    assert!(error.starts_with(&format!("--cert-file {missing}: cannot read:")), "{error}");
    let error =
        build(&no_side("client"), &peer_side(&missing, &key, &missing, None), &dir).unwrap_err();
    assert!(
        error.starts_with(&format!("--peer-trusted-ca-file {missing}: cannot read")),
        "{error}"
    );
}

#[test]
fn files_without_pem_contents_are_refused_by_name() {
    let dir = scratch("garbage");
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf("server", "server");
    let garbage = ca.path("garbage");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let error = build(&client_side(&garbage, &key, None), &no_side("peer"), &dir).unwrap_err();
    assert_eq!(error, format!("--cert-file {garbage}: no PEM certificate in the file"));
    let error = build(&client_side(&cert, &garbage, None), &no_side("peer"), &dir).unwrap_err();
    assert_eq!(error, format!("--key-file {garbage}: no PEM private key in the file"));
    let error =
        build(&client_side(&cert, &key, Some(&garbage)), &no_side("peer"), &dir).unwrap_err();
    assert_eq!(error, format!("--trusted-ca-file {garbage}: no PEM certificate in the file"));
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let dir = scratch("mismatch");
    let ca = Ca::new(&dir, "ca");
    let (cert, _) = ca.leaf("one", "one");
    let (_, other_key) = ca.leaf("two", "two");
    let error = build(&client_side(&cert, &other_key, None), &no_side("peer"), &dir).unwrap_err();
    assert!(
        error.starts_with(&format!("--key-file {other_key} does not match --cert-file {cert}")),
        "{error}"
    );
}

#[test]
fn half_a_pair_and_client_auth_without_a_ca_are_refused() {
    let dir = scratch("half");
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf("server", "server");
    let mut side = client_side(&cert, &key, None);
    side.key_file = None;
    assert_eq!(build(&side, &no_side("peer"), &dir).unwrap_err(), "--cert-file needs --key-file");
    let mut side = client_side(&cert, &key, None);
    side.client_cert_auth = true;
    let error = build(&side, &no_side("peer"), &dir).unwrap_err();
    assert_eq!(error, "--client-cert-auth needs --trusted-ca-file");
}

#[test]
fn versions_and_cipher_suites_are_checked() {
    assert!(policy(None, None, None).unwrap().versions.len() == 2);
    assert_eq!(policy(None, Some("TLS1.3"), None).unwrap().versions.len(), 1);
    assert!(policy(None, Some("TLS1.1"), None).unwrap_err().contains("not supported"));
    assert!(policy(None, Some("tls12"), None).unwrap_err().contains("not a TLS version"));
    assert!(policy(None, Some("TLS1.3"), Some("TLS1.2")).is_err());
    let one = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    let chosen = policy(Some(one), None, None).unwrap();
    let names: Vec<String> =
        chosen.provider.cipher_suites.iter().map(|s| format!("{:?}", s.suite())).collect();
    assert!(names.iter().any(|n| n == one), "{names:?}");
    assert!(!names.iter().any(|n| n == "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"), "{names:?}");
    let chacha = policy(Some("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"), None, None);
    assert!(chacha.is_ok());
    let error = policy(Some("TLS_RSA_WITH_RC4_128_SHA"), None, None).unwrap_err();
    assert!(error.starts_with("--cipher-suites: TLS_RSA_WITH_RC4_128_SHA is not supported"));
    assert!(policy(Some(one), Some("TLS1.3"), None).is_err());
}

#[tokio::test]
async fn mutual_tls_verifies_both_ends_and_records_the_client_common_name() {
    let dir = scratch("mutual");
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf("m1", "member-one");
    let side = peer_side(&cert, &key, &ca.path("ca.pem"), None);
    let configs = build(&no_side("client"), &side, &dir).unwrap();
    let (server, client) = (configs.peer_server.unwrap(), configs.peer_client.unwrap());
    let identity = handshake(server, client).await.unwrap();
    assert_eq!(identity, Some(ClientIdentity { common_name: "member-one".into() }));
}

#[tokio::test]
async fn a_peer_certificate_from_another_ca_is_refused_with_the_reason() {
    let dir = scratch("stranger");
    let ca = Ca::new(&dir, "ca");
    let other = Ca::new(&dir, "other");
    let (cert, key) = ca.leaf("good", "member");
    let (bad_cert, bad_key) = other.leaf("bad", "member");
    let good = build(&no_side("client"), &peer_side(&cert, &key, &ca.path("ca.pem"), None), &dir);
    // It trusts the cluster's CA, but its own certificate is signed by another.
    let bad = peer_side(&bad_cert, &bad_key, &ca.path("ca.pem"), None);
    let bad = build(&no_side("client"), &bad, &dir).unwrap();
    let error = handshake(good.unwrap().peer_server.unwrap(), bad.peer_client.unwrap()).await;
    let error = error.unwrap_err();
    assert!(error.starts_with("server: invalid peer certificate: UnknownIssuer"), "{error}");
}

#[tokio::test]
async fn the_allowed_common_name_is_required_of_peers() {
    let dir = scratch("allowed");
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf("m", "member");
    let (other_cert, other_key) = ca.leaf("o", "intruder");
    let ca_pem = ca.path("ca.pem");
    let server = build(&no_side("client"), &peer_side(&cert, &key, &ca_pem, Some("member")), &dir);
    let server = server.unwrap().peer_server.unwrap();
    let intruder = peer_side(&other_cert, &other_key, &ca_pem, None);
    let intruder = build(&no_side("client"), &intruder, &dir).unwrap().peer_client.unwrap();
    let error = handshake(server.clone(), intruder).await.unwrap_err();
    assert!(error.contains("NotValidForName"), "{error}");
    let member = build(&no_side("client"), &peer_side(&cert, &key, &ca_pem, None), &dir);
    assert!(handshake(server, member.unwrap().peer_client.unwrap()).await.is_ok());
}

#[tokio::test]
async fn the_allowed_hostname_is_required_of_peers_in_both_directions() {
    let dir = scratch("hostname");
    let ca = Ca::new(&dir, "ca");
    // Leaves are valid for 127.0.0.1 and localhost.
    let (cert, key) = ca.leaf("m", "member");
    let ca_pem = ca.path("ca.pem");
    let side = |host: &str| {
        let mut side = peer_side(&cert, &key, &ca_pem, None);
        side.allowed_hostname = Some(host.to_string());
        build(&no_side("client"), &side, &dir).unwrap()
    };
    let (localhost, elsewhere) = (side("localhost"), side("example2.com"));
    let server = localhost.peer_server.clone().unwrap();
    assert!(handshake(server.clone(), localhost.peer_client.clone().unwrap()).await.is_ok());
    // The server refuses a client certificate not valid for its allowed name ...
    let error = handshake(elsewhere.peer_server.unwrap(), localhost.peer_client.unwrap()).await;
    let error = error.unwrap_err();
    assert!(error.contains("NotValidForName"), "{error}");
    // ... and a client refuses such a server certificate (the server sees the client's alert;
    // the same certificates pass above, so the name is what differs).
    let error = handshake(server, elsewhere.peer_client.unwrap()).await.unwrap_err();
    assert!(error.contains("BadCertificate"), "{error}");
}

#[tokio::test]
async fn a_revoked_client_certificate_is_refused_and_a_renewed_list_is_read_at_the_next_handshake()
{
    let dir = scratch("crl");
    let ca = Ca::new(&dir, "ca");
    let (server_cert, server_key) = ca.leaf("server", "server");
    let (revoked_cert, revoked_key) = ca.leaf_with_serial("revoked", "revoked", Some(0x1234));
    let (good_cert, good_key) = ca.leaf_with_serial("good", "good", Some(0x5678));
    let crl = ca.revocation_list("revoke.crl", &[0x1234]);
    let ca_pem = ca.path("ca.pem");
    let mut server = client_side(&server_cert, &server_key, Some(&ca_pem));
    server.crl_file = Some(crl.clone());
    let server = build(&server, &no_side("peer"), &dir).unwrap().client.unwrap();
    // The client ends: each presents its certificate (peer client configurations do).
    let as_client = |cert: &str, key: &str| {
        let side = peer_side(cert, key, &ca_pem, None);
        build(&no_side("client"), &side, &dir).unwrap().peer_client.unwrap()
    };
    let error = handshake(server.clone(), as_client(&revoked_cert, &revoked_key)).await;
    let error = error.unwrap_err();
    assert!(error.contains("Revoked"), "{error}");
    // The reason logged names the serial and the list.
    let list = super::crl::RevocationFile::open(FlagFile::new("--client-crl-file", &crl)).unwrap();
    let presented = super::files::read_certs(&FlagFile::new("--cert-file", &revoked_cert)).unwrap();
    let reason = list.check(&[&presented[0]]).unwrap_err();
    assert!(
        reason.starts_with("certificate serial 1234 is revoked (--client-crl-file "),
        "{reason}"
    );
    assert!(handshake(server.clone(), as_client(&good_cert, &good_key)).await.is_ok());
    // A renewed list, now revoking the other one, takes effect without a new configuration.
    ca.revocation_list("revoke.crl", &[0x5678]);
    assert!(handshake(server.clone(), as_client(&revoked_cert, &revoked_key)).await.is_ok());
    assert!(handshake(server, as_client(&good_cert, &good_key)).await.is_err());
}

/// A self-signed CA certificate written as `<name>.pem` and `<name>.key`, as etcd's fixture
/// `CommonName-root.crt` is: marked as a CA, with the given validity and extended key usage.
fn self_signed_ca(
    dir: &Path,
    name: &str,
    valid: (i32, i32),
    usage: &[ExtendedKeyUsagePurpose],
) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "root");
    params.not_before = rcgen::date_time_ymd(valid.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(valid.1, 1, 1);
    params.extended_key_usages = usage.to_vec();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_client_may_present_a_trusted_ca_certificate_itself_as_go_allows() {
    let dir = scratch("anchor-leaf");
    let ca = Ca::new(&dir, "ca");
    let (server_cert, server_key) = ca.leaf("server", "server");
    let ca_pem = ca.path("ca.pem");
    // The client's certificate is the CA certificate of the server's CA file.
    let as_client = |cert: &str, key: &str| {
        let side = peer_side(cert, key, &ca_pem, None);
        build(&no_side("client"), &side, &dir).unwrap().peer_client.unwrap()
    };
    let server =
        build(&client_side(&server_cert, &server_key, Some(&ca_pem)), &no_side("peer"), &dir);
    let server = server.unwrap().client.unwrap();
    let identity = handshake(server.clone(), as_client(&ca_pem, &ca.path("ca.key"))).await;
    assert_eq!(identity.unwrap(), Some(ClientIdentity { common_name: "ca".into() }));

    // A CA certificate the server does not trust is still refused, as is a trusted one that is
    // expired or whose extended key usage is for servers only; a usable one with client usage
    // passes.
    let other = Ca::new(&dir, "other");
    let error = handshake(server, as_client(&other.path("other.pem"), &other.path("other.key")));
    assert!(error.await.unwrap_err().contains("invalid peer certificate"));
    let cases = [
        ("expired", (2000, 2001), vec![], false),
        ("server-only", (2000, 2100), vec![ExtendedKeyUsagePurpose::ServerAuth], false),
        ("client-usage", (2000, 2100), vec![ExtendedKeyUsagePurpose::ClientAuth], true),
    ];
    for (name, valid, usage, accepted) in cases {
        let root = self_signed_ca(&dir, name, valid, &usage);
        let (pem, key) = (format!("{root}.pem"), format!("{root}.key"));
        let server = client_side(&server_cert, &server_key, Some(&pem));
        let server = build(&server, &no_side("peer"), &dir).unwrap().client.unwrap();
        // This client trusts the server's CA; it presents the root the server trusts.
        let side = peer_side(&pem, &key, &ca_pem, None);
        let client = build(&no_side("client"), &side, &dir).unwrap().peer_client.unwrap();
        let outcome = handshake(server, client).await;
        assert_eq!(outcome.is_ok(), accepted, "{name}: {outcome:?}");
    }
}

#[test]
fn an_unreadable_revocation_list_is_one_start_up_error_naming_the_flag() {
    let dir = scratch("crl-bad");
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf("server", "server");
    let mut server = client_side(&cert, &key, Some(&ca.path("ca.pem")));
    server.crl_file = Some(ca.path("ca.pem"));
    let error = build(&server, &no_side("peer"), &dir).unwrap_err();
    assert!(error.starts_with("--client-crl-file "), "{error}");
    assert!(error.contains("not a certificate revocation list"), "{error}");
    server.crl_file = Some(ca.path("missing.crl"));
    let error = build(&server, &no_side("peer"), &dir).unwrap_err();
    assert!(error.contains("missing.crl: cannot read"), "{error}");
}

#[test]
fn a_renewed_certificate_is_picked_up_and_a_broken_renewal_is_not() {
    let dir = scratch("reload");
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf("server", "first");
    let provider = policy(None, None, None).unwrap().provider;
    let reloading = ReloadingKey::load(
        FlagFile::new("--cert-file", &cert),
        FlagFile::new("--key-file", &key),
        provider,
    )
    .unwrap();
    let cn = |r: &ReloadingKey| super::identity::common_name(&r.current().cert[0]).unwrap();
    assert_eq!(cn(&reloading), "first");
    // Half a renewal: a new certificate beside the old key does not load; "first" stays.
    let renewed = Ca::new(&dir, "ca2");
    let (new_cert, new_key) = renewed.leaf("next", "second");
    std::fs::copy(&new_cert, &cert).unwrap();
    assert_eq!(cn(&reloading), "first");
    std::fs::copy(&new_key, &key).unwrap();
    assert_eq!(cn(&reloading), "second");
}

#[test]
fn auto_tls_makes_a_certificate_once_and_keeps_it() {
    let dir = scratch("auto");
    let mut side = no_side("client");
    side.auto_tls = true;
    assert!(build(&side, &no_side("peer"), &dir).unwrap().client.is_some());
    let cert = dir.join("fixtures/client/cert.pem");
    let first = std::fs::read(&cert).unwrap();
    build(&side, &no_side("peer"), &dir).unwrap();
    assert_eq!(std::fs::read(&cert).unwrap(), first);
}

#[test]
fn the_identity_hook_reads_the_connection_info_of_a_request() {
    let mut extensions = http::Extensions::new();
    assert_eq!(ClientIdentity::of_request(&extensions), None);
    let client = Some(ClientIdentity { common_name: "alice".into() });
    extensions.insert(ConnInfo { remote_addr: None, client });
    assert_eq!(
        ClientIdentity::of_request(&extensions).map(|c| c.common_name.as_str()),
        Some("alice")
    );
    let _: Option<Conn> = None;
}
