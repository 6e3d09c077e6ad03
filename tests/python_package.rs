//! The Python package's own tests (`python/tests`, pytest) run from cargo, so that the README's
//! one test command covers them: predictions through Python equal the CLI's, all four input
//! kinds, typed errors, and Ray Data over Parquet partitions. They need the wheel built from
//! this tree and installed (`.ci/run` does both); without it they say SKIP, and fail under
//! `STANCEKIT_REQUIRE_FIXTURES`.

use std::process::Command;

#[test]
fn the_python_package_passes_its_own_tests_against_this_binary() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import stancekit, pytest, pyarrow, pandas, polars, ray",
        ])
        .output();
    let ready = probe.as_ref().is_ok_and(|o| o.status.success());
    if !ready {
        let why = match &probe {
            Ok(o) => String::from_utf8_lossy(&o.stderr).to_string(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var_os("STANCEKIT_REQUIRE_FIXTURES").is_none(),
            "the Python package or its test dependencies are not installed: {why}"
        );
        eprintln!("SKIP: python3 cannot import stancekit and its test dependencies ({why}); build and install the wheel as .ci/run does");
        return;
    }
    let o = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .env("STANCEKIT_BIN", env!("CARGO_BIN_EXE_stancekit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 ran a moment ago");
    let out = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "pytest failed:\n{out}");
    assert!(out.contains(" passed"), "pytest ran no test:\n{out}");
}
