//! The device hook: run a command template (e.g. `ssh board qfront bench latency {model}`)
//! and read latency figures from what it prints. qfront copies nothing itself; the template
//! decides how the model reaches the device.
//!
//! Accepted outputs (the first that matches wins):
//! * qfront's JSON lines, `{"metric": "median_ms", "value": 0.042}` …;
//! * TFLite `benchmark_model`: `Inference timings in us: Init: …, First inference: …,
//!   Warmup (avg): …, Inference (avg): X` (X µs → mean_ms);
//! * ExecuTorch `executor_runner`: `Model executed successfully N time(s) in X ms.`
//!   (X/N → mean_ms);
//! * PyTorch `speed_benchmark_torch`: `Main run finished. Microseconds per iter: X.`
//! * ONNX Runtime `onnxruntime_perf_test`: `Average inference time cost: X ms`.

use crate::{Result, RtError};
use std::collections::BTreeMap;
use std::process::Command;

/// Figures parsed from a device tool: metric name → value.
pub type DeviceFigures = BTreeMap<String, f64>;

/// Quotes `text` for a POSIX shell: single quotes, each inner `'` written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Substitutes `{model}` (shell-quoted, so a path with spaces or `;` stays one argument and
/// runs nothing), `{batch}` and `{threads}` in `template`.
pub fn expand_template(template: &str, model: &str, batch: usize, threads: usize) -> String {
    template
        .replace("{model}", &shell_quote(model))
        .replace("{batch}", &batch.to_string())
        .replace("{threads}", &threads.to_string())
}

fn number_after<'a>(text: &'a str, marker: &str) -> Option<(f64, &'a str)> {
    let at = text.find(marker)? + marker.len();
    let rest = text[at..].trim_start();
    let end = rest
        .find(|c: char| {
            !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')
        })
        .unwrap_or(rest.len());
    let value = rest[..end].trim_end_matches('.').parse().ok()?;
    Some((value, &rest[end..]))
}

/// Parses a device tool's stdout.
pub fn parse_device_output(stdout: &str) -> Option<DeviceFigures> {
    let mut figures = DeviceFigures::new();
    for line in stdout.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) {
            if let (Some(name), Some(value)) = (v["metric"].as_str(), v["value"].as_f64()) {
                figures.insert(name.to_string(), value);
            }
        }
    }
    if !figures.is_empty() {
        return Some(figures);
    }
    if let Some((us, _)) = number_after(stdout, "Inference (avg):") {
        figures.insert("mean_ms".into(), us / 1e3);
        return Some(figures);
    }
    if let Some((runs, rest)) = number_after(stdout, "Model executed successfully") {
        if let Some((ms, _)) = number_after(rest, "time(s) in") {
            if runs > 0.0 {
                figures.insert("mean_ms".into(), ms / runs);
                figures.insert("loops".into(), runs);
                return Some(figures);
            }
        }
    }
    if let Some((us, _)) = number_after(stdout, "Microseconds per iter:") {
        figures.insert("mean_ms".into(), us / 1e3);
        return Some(figures);
    }
    if let Some((ms, _)) = number_after(stdout, "Average inference time cost:") {
        figures.insert("mean_ms".into(), ms);
        return Some(figures);
    }
    None
}

/// Runs `command` with `sh -c` and parses its output.
pub fn run_device_command(command: &str) -> Result<DeviceFigures> {
    let fail = |reason: String| RtError::Parameter {
        name: "device command",
        reason,
    };
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .output()
        .map_err(|e| fail(format!("cannot run `{command}`: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(format!(
            "`{command}` exited with {}: {}",
            output.status,
            stderr.trim().lines().last().unwrap_or("")
        )));
    }
    parse_device_output(&stdout).ok_or_else(|| {
        fail(format!(
            "`{command}` printed no latency figures (expected qfront JSON lines, TFLite, ExecuTorch, PyTorch or ONNX Runtime benchmark output)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_formats() {
        let q = parse_device_output("{\"machine\":{}}\n{\"metric\":\"median_ms\",\"value\":0.25}\n{\"metric\":\"loops\",\"value\":100}\n").unwrap();
        assert_eq!(q["median_ms"], 0.25);
        assert_eq!(q["loops"], 100.0);
        let t = parse_device_output("STARTING!\nInference timings in us: Init: 3021, First inference: 812, Warmup (avg): 433.5, Inference (avg): 421.25\n").unwrap();
        assert!((t["mean_ms"] - 0.42125).abs() < 1e-12);
        let e =
            parse_device_output("I 00:00:01 Model executed successfully 20 time(s) in 5.5 ms.\n")
                .unwrap();
        assert!((e["mean_ms"] - 0.275).abs() < 1e-12);
        let o = parse_device_output(
            "Session creation time cost: 0.0101 s\nTotal inference time cost: 0.46 s\nTotal inference requests: 10000\nAverage inference time cost: 0.0463 ms\n",
        )
        .unwrap();
        assert!((o["mean_ms"] - 0.0463).abs() < 1e-12);
        let p = parse_device_output(
            "Main run finished. Microseconds per iter: 1234.5. Iters per second: 810.0\n",
        )
        .unwrap();
        assert!((p["mean_ms"] - 1.2345).abs() < 1e-12);
        assert!(parse_device_output("nothing here").is_none());
    }

    #[test]
    fn runs_a_template_and_reports_failures() {
        let cmd = expand_template(
            "echo '{\"metric\":\"median_ms\",\"value\":{batch}.5}'",
            "m.qfm",
            3,
            1,
        );
        assert_eq!(run_device_command(&cmd).unwrap()["median_ms"], 3.5);
        let err = run_device_command("echo oops >&2; exit 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("oops"), "{err}");
        assert!(run_device_command("echo hello")
            .unwrap_err()
            .to_string()
            .contains("no latency figures"));
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::*;

    #[test]
    fn a_model_path_cannot_inject_a_command() {
        let cmd = expand_template("cat {model}", "/tmp/a b; touch /tmp/pwned'x.qfm", 1, 1);
        assert_eq!(cmd, "cat '/tmp/a b; touch /tmp/pwned'\\''x.qfm'");
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &expand_template("printf %s {model}", "a b;'c\"$d", 1, 1),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b;'c\"$d");
    }
}
