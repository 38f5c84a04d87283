//! `qfront report`: a static HTML page with PNG and SVG plots of a study — the Pareto front
//! (every pair of objectives, and the 3-D front), the hypervolume after each trial, parallel
//! coordinates of the parameters, and the SAAS importance of each parameter per objective.
//! Drawn with plotters; text uses the DejaVu Sans font shipped in `assets/` (Bitstream Vera
//! licence, `assets/DejaVuSans-LICENSE.txt`), so no system font is needed.

use crate::config::Study;
use crate::plot_axis::Axis;
use crate::search::pareto_trials;
use crate::store::{StoredTrial, TrialRowState};
use crate::{Result, StudyError};
use plotters::coord::Shift;
use plotters::prelude::*;
use qfront_bo::moo::hypervolume;
use qfront_bo::space::ParamValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

mod importance;
mod one_bitwidth_figure;

pub use importance::importance;
use importance::importance_plot;
pub use one_bitwidth_figure::plot_one_bitwidth;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const SIZE: (u32, u32) = (760, 520);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped with the crate.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn plot_error(what: &str, e: impl std::fmt::Display) -> StudyError {
    StudyError::Store {
        path: what.to_string(),
        reason: format!("cannot draw: {e}"),
    }
}

/// Complete trials with their objective values in the study's units.
/// Complete trials with every objective reported (finite): the ones plots can place.
fn complete<'a>(study: &Study, trials: &'a [StoredTrial]) -> Vec<&'a StoredTrial> {
    trials
        .iter()
        .filter(|t| {
            t.state == TrialRowState::Complete
                && crate::search::objective_point(study, &t.metrics).is_some()
        })
        .collect()
}

/// A metric of a trial `complete` kept (NaN if absent, which `complete` rules out for
/// objectives).
fn metric(t: &StoredTrial, name: &str) -> f64 {
    t.metrics.get(name).copied().unwrap_or(f64::NAN)
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-3).max(1e-12);
    (lo - pad, hi + pad)
}

