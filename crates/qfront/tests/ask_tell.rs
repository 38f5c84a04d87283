//! A study driven from a Python script through `qfront study create/ask/tell`
//! (`tests/python/ask_tell_driver.py`, standard library only), and ask/tell misuse.

use std::process::Command;

mod common;
use common::{qfront, qfront_fails, qfront_ok};

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
    let again_err = String::from_utf8_lossy(&again.stderr);
    assert!(
        again_err.contains("cannot tell trial 0: it was already told (complete)"),
        "{again_err}"
    );
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
    // An extra metric out of range (1e999 reads as infinity) is refused, not stored as null.
    let infinite = tell(
        &n,
        &[
            "--values",
            "{\"accuracy\": 0.9, \"latency_ms\": 1, \"extra\": 1e999}",
        ],
    );
    assert_eq!(infinite.status.code(), Some(1));
    let listed = qfront(&["trials", "--dir", d, "--format", "json"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let unknown = tell("999", &["--failed", "x"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("999"));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(dir.with_extension("toml")).ok();
}

/// A study for an outside trainer's own hyperparameters and metrics (no dataset, no family):
/// free parameter names, free metric names in objectives and constraints, ask/tell, the front
/// and the trial table; `qfront search` refuses it with the way to drive it.
#[test]
fn an_external_study_takes_any_parameter_and_metric_names() {
    let dir = std::env::temp_dir().join(format!("qfront-external-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("torch.toml");
    std::fs::write(
        &config,
        r#"
name = "torch-mlp"
objectives = ["-val_loss", "-params_m"]
constraints = ["val_loss <= 2.5"]
optimizer = "qnehvi"
budget = 8
initial_points = 4
[[parameter]]
name = "lr"
type = "float"
low = 1e-4
high = 1e-1
scale = "log"
[[parameter]]
name = "hidden_units"
type = "int"
low = 16
high = 256
[[parameter]]
name = "optimizer.kind"
type = "categorical"
values = ["adam", "sgd"]
"#,
    )
    .unwrap();
    let d = dir.join("study");
    let d = d.to_str().unwrap();
    let out = qfront(&[
        "study",
        "create",
        "--config",
        config.to_str().unwrap(),
        "--dir",
        d,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..8 {
        let asked = qfront(&["study", "ask", "--dir", d]);
        assert!(
            asked.status.success(),
            "{}",
            String::from_utf8_lossy(&asked.stderr)
        );
        let trial: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
        let params = &trial["params"];
        let lr = params["lr"].as_f64().unwrap();
        let hidden = params["hidden_units"].as_f64().unwrap();
        assert!(
            (1e-4..=1e-1).contains(&lr) && (16.0..=256.0).contains(&hidden),
            "{params}"
        );
        assert!(["adam", "sgd"].contains(&params["optimizer.kind"].as_str().unwrap()));
        if trial["trial"] == 0 {
            // A value missing: the message names it and every metric the study needs, each
            // once (val_loss is an objective's and a constraint's), as a tell's error.
            let missing = qfront(&[
                "study",
                "tell",
                "--dir",
                d,
                "--trial",
                "0",
                "--values",
                r#"{"val_loss": 1.0}"#,
            ]);
            assert_eq!(missing.status.code(), Some(1));
            assert_eq!(
                String::from_utf8_lossy(&missing.stderr).trim(),
                "error: cannot tell values: missing 'params_m' (the study's objectives and \
                 constraints need val_loss, params_m)"
            );
        }
        // A made-up but deterministic trainer: loss falls with width and is best near lr 1e-2.
        let loss = (lr.log10() + 2.0).powi(2) + 64.0 / hidden;
        let values =
            serde_json::json!({"val_loss": loss, "params_m": hidden * 0.01, "epochs_run": 3});
        let told = qfront(&[
            "study",
            "tell",
            "--dir",
            d,
            "--trial",
            &trial["trial"].to_string(),
            "--values",
            &values.to_string(),
        ]);
        assert!(
            told.status.success(),
            "{}",
            String::from_utf8_lossy(&told.stderr)
        );
    }
    let front = qfront(&["pareto", "--dir", d, "--format", "json"]);
    assert!(
        front.status.success(),
        "{}",
        String::from_utf8_lossy(&front.stderr)
    );
    let text = String::from_utf8_lossy(&front.stdout);
    assert!(
        text.contains("val_loss") && text.contains("hidden_units"),
        "{text}"
    );
    let table = qfront(&["trials", "--dir", d, "--format", "csv"]);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let table = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.lines().count(), 9, "header + 8 trials");
    assert_eq!(
        table.lines().next().unwrap(),
        "trial,state,lr,hidden_units,optimizer.kind,epochs_run,params_m,val_loss,error"
    );
    // The budget is honoured: a ninth ask is refused with the way out.
    let ninth = qfront(&["study", "ask", "--dir", d]);
    assert_eq!(ninth.status.code(), Some(1));
    let err = String::from_utf8_lossy(&ninth.stderr);
    assert!(err.contains("budget (8)"), "{err}");
    let search = qfront(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--dir",
        d,
        "--resume",
    ]);
    assert_eq!(search.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&search.stderr).contains("qfront study ask"));

    // Pipeline-only sections and half-pipeline configs are refused with the fix.
    let refuse = |extra: &str, needle: &str| {
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, format!("name = \"x\"\nobjectives = [\"loss\"]\nbudget = 3\n{extra}\n[[parameter]]\nname = \"lr\"\ntype = \"float\"\nlow = 0.1\nhigh = 1.0\n")).unwrap();
        let out = qfront(&[
            "study",
            "create",
            "--config",
            bad.to_str().unwrap(),
            "--dir",
            dir.join("bad").to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{extra}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{extra}: {err}");
    };
    refuse("family = \"lenet\"", "dataset");
    refuse("dataset = \"digits\"", "family");
    refuse("[fixed]\nepochs = 3", "[fixed]");
    refuse("objectives_extra = 1", "objectives_extra");
    std::fs::remove_dir_all(&dir).ok();
}

/// A fresh temporary folder `qfront-NAME-PID` holding `study.toml` (`config`) and the study
/// `qfront study create` makes from it; returns the folder and the study's directory.
fn create_study(name: &str, config: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("qfront-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("study.toml");
    std::fs::write(&path, config).unwrap();
    let study = dir.join("study").to_str().unwrap().to_string();
    qfront_ok(&[
        "study",
        "create",
        "--config",
        path.to_str().unwrap(),
        "--dir",
        &study,
    ]);
    (dir, study)
}

/// Runs an external study of one input `x` on [0, 1] with objectives `-loss` (minimized,
/// `(x − 0.3)²`) and `size` (maximized, `x`) for `trials` asks and tells, and returns what
/// each ask printed, what `qfront trials --format json` lists afterwards and the HTML of
/// `qfront report`.
fn one_input_study(
    name: &str,
    reference: &str,
    trials: usize,
) -> (Vec<serde_json::Value>, serde_json::Value, String) {
    let (dir, d) = create_study(
        name,
        &format!(
            "name = \"{name}\"\nkind = \"external\"\nobjectives = [\"-loss\", \"size\"]\noptimizer = \"qnehvi\"\nbudget = {trials}\ninitial_points = 3\nseed = 4\n{reference}\n[[parameter]]\nname = \"x\"\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n"
        ),
    );
    let d = d.as_str();
    let mut asked = Vec::new();
    for _ in 0..trials {
        let out = qfront_ok(&["study", "ask", "--dir", d]);
        let trial: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let x = trial["params"]["x"].as_f64().unwrap();
        let values = serde_json::json!({"loss": (x - 0.3).powi(2), "size": x}).to_string();
        let number = trial["trial"].to_string();
        qfront_ok(&[
            "study", "tell", "--dir", d, "--trial", &number, "--values", &values,
        ]);
        asked.push(trial);
    }
    let listed = qfront_ok(&["trials", "--dir", d, "--format", "json"]);
    let report = qfront_ok(&["report", "--dir", d]);
    let page = String::from_utf8_lossy(&report.stdout).trim().to_string();
    let page = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{page}: {e}"));
    std::fs::remove_dir_all(&dir).ok();
    (asked, serde_json::from_slice(&listed.stdout).unwrap(), page)
}

/// Every trial `qfront study ask` hands out says how the optimizer chose it, as
/// `QfrontSampler`'s `qfront:proposal` does: the Sobol design first, then model-based
/// trials whose acquisition names its reference rule and point, the point in each metric's
/// own units and direction (a given `reference_point` comes back exactly as written), and
/// `qfront trials --format json` lists the same record.
#[test]
fn every_asked_trial_says_how_it_was_chosen() {
    let known = [
        "sobol",
        "box-exploration",
        "line-exploration",
        "anchor",
        "acquisition",
    ];
    // Every observation beats (loss 1.0, size 0.0), so the given point is used as given.
    let (asked, listed, page) = one_input_study("given-point", "reference_point = [1.0, 0.0]", 6);
    let mut acquisitions = 0;
    for (i, trial) in asked.iter().enumerate() {
        let proposal = &trial["proposal"];
        assert_eq!(&listed[i]["proposal"], proposal, "trial {i}");
        // The report's trial panel reads the same record from the page's data.
        assert!(
            page.contains(&serde_json::to_string(proposal).unwrap()),
            "trial {i}: {proposal}"
        );
        assert_eq!(listed[i]["trial"], trial["trial"]);
        let kind = proposal["kind"].as_str().unwrap();
        assert!(known.contains(&kind), "{proposal}");
        if i < 3 {
            assert_eq!(
                kind, "sobol",
                "trial {i} is in the initial design: {proposal}"
            );
        } else if kind == "acquisition" {
            acquisitions += 1;
            assert_eq!(proposal["rule"], "given", "{proposal}");
            assert_eq!(
                proposal["reference"],
                serde_json::json!({"loss": 1.0, "size": 0.0})
            );
            assert!(
                proposal["value"].as_f64().unwrap().is_finite(),
                "{proposal}"
            );
        }
    }
    assert!(acquisitions >= 1, "{asked:?}");

    // Without a point the rule is one of the inferred ones, and the point lies past the
    // observed front in each metric's own direction: a loss above the best observed, a
    // size below the best observed.
    let (asked, _, _) = one_input_study("inferred-point", "", 6);
    let best_loss = asked
        .iter()
        .map(|t| (t["params"]["x"].as_f64().unwrap() - 0.3).powi(2))
        .fold(f64::INFINITY, f64::min);
    let mut inferred = 0;
    for trial in &asked[3..] {
        let proposal = &trial["proposal"];
        if proposal["kind"] == "acquisition" {
            inferred += 1;
            let rule = proposal["rule"].as_str().unwrap();
            assert!(rule == "predicted-front" || rule == "loose", "{proposal}");
            let loss = proposal["reference"]["loss"].as_f64().unwrap();
            let size = proposal["reference"]["size"].as_f64().unwrap();
            assert!(loss > best_loss && size < 1.0, "{proposal}");
        }
    }
    assert!(inferred >= 1, "{asked:?}");
}

/// `trials --format csv` is RFC 4180: no empty column before any metric is told, and a
/// failure's message with a comma and quotes comes back quoted, quotes doubled.
#[test]
fn the_trial_csv_quotes_what_needs_quoting() {
    let (dir, d) = create_study(
        "csv",
        "name = \"csv\"\nobjectives = [\"-loss\"]\nbudget = 3\n[[parameter]]\nname = \"act\"\n\
         type = \"categorical\"\nvalues = [\"relu\", \"gelu, tanh\"]\n",
    );
    let d = d.as_str();
    let csv = |d: &str| {
        let out = qfront(&["trials", "--dir", d, "--format", "csv"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(csv(d), "trial,state,act,error\n");
    let asked = qfront(&["study", "ask", "--dir", d]);
    let trial: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
    let act = trial["params"]["act"].as_str().unwrap().to_string();
    qfront_ok(&[
        "study",
        "tell",
        "--dir",
        d,
        "--trial",
        "0",
        "--failed",
        "out of memory, \"GPU 0\"",
    ]);
    let quoted_act = if act.contains(',') {
        format!("\"{act}\"")
    } else {
        act
    };
    assert_eq!(
        csv(d),
        format!("trial,state,act,error\n0,failed,{quoted_act},\"out of memory, \"\"GPU 0\"\"\"\n")
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Asking a folder that holds no study names both ways to make one: `qfront search` for
/// a study qfront trains, `qfront study create` for an outside trainer's.
#[test]
fn asking_where_no_study_is_names_both_ways_to_make_one() {
    let dir = std::env::temp_dir().join(format!("qfront-no-study-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let d = dir.to_str().unwrap();
    qfront_fails(
        &["study", "ask", "--dir", d],
        1,
        &[
            "holds no study (no study.db)",
            &format!("qfront search --dir {d}"),
            &format!("qfront study create --dir {d} --config"),
        ],
    );
    assert!(!dir.exists(), "nothing is created by a refused ask");
}
