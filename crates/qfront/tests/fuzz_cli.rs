//! A bounded CLI fuzz test: random arguments and random or mutated input files for every
//! subcommand. Whatever the input, qfront must answer with an exit code other than 101 and
//! never print "panicked" (a panic reaching the user is always a bug). A run that takes longer
//! than its time slice is stopped: slow is not the failure this test looks for.
//!
//! The generator is a seeded LCG, so a failure reproduces: the message names the seed and the
//! arguments. `QFRONT_FUZZ_RUNS` sets the number of runs (default 200), `QFRONT_FUZZ_SEED` the seed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// A small seeded generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

/// The input files the arguments draw from: valid ones, and broken versions of them.
fn inputs(dir: &Path, rng: &mut Lcg) -> Vec<String> {
    let write = |name: &str, bytes: &[u8]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    };
    let mut files = Vec::new();
    // A real model, then truncated and bit-flipped copies.
    let qfm = dir.join("valid.qfm");
    let out = common::qfront(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--qfm",
        qfm.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let model = std::fs::read(&qfm).unwrap();
    files.push(qfm.to_string_lossy().into_owned());
    for (i, cut) in [0, 1, 7, model.len() / 3, model.len() - 1]
        .into_iter()
        .enumerate()
    {
        files.push(write(&format!("cut{i}.qfm"), &model[..cut]));
    }
    for i in 0..4 {
        let mut flipped = model.clone();
        for _ in 0..8 {
            let at = rng.below(flipped.len());
            flipped[at] ^= 1 << rng.below(8);
        }
        files.push(write(&format!("flip{i}.qfm"), &flipped));
    }
    let onnx = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../qfront-train/tests/fixtures/onnx/mlp.onnx"),
    )
    .unwrap();
    files.push(write("cut.onnx", &onnx[..onnx.len() / 2]));
    let mut flipped = onnx.clone();
    for _ in 0..16 {
        let at = rng.below(flipped.len());
        flipped[at] = rng.next() as u8;
    }
    files.push(write("flip.onnx", &flipped));
    let noise: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    files.push(write("noise.bin", &noise));
    files.push(write("empty.toml", b""));
    files.push(write("broken.toml", b"name = [[[\n"));
    files.push(write(
        "study.toml",
        b"name = \"f\"\ndataset = \"digits\"\nfamily = \"mlp\"\nobjectives = [\"accuracy\", \"accuracy\"]\nbudget = 0\n",
    ));
    files.push(write(
        "net.toml",
        b"[model]\nlayers = [{ type = \"linear\", features = 0 }, { type = \"add\", from = \"x\" }]\n",
    ));
    files.push(write("short.csv", b"text,label\nhello\n"));
    files.push(write("weird.csv", b"\xff\xfe,\n\"unterminated\n"));
    files.push(write("one.jsonl", b"{\"text\": \"a\", \"label\": 1}\n"));
    files.push(dir.join("absent.file").to_string_lossy().into_owned());
    files.push(dir.to_string_lossy().into_owned());
    // A real study store with a told and an asked trial, for the commands that read one.
    let config = write(
        "external.toml",
        b"name = \"fz\"\nobjectives = [\"-loss\", \"-size\"]\noptimizer = \"sobol\"\nbudget = 6\n[[parameter]]\nname = \"lr\"\ntype = \"float\"\nlow = 1e-4\nhigh = 1e-1\n",
    );
    let store = dir.join("study").to_string_lossy().into_owned();
    common::qfront_ok(&["study", "create", "--config", &config, "--dir", &store]);
    common::qfront_ok(&["study", "ask", "--dir", &store]);
    common::qfront_ok(&[
        "study",
        "tell",
        "--dir",
        &store,
        "--trial",
        "0",
        "--values",
        "{\"loss\": 0.5, \"size\": 3}",
    ]);
    common::qfront_ok(&["study", "ask", "--dir", &store]);
    files.push(config);
    files.push(store);
    files
}

/// Valid invocations of every subcommand (`{qfm}`, `{study}`, `{config}` and `{run}` are
/// filled in), which the runs mutate.
fn templates() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--format",
            "json",
        ],
        vec![
            "train",
            "--dataset",
            "snips",
            "--epochs",
            "1",
            "--model",
            "nlu",
        ],
        vec!["eval", "{qfm}", "--dataset", "digits"],
        vec![
            "export",
            "--dir",
            "{study}",
            "--trial",
            "0",
            "{run}/out.qfm",
        ],
        vec!["bench", "latency", "{qfm}", "--max-time", "0.05"],
        vec![
            "bench",
            "mobo",
            "--problem",
            "branin-currin",
            "--budget",
            "6",
        ],
        vec!["bench", "data", "--dataset", "digits"],
        vec!["bench", "lut", "--models", "2", "--check", "2"],
        vec!["search", "digits-cnn", "--budget", "1", "--dir", "{run}"],
        vec!["study", "create", "--config", "{config}", "--dir", "{run}"],
        vec!["study", "ask", "--dir", "{study}"],
        vec![
            "study", "tell", "--dir", "{study}", "--trial", "1", "--failed", "oom",
        ],
        vec!["trials", "--dir", "{study}", "--format", "json"],
        vec!["pareto", "--dir", "{study}", "--format", "csv"],
        vec!["report", "--dir", "{study}"],
        vec!["quant", "fit-sawb", "--format", "json"],
    ]
}

