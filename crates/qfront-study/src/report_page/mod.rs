//! The interactive part of a study's report page: the trials as JSON in the page and a small
//! script written for it (`page.js`, no library, nothing fetched at view time) that draws a
//! scatter plot of every pair of objectives (front highlighted and drawn as a step line, log
//! axes past a 30× span), shows a trial on hover, opens its panel on click (parameters,
//! metrics, the export command, links to its model files), and lists every trial in a
//! sortable, filterable table, with the failed ones and their errors.

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
.error{color:#a00}";

/// Serialises `value` for a `<script>` element: JSON with `</` escaped so no string in it
/// can close the element.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .expect("JSON values serialise")
        .replace("</", "<\\/")
}

/// The HTML of the interactive part: its containers, the data and the script. `front` are
/// the trials on the study's Pareto front; `study_dir` is where `qfront export` finds them.
pub(crate) fn interactive_section(
    study: &Study,
    trials: &[StoredTrial],
    front: &[&StoredTrial],
    study_dir: &Path,
) -> String {
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
            "front": on_front.contains(&t.number),
        })).collect::<Vec<_>>(),
        "export_command": format!(
            "qfront export --trial {{trial}} --dir {} trial-{{trial}}.qfm",
            shell_quote(&study_dir.to_string_lossy())
        ),
        "onnx": study.config.onnx,
    });
    format!(
        "<h2>Explore the trials</h2>\n<p>Hover a point to see its trial, click it to open it below. \
Red: the Pareto front over all objectives.</p>\n<div id=\"plots\"></div>\n\
<div id=\"selected\"><p>Click a point or a row to see its trial.</p></div>\n\
<h2>All trials</h2>\n<p><input id=\"filter\" placeholder=\"filter (any text)\" size=\"40\"> \
<span id=\"trial-count\"></span></p>\n<table id=\"trials\"></table>\n\
<h2>Failed trials</h2>\n<ul id=\"failed\"></ul>\n\
<script>window.STUDY = {};</script>\n<script>{}</script>\n",
        script_json(&data),
        SCRIPT
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
