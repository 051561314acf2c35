//! etcd 3.6's `/livez` and `/readyz` (`detcd_core::member::health`, `server/src/health_probes.rs`):
//! a member that has lost its quorum is alive (it still serves its own replica) but not ready (no
//! linearizable read gets through), and says which check failed and why.

use detcd_tests::cluster::Cluster;
use std::process::Command;

/// The HTTP status and body of a GET.
fn get(endpoint: &str, path: &str) -> (String, String) {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", &format!("http://{endpoint}{path}")])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl printed the status code");
    (code.to_string(), body.to_string())
}

#[test]
fn a_member_without_quorum_is_alive_but_not_ready_and_says_why() {
    let mut cluster = Cluster::start(3);
    let survivor = cluster.nodes[0].endpoint();
    assert_eq!(get(&survivor, "/livez"), ("200".into(), "ok\n".into()));
    assert_eq!(
        get(&survivor, "/readyz?verbose"),
        (
            "200".into(),
            "[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n\
             [+]non_learner ok\nok\n"
                .into()
        )
    );
    assert_eq!(get(&survivor, "/readyz/linearizable_read").0, "200");
    assert_eq!(get(&survivor, "/livez/linearizable_read").0, "404", "livez has no such check");

    cluster.nodes[1].kill();
    cluster.nodes[2].kill();

    assert_eq!(get(&survivor, "/livez"), ("200".into(), "ok\n".into()));
    let (code, body) = get(&survivor, "/readyz");
    assert_eq!(code, "503", "{body}");
    assert!(body.starts_with("[+]data_corruption ok\n[+]serializable_read ok\n"), "{body}");
    assert!(body.contains("[-]linearizable_read failed: etcdserver: "), "{body}");
    assert_eq!(
        get(&survivor, "/readyz?exclude=linearizable_read&exclude=no_such_check"),
        ("200".into(), "ok\n".into()),
        "an excluded check is skipped, an unknown name ignored"
    );
}
