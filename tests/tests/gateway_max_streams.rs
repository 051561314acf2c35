//! `--max-concurrent-streams` on the JSON gateway (`gateway::streams`): with that many watches
//! open, the next call waits (curl gives up), and it is served as soon as one watch closes.

use detcd_tests::cluster::Cluster;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn curl(endpoint: &str, path: &str, body: &str, max_secs: &str) -> Command {
    let mut curl = Command::new("curl");
    curl.args(["-s", "-N", "-m", max_secs, "-X", "POST", "-d", body]);
    curl.arg(format!("http://{endpoint}{path}"));
    curl
}

fn range(endpoint: &str) -> std::process::Output {
    curl(endpoint, "/v3/kv/range", r#"{"key":"Zm9v"}"#, "2").output().expect("curl runs")
}

#[test]
fn a_call_beyond_the_stream_budget_waits_for_one_to_end() {
    let mut cluster = Cluster::plan(1);
    cluster.nodes[0].args.extend(["--max-concurrent-streams".to_string(), "2".to_string()]);
    cluster.start_planned();
    let endpoint = cluster.nodes[0].endpoint();
    assert!(range(&endpoint).status.success(), "a call under the budget is served");
    let watch = r#"{"create_request":{"key":"Zm9v"}}"#;
    let mut watches: Vec<Child> = (0..2)
        .map(|_| {
            let mut watch = curl(&endpoint, "/v3/watch", watch, "60");
            watch.stdout(Stdio::null()).spawn().expect("curl starts")
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let waited = range(&endpoint);
    // curl's exit code 28: the operation timed out.
    assert_eq!(waited.status.code(), Some(28), "{}", String::from_utf8_lossy(&waited.stdout));
    let mut first = watches.remove(0);
    let _ = first.kill();
    let _ = first.wait();
    std::thread::sleep(Duration::from_millis(500));
    let served = range(&endpoint);
    assert!(served.status.success(), "served once a watch closed");
    assert!(String::from_utf8_lossy(&served.stdout).contains("\"revision\""));
    for mut watch in watches {
        let _ = watch.kill();
        let _ = watch.wait();
    }
}
