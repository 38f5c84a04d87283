//! The interactive part of a study's report page: the trials as JSON in the page and a small
//! script written for it (`page.js`, no library, nothing fetched at view time) that draws a
//! scatter plot of every pair of objectives (front highlighted and drawn as a step line, log
//! axes past a 30× span), shows a trial on hover, opens its panel on click (parameters,
//! metrics, the export command, links to its model files), parallel coordinates of the
//! parameters and objectives with brushing, the hypervolume trace and the SAAS importance,
//! and lists every trial in a sortable, filterable table (following the brush), with the
//! failed ones and their errors.

use crate::config::Study;
use crate::store::StoredTrial;
use std::collections::BTreeSet;
use std::path::Path;

/// The page's script.
const SCRIPT: &str = include_str!("page.js");

/// The page's styles for the interactive part.
pub(crate) const STYLE: &str = "\
.scatter{margin:6px;background:#fff} .scatter .frame{fill:none;stroke:#999} \
.scatter text{font-size:11px;fill:#333} .scatter .label{font-size:12px} .tick{stroke:#999} \
.point{fill:#7a9cc6;fill-opacity:.7;cursor:pointer} .point.front{fill:#d62728;fill-opacity:1} \
.point.selected{stroke:#000;stroke-width:2.5} .front-line{fill:none;stroke:#d62728;stroke-width:1.2} \
.tooltip{position:absolute;display:none;white-space:pre;background:#fffff0;border:1px solid #888;\
padding:4px 6px;font:12px monospace;pointer-events:none;z-index:10} \
#selected{border:1px solid #ccc;padding:6px 10px;margin:8px 0;min-height:40px} \
.sortable{cursor:pointer} .front-row{background:#fdecea} #trials tr[data-trial]{cursor:pointer} \
.error{color:#a00} .chart{margin:6px;background:#fff} .chart .frame{fill:none;stroke:#999} \
.chart text{font-size:11px;fill:#333} .chart .label{font-size:12px} .pc-line{fill:none;stroke:#7a9cc6;stroke-opacity:.5;cursor:pointer} .pc-line.front{stroke:#d62728;stroke-opacity:.9} .pc-line.dimmed{stroke-opacity:.04} .brush{fill:#000;fill-opacity:0;cursor:ns-resize} .brush-range{fill:#ffd54f;fill-opacity:.5} .importance{display:inline-table;margin:6px} .bar{display:inline-block;height:10px;background:#7a9cc6}";

/// Serialises `value` for a `<script>` element: JSON with `</` escaped so no string in it
/// can close the element.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .expect("JSON values serialise")
        .replace("</", "<\\/")
}