fn values(files: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "0",
        "1",
        "-1",
        "2",
        "3",
        "8",
        "33",
        "255",
        "65536",
        "1e20",
        "-1e20",
        "nan",
        "inf",
        "-inf",
        "",
        "x",
        "0.5",
        "1e-300",
        "99999999999999999999",
        "digits",
        "snips",
        "mlp",
        "lenet",
        "nlu",
        "resnet20",
        "qnehvi",
        "qnehvi-saas",
        "sobol",
        "zdt1",
        "dtlz2",
        "sawb",
        "lsq",
        "json",
        "csv",
        "table",
        "8x8",
        "0x0",
        "1x99999",
        "local",
        "-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a".repeat(5000));
    v.push("ü\u{7f}é".into());
    v.extend(files.iter().cloned());
    v
}

/// Each subcommand with the flags its `--help` lists (so the runs reach past argument
/// parsing).
fn commands() -> Vec<(Vec<&'static str>, Vec<String>)> {
    let bases: [&[&'static str]; 16] = [
        &["train"],
        &["eval"],
        &["export"],
        &["bench", "latency"],
        &["bench", "mobo"],
        &["bench", "kernel"],
        &["bench", "data"],
        &["bench", "lut"],
        &["search"],
        &["study", "create"],
        &["study", "ask"],
        &["study", "tell"],
        &["trials"],
        &["pareto"],
        &["report"],
        &["quant", "fit-sawb"],
    ];
    bases
        .iter()
        .map(|base| {
            let help = common::qfront(&[base, &["--help"][..]].concat());
            let text = String::from_utf8_lossy(&help.stdout);
            let mut flags: Vec<String> = text
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| w.starts_with("--") && w.len() > 2 && *w != "--help")
                .map(|w| {
                    w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                        .to_string()
                })
                .collect();
            flags.sort();
            flags.dedup();
            assert!(
                !flags.is_empty(),
                "qfront {} --help lists no flags",
                base.join(" ")
            );
            (base.to_vec(), flags)
        })
        .collect()
}

#[test]
fn no_input_makes_qfront_panic() {
    let seed: u64 = std::env::var("QFRONT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f022);
    let runs: usize = std::env::var("QFRONT_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rng = Lcg(seed);
    let dir: PathBuf = std::env::temp_dir().join(format!("qfront-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let files = inputs(&dir, &mut rng);
    let pool = values(&files);
    let commands = commands();
    let templates = templates();
    let study = files[files.len() - 1].clone();
    let config = files[files.len() - 2].clone();
    let (mut stopped, mut codes) = (0, std::collections::BTreeMap::<i32, usize>::new());
    for run in 0..runs {
        // A valid invocation with one or two mutations: a value replaced, or a flag its
        // `--help` lists added with a value from the pool.
        let template = rng.pick(&templates);
        let run_dir = dir.join(format!("run{run}")).to_string_lossy().into_owned();
        let mut args: Vec<String> = template
            .iter()
            .map(|a| {
                a.replace("{qfm}", &files[0])
                    .replace("{study}", &study)
                    .replace("{config}", &config)
                    .replace("{run}", &run_dir)
            })
            .collect();
        let depth = if template[0] == "bench" || template[0] == "study" || template[0] == "quant" {
            2
        } else {
            1
        };
        let flags = &commands
            .iter()
            .find(|(base, _)| base[..] == template[..depth])
            .expect("every template's command is listed")
            .1;
        for _ in 0..1 + rng.below(2) {
            let values: Vec<usize> = (depth..args.len())
                .filter(|&i| !args[i].starts_with("--"))
                .collect();
            if rng.below(2) == 0 && !values.is_empty() {
                let at = rng.pick(&values);
                args[at] = rng.pick(&pool);
            } else {
                args.push(rng.pick(flags));
                args.push(rng.pick(&pool));
            }
        }
        let stderr_path = dir.join(format!("stderr{run}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_qfront"))
            .args(&args)
            .current_dir(&dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(3) {
                child.kill().ok();
                child.wait().ok();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.len() > 40 {
                    format!("{}…", &a[..40])
                } else {
                    a.clone()
                }
            })
            .collect();
        match status {
            None => stopped += 1,
            Some(status) => {
                let code = status.code();
                assert!(
                    code.is_some() && code != Some(101) && !err.contains("panicked"),
                    "seed {seed:#x}, run {run}: qfront {} ended with {status}: {err}",
                    shown.join(" ")
                );
                *codes.entry(code.unwrap_or(-1)).or_default() += 1;
            }
        }
    }
    eprintln!("{runs} runs: exit codes {codes:?}, {stopped} stopped after 3 s");
    // The templates are valid, so a good share of runs gets past argument parsing.
    let parsed = runs - codes.get(&2).copied().unwrap_or(0);
    assert!(
        parsed * 3 >= runs,
        "only {parsed} of {runs} runs got past argument parsing"
    );
    std::fs::remove_dir_all(&dir).ok();
}
