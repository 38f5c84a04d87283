//! `qfront report --serve`: the report page of a study, served over HTTP while the study runs
//! (tiny_http, loopback by default). The page is rewritten from the store when a trial has
//! finished since the last request, and a small script in the served page asks `/state`
//! every few seconds and reloads when the study has changed. Files: `/` (the page), the
//! report's figures by name, and `/trials/<n>/model.qfm` / `model.onnx` (the links of the
//! trial panel). Nothing else on disk is reachable.

use super::storage::StorageArgs;
use anyhow::{Context, Result};
use qfront_study::search::stored_proposals;
use qfront_study::store::StoredTrial;
use std::path::{Path, PathBuf};

/// What changes when the study does: trials, finished ones, and the last finish time.
fn fingerprint(trials: &[StoredTrial]) -> String {
    let finished = trials.iter().filter(|t| t.state.is_finished()).count();
    let last = trials
        .iter()
        .filter_map(|t| t.finished)
        .fold(0.0f64, f64::max);
    format!("{}-{finished}-{last}", trials.len())
}

/// The live-refresh script added to the served page.
const LIVE: &str = "<script>(function(){let seen=null;setInterval(async()=>{try{\
const r=await fetch('/state');const s=(await r.json()).state;\
if(seen!==null&&s!==seen)location.reload();seen=s;}catch(e){}},3000);})();</script>";

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The file a request path names, if it is one the server shows.
fn resolve(url: &str, report: &Path, study_dir: &Path) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let safe = |p: &str| {
        !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    match parts.as_slice() {
        [name] if safe(name) && matches!(content_type(name), "image/svg+xml" | "image/png") => {
            Some(report.join(name))
        }
        ["trials", n, file]
            if n.chars().all(|c| c.is_ascii_digit())
                && matches!(*file, "model.qfm" | "model.onnx") =>
        {
            Some(study_dir.join("trials").join(n).join(file))
        }
        _ => None,
    }
}

/// Serves the study's report on `host:port` until interrupted (port 0: any free port). Prints
/// `{"serving": URL}` on stdout once listening.
pub fn serve(storage: &StorageArgs, out: Option<PathBuf>, host: &str, port: u16) -> Result<()> {
    let (study, mut store, dir) = storage.open_stored()?;
    let report = out.unwrap_or_else(|| dir.join("report"));
    let server = tiny_http::Server::http((host, port))
        .map_err(|e| anyhow::anyhow!("cannot listen on {host}:{port}: {e}"))?;
    let address = server
        .server_addr()
        .to_ip()
        .context("the server has no IP address")?;
    println!(
        "{}",
        serde_json::json!({"serving": format!("http://{address}/")})
    );
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(%address, "serving the report (Ctrl-C stops)");
    let mut written: Option<String> = None;
    for request in server.incoming_requests() {
        let url = request.url().to_string();
        let respond = |request: tiny_http::Request, status: u16, body: Vec<u8>, kind: &str| {
            let header =
                tiny_http::Header::from_bytes("Content-Type", kind).expect("a valid header");
            let response = tiny_http::Response::from_data(body)
                .with_status_code(status)
                .with_header(header);
            if let Err(e) = request.respond(response) {
                tracing::warn!(%e, "a response was not delivered");
            }
        };
        let path = url.split(['?', '#']).next().unwrap_or("").to_string();
        if path == "/state" {
            let body = match store.trials() {
                Ok(trials) => serde_json::json!({"state": fingerprint(&trials)}),
                Err(e) => serde_json::json!({"error": e.to_string()}),
            };
            respond(
                request,
                200,
                body.to_string().into_bytes(),
                "application/json",
            );
        } else if path == "/" || path == "/index.html" {
            let page = store
                .trials()
                .map_err(anyhow::Error::from)
                .and_then(|trials| {
                    let now = fingerprint(&trials);
                    if written.as_deref() != Some(now.as_str()) {
                        let proposals = stored_proposals(&study, &mut store)?;
                        qfront_study::report::write_report(&study, &trials, &proposals, &report)?;
                        written = Some(now);
                    }
                    Ok(std::fs::read_to_string(report.join("index.html"))?)
                });
            match page {
                Ok(html) => {
                    let html = html.replacen("</body>", &format!("{LIVE}</body>"), 1);
                    respond(request, 200, html.into_bytes(), "text/html; charset=utf-8")
                }
                Err(e) => respond(
                    request,
                    503,
                    format!("no report yet: {e}\n").into_bytes(),
                    "text/plain; charset=utf-8",
                ),
            }
        } else {
            match resolve(&path, &report, &dir).and_then(|file| std::fs::read(&file).ok()) {
                Some(bytes) => respond(request, 200, bytes, content_type(&path)),
                None => respond(request, 404, b"not found\n".to_vec(), "text/plain"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_figures_and_trial_models_are_served() {
        let (report, dir) = (Path::new("/r"), Path::new("/s"));
        assert_eq!(
            resolve("/front-a-b.svg", report, dir),
            Some(PathBuf::from("/r/front-a-b.svg"))
        );
        assert_eq!(
            resolve("/trials/12/model.onnx?x", report, dir),
            Some(PathBuf::from("/s/trials/12/model.onnx"))
        );
        for bad in [
            "/../study.db",
            "/study.db",
            "/trials/1/../../etc/passwd",
            "/trials/x/model.qfm",
            "/trials/1/checkpoint",
            "/.hidden.svg",
            "/a/b.svg",
        ] {
            assert_eq!(resolve(bad, report, dir), None, "{bad}");
        }
    }
}