fn scatter<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    study: &Study,
    trials: &[StoredTrial],
    a: usize,
    b: usize,
) -> std::result::Result<(), String> {
    let (xa, xb) = (&study.objectives[a].metric, &study.objectives[b].metric);
    let all = complete(study, trials);
    let front: Vec<usize> = pareto_trials(study, trials)
        .iter()
        .map(|t| t.number)
        .collect();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let x_axis = Axis::for_values(all.iter().map(|t| t.metrics[xa]));
    let y_axis = Axis::for_values(all.iter().map(|t| t.metrics[xb]));
    let point = |t: &StoredTrial| (x_axis.to_plot(t.metrics[xa]), y_axis.to_plot(t.metrics[xb]));
    let x = range(all.iter().map(|t| point(t).0));
    let y = range(all.iter().map(|t| point(t).1));
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{xa} vs {xb} (front in red)"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(|e| e.to_string())?;
    let (x_label, y_label) = (|t: &f64| Axis::log_label(*t), |t: &f64| Axis::log_label(*t));
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_axis.describe(xa))
        .y_desc(y_axis.describe(xb))
        .label_style(("sans-serif", 13));
    // Linear axes keep plotters' own tick labels, which show as many digits as the range needs.
    if x_axis == Axis::Log {
        mesh.x_label_formatter(&x_label);
    }
    if y_axis == Axis::Log {
        mesh.y_label_formatter(&y_label);
    }
    mesh.draw().map_err(|e| e.to_string())?;
    chart
        .draw_series(
            all.iter()
                .filter(|t| !front.contains(&t.number))
                .map(|t| Circle::new(point(t), 4, RGBColor(150, 150, 150).filled())),
        )
        .map_err(|e| e.to_string())?;
    let mut on_front: Vec<(f64, f64)> = all
        .iter()
        .filter(|t| front.contains(&t.number))
        .map(|t| point(t))
        .collect();
    on_front.sort_by(|p, q| p.0.total_cmp(&q.0));
    chart
        .draw_series(on_front.iter().map(|&p| Circle::new(p, 5, RED.filled())))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn front_3d<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    study: &Study,
    trials: &[StoredTrial],
) -> std::result::Result<(), String> {
    let names: Vec<&String> = study.objectives.iter().take(3).map(|o| &o.metric).collect();
    let all = complete(study, trials);
    let front: Vec<usize> = pareto_trials(study, trials)
        .iter()
        .map(|t| t.number)
        .collect();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let r: Vec<(f64, f64)> = names
        .iter()
        .map(|n| range(all.iter().map(|t| t.metrics[*n])))
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Pareto front: {}, {}, {}", names[0], names[1], names[2]),
            ("sans-serif", 20),
        )
        .margin(12)
        .build_cartesian_3d(r[0].0..r[0].1, r[1].0..r[1].1, r[2].0..r[2].1)
        .map_err(|e| e.to_string())?;
    chart.with_projection(|mut p| {
        p.yaw = 0.6;
        p.pitch = 0.3;
        p.scale = 0.8;
        p.into_matrix()
    });
    chart
        .configure_axes()
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| e.to_string())?;
    let point = |t: &&StoredTrial| {
        (
            t.metrics[names[0]],
            t.metrics[names[1]],
            t.metrics[names[2]],
        )
    };
    chart
        .draw_series(
            all.iter()
                .filter(|t| !front.contains(&t.number))
                .map(|t| Circle::new(point(t), 3, RGBColor(150, 150, 150).filled())),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            all.iter()
                .filter(|t| front.contains(&t.number))
                .map(|t| Circle::new(point(t), 5, RED.filled())),
        )
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The point the report's hypervolume is measured against (maximization frame) and how it
/// was chosen: the study's own `reference_point` where its config gives one (the worst value
/// the user accepts in each objective, the point the optimizer measures against too), else
/// the worst observed value of each objective over the complete trials.
pub fn hypervolume_reference(study: &Study, trials: &[StoredTrial]) -> (Vec<f64>, String) {
    if let Some(given) = &study.optimizer.reference_point {
        let units: Vec<String> = study
            .objectives
            .iter()
            .zip(given)
            .map(|(o, v)| format!("{} {}", o.metric, o.signed(*v)))
            .collect();
        return (
            given.clone(),
            format!("the study's reference_point: {}", units.join(", ")),
        );
    }
    let points: Vec<Vec<f64>> = complete(study, trials)
        .iter()
        .map(|t| {
            crate::search::objective_point(study, &t.metrics)
                .expect("complete() keeps only trials with every objective")
        })
        .collect();
    let reference = (0..study.objectives.len())
        .map(|i| points.iter().map(|p| p[i]).fold(f64::INFINITY, f64::min))
        .collect();
    (reference, "worst observed values".into())
}

/// Hypervolume of the feasible front after each trial, against `reference` (maximization
/// frame, [`hypervolume_reference`]); a trial not strictly better than it in every
/// objective adds nothing.
pub fn hypervolume_trace(
    study: &Study,
    trials: &[StoredTrial],
    reference: &[f64],
) -> Vec<(usize, f64)> {
    // The front of the trials numbered up to each trial, kept incrementally (a new point
    // either is weakly dominated and changes nothing, or joins and drops what it dominates),
    // so the trace costs O(n·front) rather than a Pareto filter per trial.
    let feasible = |t: &StoredTrial| {
        t.state == TrialRowState::Complete && crate::search::is_feasible(study, &t.metrics)
    };
    let mut order: Vec<&StoredTrial> = trials.iter().collect();
    order.sort_by_key(|t| t.number);
    let mut front: Vec<Vec<f64>> = Vec::new();
    let mut hv = 0.0;
    let mut trace = Vec::with_capacity(order.len());
    for t in order {
        let point = feasible(t)
            .then(|| crate::search::objective_point(study, &t.metrics))
            .flatten();
        if let Some(p) = point {
            if !front
                .iter()
                .any(|q| qfront_bo::moo::weakly_dominates(q, &p))
            {
                front.retain(|q| !qfront_bo::moo::weakly_dominates(&p, q));
                front.push(p);
                hv = if reference.iter().any(|r| !r.is_finite()) {
                    0.0
                } else {
                    hypervolume(&front, reference).unwrap_or(0.0)
                };
            }
        }
        trace.push((t.number, hv));
    }
    trace
}

