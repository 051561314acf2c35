//! The report page in a real headless browser (Debian's `chromium`; `scripts/test` installs it):
//! it loads from disk without script errors, the lanes and the violation window are in the DOM,
//! and a screenshot lands in `target/report-screenshots/report.png` for a human to look at.

mod fixture;

use detcd_report::{html, RunReport};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

fn chromium() -> &'static str {
    let found =
        Command::new("chromium").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "chromium is not installed: run scripts/test (it installs Debian's chromium) or apt-get install chromium");
    "chromium"
}

fn run_chromium(profile: &Path, extra: &[String], page: &Path) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,1500",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn report_renders_in_headless_chromium() {
    let dir = workspace_target().join("report-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, html::render(&RunReport::build(&fixture::run_input()))).unwrap();
    // A copy that hovers over operation #4 once the page's own script has run.
    let hovered = dir.join("report-hovered.html");
    let hover = "<script>document.querySelector('rect[data-op=\\'4\\']').dispatchEvent(new MouseEvent('mouseenter', {clientX: 50, clientY: 50}));</script></body>";
    let page_text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&hovered, page_text.replacen("</body>", hover, 1)).unwrap();
    let profile = dir.join("chromium-profile");

    let dom = run_chromium(&profile, &["--dump-dom".into()], &page);
    let text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(text.contains("data-report=\"ok\""), "the page's script did not finish cleanly\n{log}");
    assert!(!log.contains("Uncaught"), "console error:\n{log}");
    assert!(
        text.contains("class=\"lane client-lane\"") && text.contains("class=\"lane node-lane\"")
    );
    assert!(text.contains("id=\"violation-window\""));
    assert!(text.contains("id=\"partial-linearization\""));

    let dom = run_chromium(&profile, &["--dump-dom".into()], &hovered);
    let text = String::from_utf8_lossy(&dom.stdout);
    let tip = text.split("id=\"tip\"").nth(1).unwrap_or_default();
    let tip = &tip[..tip.find("</div></div>").unwrap_or(tip.len())];
    assert!(tip.contains("display: block"), "hovering shows no details: {tip}");
    for shown in ["request", "response", "revision</b> 2", "client 2 range x"] {
        assert!(tip.contains(shown), "the hover details lack {shown}: {tip}");
    }

    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let _ = run_chromium(&profile, &[format!("--screenshot={}", shot.display())], &page);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot at {}", shot.display());
    println!("screenshot: {}", shot.display());
}
