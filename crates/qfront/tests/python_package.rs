//! The Python package (`crates/qfront-py`) as a user installs it: a wheel built with maturin,
//! installed into the virtualenv of `QFRONT_PYTHON`, then its pytest suite
//! (`crates/qfront-py/tests/*.py`: the Optuna sampler, the runtime against `qfront eval`,
//! hypervolume and Pareto fronts, exceptions). Without `QFRONT_PYTHON` the test says why it
//! skips; with `QFRONT_REQUIRE_PYTHON` set (CI sets both) a missing interpreter fails it.

use std::path::Path;
use std::process::Command;

fn run(what: &str, command: &mut Command) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn the_python_wheel_builds_installs_and_passes_its_tests() {
    let Some(python) = std::env::var_os("QFRONT_PYTHON") else {
        assert!(
            std::env::var_os("QFRONT_REQUIRE_PYTHON").is_none(),
            "QFRONT_REQUIRE_PYTHON is set but QFRONT_PYTHON names no interpreter"
        );
        eprintln!("skipped: set QFRONT_PYTHON to a virtualenv's python with maturin, numpy, optuna and pytest (.ci/run makes one)");
        return;
    };
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../qfront-py");
    let wheels = std::env::temp_dir().join(format!("qfront-wheels-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&wheels);
    run(
        "maturin build",
        Command::new(&python)
            .args(["-m", "maturin", "build", "--release", "--quiet", "-o"])
            .arg(&wheels)
            .arg("-i")
            .arg(&python)
            .current_dir(&crate_dir),
    );
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote a wheel");
    run(
        "pip install",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(&wheel),
    );
    run(
        "pytest",
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(crate_dir.join("tests"))
            .env("QFRONT_BIN", env!("CARGO_BIN_EXE_qfront"))
            // Outside the crate directory, so `import qfront` is the installed wheel.
            .current_dir(std::env::temp_dir()),
    );
    std::fs::remove_dir_all(&wheels).ok();
}
