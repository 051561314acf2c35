//! The `check` command line as a library function, on the files in `testdata/`.

use detcd_check::cli::{check_files, ModelName};

fn testdata(name: &str) -> String {
    format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(names: &[&str], model: ModelName) -> (Vec<String>, i32) {
    let paths: Vec<String> = names.iter().map(|n| testdata(n)).collect();
    let output = check_files(&paths, model, None);
    (output.lines, output.status)
}

#[test]
fn linearizable_files_exit_zero() {
    let (lines, status) = run(&["register-ok.jsonl", "register-ok.edn"], ModelName::Register);
    assert_eq!(status, 0, "{lines:#?}");
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("register-ok.jsonl: linearizable (6 ops, "), "{}", lines[0]);
    assert!(lines[1].contains("register-ok.edn: linearizable (5 ops, "), "{}", lines[1]);
    let (lines, status) = run(&["kv-ok.edn"], ModelName::Kv);
    assert_eq!(status, 0, "{lines:#?}");
    let (lines, status) = run(&["etcd-ok.jsonl"], ModelName::Etcd);
    assert_eq!(status, 0, "{lines:#?}");
}

#[test]
fn violations_are_explained_and_exit_one() {
    for (file, model) in [
        ("register-bad.jsonl", ModelName::Register),
        ("register-bad.edn", ModelName::Register),
        ("kv-bad.jsonl", ModelName::Kv),
        ("etcd-bad.jsonl", ModelName::Etcd),
    ] {
        let (lines, status) = run(&[file], model);
        assert_eq!(status, 1, "{file}: {lines:#?}");
        assert!(lines[0].contains(&format!("{file}: not linearizable (")), "{}", lines[0]);
        assert!(lines.iter().any(|l| l.contains("longest partial linearization")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("window that cannot be linearized")), "{lines:#?}");
    }
}

#[test]
fn one_bad_file_among_good_ones_fails_the_run() {
    let (lines, status) = run(&["register-ok.jsonl", "register-bad.jsonl"], ModelName::Register);
    assert_eq!(status, 1);
    assert!(lines[0].contains("register-ok.jsonl: linearizable"));
    assert!(lines[1].contains("register-bad.jsonl: not linearizable"));
}

#[test]
fn bad_files_name_file_and_line() {
    let (lines, status) = run(&["broken.jsonl"], ModelName::Register);
    assert_eq!(status, 2);
    assert!(lines[0].contains("broken.jsonl:2:"), "{}", lines[0]);
    let (lines, status) = run(&["no-such-file.jsonl"], ModelName::Register);
    assert_eq!(status, 2);
    assert!(lines[0].contains("no-such-file.jsonl: error: "), "{}", lines[0]);
    // A register history is no kv history (no keys): a clear decode error, not a panic.
    let (lines, status) = run(&["register-ok.jsonl"], ModelName::Kv);
    assert_eq!(status, 2);
    assert!(lines[0].contains("kv operations need a `key`"), "{}", lines[0]);
}

#[test]
fn files_of_several_models_in_one_call() {
    use detcd_check::cli::{check_each, model_prefix};
    assert_eq!(model_prefix("kv=a.jsonl"), Some((ModelName::Kv, "a.jsonl")));
    assert_eq!(model_prefix("register=x=y"), Some((ModelName::Register, "x=y")));
    assert_eq!(model_prefix("./kv=a.jsonl"), None);
    assert_eq!(model_prefix("plain.jsonl"), None);
    let files = [
        (testdata("register-ok.jsonl"), ModelName::Register),
        (testdata("kv-bad.jsonl"), ModelName::Kv),
        (testdata("etcd-ok.jsonl"), ModelName::Etcd),
    ];
    let output = check_each(&files, None);
    assert_eq!(output.status, 1, "{:#?}", output.lines);
    assert!(output.lines[0].contains("register-ok.jsonl: linearizable ("), "{:#?}", output.lines);
    assert!(output.lines.iter().any(|l| l.contains("kv-bad.jsonl: not linearizable (")));
    assert!(output.lines.last().is_some_and(|l| l.contains("etcd-ok.jsonl: linearizable (")));
}
