//! The harness every goldenscript transcript suite shares: one test per script in a directory
//! under `core/tests/`, each run by a fresh runner, and a test that fails when a script on disk
//! has no test, so none is silently skipped.

/// `script_suite!("dir", runner expression, [script, ...])`.
macro_rules! script_suite {
    ($dir:literal, $runner:expr, [$($name:ident),* $(,)?]) => {
        fn run(name: &str) {
            let path = format!("{}/tests/{}/{name}", env!("CARGO_MANIFEST_DIR"), $dir);
            if let Err(error) = goldenscript::run(&mut $runner, &path) {
                panic!("{path}: {error}");
            }
        }

        $(#[test] fn $name() { run(stringify!($name)); })*

        /// Every script on disk has a test above, so none is silently skipped.
        #[test]
        fn every_script_is_run() {
            let listed = [$(stringify!($name)),*];
            let dir = format!("{}/tests/{}", env!("CARGO_MANIFEST_DIR"), $dir);
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(dir).expect("scripts dir") {
                let name = entry.expect("entry").file_name().to_string_lossy().to_string();
                if !listed.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "scripts without a test: {missing:?}");
        }
    };
}