fn hv_plot<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    trace: &[(usize, f64)],
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let top = trace.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-12) * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption("Hypervolume after each trial", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(trace.len().max(2) as f64), 0f64..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("trial")
        .y_desc("hypervolume")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            trace.iter().map(|&(n, hv)| (n as f64, hv)),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Each complete trial's parameters in the unit cube (the optimizer's encoding), one value
/// per parameter (the mean over a categorical's one-hot block).
fn unit_params(study: &Study, trial: &StoredTrial) -> Option<Vec<f64>> {
    let space = &study.optimizer.space;
    let values: Vec<ParamValue> = space
        .parameters()
        .iter()
        .map(|p| serde_json::from_value(trial.params.get(&p.name)?.clone()).ok())
        .collect::<Option<_>>()?;
    let x = space.encode(&values).ok()?;
    Some(
        (0..space.parameters().len())
            .map(|i| {
                let r = space.encoded_range(i);
                let block = &x[r.clone()];
                if block.len() == 1 {
                    block[0]
                } else {
                    block.iter().position(|&v| v > 0.5).unwrap_or(0) as f64
                        / (block.len() - 1).max(1) as f64
                }
            })
            .collect(),
    )
}

fn parallel<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    study: &Study,
    trials: &[StoredTrial],
) -> std::result::Result<(), String> {
    let names = study.parameter_names();
    let front: Vec<usize> = pareto_trials(study, trials)
        .iter()
        .map(|t| t.number)
        .collect();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Parameters of every trial (front in red)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(90)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..(names.len() as f64 - 0.5), -0.02f64..1.02)
        .map_err(|e| e.to_string())?;
    // Axes are numbered; the page lists the names (long names collide on a shared axis).
    chart
        .configure_mesh()
        .x_labels(names.len())
        .x_label_formatter(&|v| format!("{}", v.round() as usize + 1))
        .x_desc("parameter (numbered as listed under the figure)")
        .y_desc("position in range")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| e.to_string())?;
    for t in complete(study, trials) {
        if let Some(u) = unit_params(study, t) {
            let color = if front.contains(&t.number) {
                RED.stroke_width(2)
            } else {
                RGBColor(170, 170, 170).stroke_width(1)
            };
            chart
                .draw_series(LineSeries::new(
                    u.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                    color,
                ))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

/// The legend of the labelled series, boxed in the lower right corner.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws one figure as SVG and PNG.
fn both(
    dir: &Path,
    name: &str,
    draw: impl Fn(DrawingArea<SVGBackend, Shift>) -> std::result::Result<(), String>,
    draw_png: impl Fn(DrawingArea<BitMapBackend, Shift>) -> std::result::Result<(), String>,
) -> Result<()> {
    let svg = dir.join(format!("{name}.svg"));
    draw(SVGBackend::new(&svg, SIZE).into_drawing_area()).map_err(|e| plot_error(name, e))?;
    let png = dir.join(format!("{name}.png"));
    draw_png(BitMapBackend::new(&png, SIZE).into_drawing_area())
        .map_err(|e| plot_error(name, e))?;
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `out_dir/index.html` with its figures; returns the page's path. `proposals` says,
/// by trial number, how the optimizer chose each trial (`search::stored_proposals`; the
/// page's trial panel shows it); an empty map leaves it out.
pub fn write_report(
    study: &Study,
    trials: &[StoredTrial],
    proposals: &BTreeMap<usize, serde_json::Value>,
    out_dir: &Path,
) -> Result<PathBuf> {
    // Refused before anything is written: no empty report folder is left behind.
    if complete(study, trials).is_empty() {
        return Err(StudyError::Report {
            reason: "the study has no complete trial yet; run or tell one first \
                     (`qfront search --resume`, `qfront study tell`)"
                .into(),
        });
    }
    register_font();
    std::fs::create_dir_all(out_dir).map_err(|e| StudyError::Io {
        path: out_dir.to_path_buf(),
        error: e,
    })?;
    let mut figures: Vec<(String, String)> = Vec::new();
    let m = study.objectives.len();
    for a in 0..m {
        for b in a + 1..m {
            let name = format!(
                "front-{}-{}",
                study.objectives[a].metric, study.objectives[b].metric
            );
            both(
                out_dir,
                &name,
                |r| scatter(r, study, trials, a, b),
                |r| scatter(r, study, trials, a, b),
            )?;
            figures.push((
                name,
                format!(
                    "{} against {}",
                    study.objectives[a].metric, study.objectives[b].metric
                ),
            ));
        }
    }
    if m >= 3 {
        both(
            out_dir,
            "front-3d",
            |r| front_3d(r, study, trials),
            |r| front_3d(r, study, trials),
        )?;
        figures.push(("front-3d".into(), "the 3-D front".into()));
    }
    let (reference, reference_source) = hypervolume_reference(study, trials);
    let trace = hypervolume_trace(study, trials, &reference);
    both(
        out_dir,
        "hypervolume",
        |r| hv_plot(r, &trace),
        |r| hv_plot(r, &trace),
    )?;
    figures.push((
        "hypervolume".into(),
        format!("hypervolume over trials (reference: {reference_source})"),
    ));
    if !study.optimizer.space.parameters().is_empty() {
        both(
            out_dir,
            "parallel",
            |r| parallel(r, study, trials),
            |r| parallel(r, study, trials),
        )?;
        let key: Vec<String> = study
            .optimizer
            .space
            .parameters()
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{} {}", i + 1, p.name))
            .collect();
        figures.push((
            "parallel".into(),
            format!(
                "parallel coordinates of the parameters ({})",
                key.join(", ")
            ),
        ));
    }
    let importance_values = importance(study, trials);
    if let Some(values) = &importance_values {
        both(
            out_dir,
            "importance",
            |r| importance_plot(r, study, values),
            |r| importance_plot(r, study, values),
        )?;
        figures.push((
            "importance".into(),
            "SAAS importance of each parameter".into(),
        ));
    }
    let front = pareto_trials(study, trials);
    let mut rows = String::new();
    for t in &front {
        rows += &format!("<tr><td>{}</td>", t.number);
        for o in &study.objectives {
            rows += &format!("<td>{:.5}</td>", metric(t, &o.metric));
        }
        rows += &format!(
            "<td>{:.4}</td><td><code>{}</code></td></tr>\n",
            t.metrics.get("test_accuracy").copied().unwrap_or(f64::NAN),
            html_escape(&serde_json::to_string(&t.params).unwrap_or_default())
        );
    }
    let header: String = study
        .objectives
        .iter()
        .map(|o| format!("<th>{}</th>", html_escape(&o.label())))
        .collect();
    let images: String = figures
        .iter()
        .map(|(name, caption)| format!("<figure><img src=\"{name}.svg\" alt=\"{c}\"><figcaption>{c} — <a href=\"{name}.png\">PNG</a>, <a href=\"{name}.svg\">SVG</a></figcaption></figure>\n", c = html_escape(caption)))
        .collect();
    let failed = trials
        .iter()
        .filter(|t| t.state == TrialRowState::Failed)
        .count();
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>qfront study {name}</title>\n<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:3px 6px}} figure{{display:inline-block;margin:8px}} img{{width:520px}} {style}</style></head><body>\n<h1>Study {name}</h1>\n<p>{dataset}, {family}; optimizer {optimizer}; {n} trials ({failed} failed); objectives {objectives}; constraints {constraints}.</p>\n{interactive}<h2>Pareto front ({f} trials)</h2>\n<p>Accuracy is validation accuracy (what the search optimized); test accuracy is reported for the front only.</p>\n<table><tr><th>trial</th>{header}<th>test accuracy</th><th>parameters</th></tr>\n{rows}</table>\n<h2>Figures</h2>\n{images}</body></html>\n",
        name = html_escape(&study.config.name),
        style = crate::report_page::STYLE,
        interactive = crate::report_page::interactive_section(
            study,
            trials,
            &front,
            proposals,
            out_dir.parent().unwrap_or(out_dir),
            (&trace, &reference_source),
            importance_values.as_deref(),
        ),
        dataset = html_escape(&study.config.dataset_name()),
        family = html_escape(study.config.family.as_deref().unwrap_or("-")),
        optimizer = html_escape(&study.config.optimizer),
        n = trials.len(),
        objectives = html_escape(&study.config.objectives.join(", ")),
        constraints = if study.config.constraints.is_empty() { "none".into() } else { html_escape(&study.config.constraints.join(", ")) },
        f = front.len(),
    );
    let path = out_dir.join("index.html");
    std::fs::write(&path, page).map_err(|e| StudyError::Io {
        path: path.clone(),
        error: e,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests;
