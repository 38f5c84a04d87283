//! `qfront report --serve` as a user runs it beside a study: the page, its figures and the
//! trials' models over HTTP, nothing else on disk, and a state that changes when a trial
//! finishes (the served page reloads on it).

mod common;

use common::{qfront_ok, spawn_qfront};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

fn get(base: &str, path: &str) -> (u16, String) {
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_served_report_follows_the_study() {
    let dir = std::env::temp_dir().join(format!("qfront-report-serve-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("study.toml");
    std::fs::write(
        &config,
        "name = \"served\"\ndataset = \"digits\"\nfamily = \"mlp\"\nobjectives = [\"accuracy\", \"-size_kb\"]\n\
         budget = 2\n[fixed]\nepochs = 1\n[latency]\nmax_time = 0.02\n\
         [[parameter]]\nname = \"wbits\"\ntype = \"ordered\"\nvalues = [2, 4, 8]\n",
    )
    .unwrap();
    let run = dir.join("run");
    let (c, r) = (config.to_str().unwrap(), run.to_str().unwrap());
    qfront_ok(&["search", "--config", c, "--dir", r]);
    let mut server = spawn_qfront(&["report", "--dir", r, "--serve", "--port", "0"]);
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let serving: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = serving["serving"].as_str().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let (status, page) = get(&base, "/");
    assert_eq!(status, 200);
    assert!(page.contains("window.STUDY") && page.contains("fetch('/state')"));
    let (_, state) = get(&base, "/state");
    let before: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(get(&base, "/front-accuracy-size_kb.svg").0, 200);
    assert_eq!(get(&base, "/trials/0/model.qfm").0, 200);
    for hidden in [
        "/study.db",
        "/../study.toml",
        "/trials/0/checkpoint",
        "/index.html/../../study.db",
    ] {
        assert_eq!(get(&base, hidden).0, 404, "{hidden}");
    }

    // One more trial: the state moves and the page shows it.
    qfront_ok(&[
        "search", "--config", c, "--dir", r, "--resume", "--budget", "3",
    ]);
    let (_, state) = get(&base, "/state");
    let after: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_ne!(before["state"], after["state"]);
    let (_, page) = get(&base, "/");
    assert!(
        page.contains("\"number\":2"),
        "the third trial is on the page"
    );
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(dir).ok();
}
