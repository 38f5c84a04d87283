//! A study driven from a Python script through `qfront study create/ask/tell`
//! (`tests/python/ask_tell_driver.py`, standard library only), and ask/tell misuse.

use std::process::Command;

mod common;
use common::qfront;

#[test]
fn a_python_trainer_drives_a_study() {
    let dir = std::env::temp_dir().join(format!("qfront-ask-tell-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/ask_tell_driver.py"
    );
    let out = match Command::new("python3")
        .args([
            script,
            env!("CARGO_BIN_EXE_qfront"),
            dir.to_str().unwrap(),
            "8",
        ])
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("python3 is needed for this test (.ci/run installs it): {e}"),
    };
    assert!(
        out.status.success(),
        "driver failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["trials"], 8);
    assert!(summary["front"].as_u64().unwrap() >= 1);

    // Misuse: telling twice, telling an unknown trial, missing metrics.
    let d = dir.to_str().unwrap();
    let tell = |trial: &str, outcome: &[&str]| {
        qfront(
            &[
                &["study", "tell", "--dir", d, "--trial", trial][..],
                outcome,
            ]
            .concat(),
        )
    };
    let again = tell("0", &["--values", "{\"accuracy\": 0.9, \"latency_ms\": 1}"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already told"));
    let asked = qfront(&["study", "ask", "--dir", d]);
    let trial: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
    let n = trial["trial"].to_string();
    let missing = tell(&n, &["--values", "{\"accuracy\": 0.9}"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("latency_ms"));
    let not_a_number = tell(
        &n,
        &["--values", "{\"accuracy\": 0.9, \"latency_ms\": \"fast\"}"],
    );
    assert_eq!(not_a_number.status.code(), Some(1));
    let unknown = tell("999", &["--failed", "x"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("999"));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(dir.with_extension("toml")).ok();
}