/// The HTML of the interactive part: its containers, the data and the script. `front` are
/// the trials on the study's Pareto front; `study_dir` is where `qfront export` finds them;
/// `hypervolume` is the trace after each trial with what its reference point is.
pub(crate) fn interactive_section(
    study: &Study,
    trials: &[StoredTrial],
    front: &[&StoredTrial],
    proposals: &std::collections::BTreeMap<usize, serde_json::Value>,
    study_dir: &Path,
    hypervolume: (&[(usize, f64)], &str),
    importance: Option<&[Vec<f64>]>,
) -> String {
    let names: Vec<&str> = study
        .optimizer
        .space
        .parameters()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let importance = importance.map(|per_objective| {
        study
            .objectives
            .iter()
            .zip(per_objective)
            .map(|(o, values)| {
                let pairs: Vec<serde_json::Value> = names
                    .iter()
                    .zip(values)
                    .map(|(n, v)| serde_json::json!([n, v]))
                    .collect();
                (o.metric.clone(), serde_json::Value::Array(pairs))
            })
            .collect::<serde_json::Map<String, serde_json::Value>>()
    });
    let on_front: BTreeSet<usize> = front.iter().map(|t| t.number).collect();
    let data = serde_json::json!({
        "name": study.config.name,
        "objectives": study.objectives.iter().map(|o| serde_json::json!({
            "metric": o.metric,
            "maximize": !o.minimize,
        })).collect::<Vec<_>>(),
        "trials": trials.iter().map(|t| serde_json::json!({
            "number": t.number,
            "state": t.state,
            "params": t.params,
            "metrics": t.metrics,
            "error": t.error,
            "note": t.note,
            "proposal": proposals.get(&t.number),
            "front": on_front.contains(&t.number),
            "layers": (t.state == crate::store::TrialRowState::Complete)
                .then(|| layer_summary(&study_dir.join("trials").join(t.number.to_string()).join("model.qfm")))
                .flatten(),
            // Per-node latency where the study measured it on this machine.
            "latency_nodes": (t.state == crate::store::TrialRowState::Complete)
                .then(|| std::fs::read_to_string(study_dir.join("trials").join(t.number.to_string()).join("latency_nodes.json")).ok())
                .flatten()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok()),
        })).collect::<Vec<_>>(),
        "export_command": format!(
            "qfront export --trial {{trial}} --dir {} trial-{{trial}}.qfm",
            shell_quote(&study_dir.to_string_lossy())
        ),
        "onnx": study.config.onnx,
        "hypervolume": hypervolume.0,
        "hypervolume_reference": hypervolume.1,
        "importance": importance,
    });
    format!(
        "<h2>Explore the trials</h2>\n<p>Hover a point to see its trial, click it to open it below. \
Red: the Pareto front over all objectives.</p>\n<div id=\"plots\"></div>\n\
<div id=\"selected\"><p>Click a point or a row to see its trial.</p></div>\n\
<h2>Parameters and objectives</h2>\n<p>Drag along an axis to keep the trials in that range \
(the table follows); double-click the axis to clear it.</p>\n<div id=\"parallel-box\"></div>\n\
<div id=\"trace-box\"></div><div id=\"importance-box\"></div>\n\
<h2>All trials</h2>\n<p><input id=\"filter\" placeholder=\"filter (any text)\" size=\"40\"> \
<span id=\"trial-count\"></span></p>\n<table id=\"trials\"></table>\n\
<h2>Failed trials</h2>\n<ul id=\"failed\"></ul>\n\
<script>window.STUDY = {};</script>\n<script>{}</script>\n",
        script_json(&data),
        SCRIPT
    )
}

/// The layers of a trial's `.qfm` as the panel shows them: name, operation, weight bits,
/// output activation bits (none for the logits) and outputs (channels or features), from the
/// file's graph alone (`QfmFile::read_graph`); `None` when the file is missing or unreadable
/// (the panel then shows no layer table).
fn layer_summary(path: &Path) -> Option<Vec<serde_json::Value>> {
    use qfront_rt::format::{Op, OutputStage};
    let model = qfront_rt::QfmFile::read_graph(path).ok()?;
    Some(
        model
            .nodes
            .iter()
            .filter_map(|node| {
                let (kind, params) = match &node.op {
                    Op::Linear { params } => ("linear", params),
                    Op::Conv2d { params, groups, .. } if *groups > 1 => ("grouped conv", params),
                    Op::Conv2d { params, .. } => ("conv", params),
                    Op::Embedding { weights } => {
                        return Some(serde_json::json!({
                            "name": node.name, "op": "embedding", "weight_bits": weights.bits,
                            "activation_bits": 8, "outputs": weights.columns,
                        }))
                    }
                    _ => return None,
                };
                let activation = match &params.output {
                    OutputStage::Requantize { output, .. } => Some(output.bits),
                    OutputStage::Logits { .. } => None,
                };
                Some(serde_json::json!({
                    "name": node.name, "op": kind, "weight_bits": params.weights.bits,
                    "activation_bits": activation, "outputs": params.weights.rows,
                }))
            })
            .collect(),
    )
}

/// `text` quoted for a POSIX shell when it holds anything but safe characters.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_the_script_element() {
        let value = serde_json::json!({"error": "</script><script>alert(1)</script>"});
        let text = script_json(&value);
        assert!(!text.contains("</"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("runs/snips-nlu"), "runs/snips-nlu");
        assert_eq!(shell_quote("my runs/it's"), "'my runs/it'\\''s'");
    }
}
