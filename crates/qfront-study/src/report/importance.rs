//! The SAAS importance figure of the report: each parameter's importance per objective, from
//! a SAAS GP fitted on the study's trials (Eriksson & Jankowiak 2021: the inverse squared
//! lengthscales of the sparse axis-aligned subspace prior).

use super::{complete, draw_legend, metric};
use crate::config::Study;
use crate::store::StoredTrial;
use plotters::coord::Shift;
use plotters::prelude::*;
use qfront_bo::gp::{fit_saas, SaasOptions};
use qfront_bo::space::ParamValue;

/// Most trials the importance fit reads (a subset chosen as the optimizer chooses its own
/// past 256 trials: the best half by non-dominated sorting and a seeded sample).
const IMPORTANCE_MAX_TRIALS: usize = 128;

/// SAAS importance (normalized inverse median lengthscale, summed over a parameter's encoded
/// dimensions) of each parameter for each objective, on at most 128 trials; `None` with fewer
/// than 4 complete trials.
pub fn importance(study: &Study, trials: &[StoredTrial]) -> Option<Vec<Vec<f64>>> {
    let rows: Vec<(Vec<f64>, &StoredTrial)> = complete(study, trials)
        .into_iter()
        .filter_map(|t| {
            let values: Vec<ParamValue> = study
                .optimizer
                .space
                .parameters()
                .iter()
                .map(|p| serde_json::from_value(t.params.get(&p.name)?.clone()).ok())
                .collect::<Option<_>>()?;
            Some((study.optimizer.space.encode(&values).ok()?, t))
        })
        .collect();
    if rows.len() < 4 {
        return None;
    }
    // A long study is summarised on a subset (the same rule the optimizer fits on), since
    // the NUTS fit costs O(n³) per step.
    let points: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| crate::search::objective_point(study, &r.1.metrics).unwrap_or_default())
        .collect();
    let keep = qfront_bo::moo::model_subset(
        &points,
        study.objectives.len(),
        IMPORTANCE_MAX_TRIALS,
        study.config.seed,
    );
    let rows: Vec<&(Vec<f64>, &StoredTrial)> = keep.iter().map(|&i| &rows[i]).collect();
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.0.clone()).collect();
    let options = SaasOptions {
        warmup: 128,
        samples: 64,
        thinning: 8,
        ..SaasOptions::default()
    };
    let space = &study.optimizer.space;
    study
        .objectives
        .iter()
        .map(|o| {
            let y: Vec<f64> = rows.iter().map(|r| metric(r.1, &o.metric)).collect();
            let mean = y.iter().sum::<f64>() / y.len() as f64;
            let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / y.len() as f64)
                .sqrt()
                .max(1e-12);
            let y: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
            let gp = fit_saas(&x, &y, &options).ok()?;
            let per_dim = gp.importance();
            Some(
                (0..space.parameters().len())
                    .map(|i| space.encoded_range(i).map(|d| per_dim[d]).sum())
                    .collect(),
            )
        })
        .collect()
}

pub(super) fn importance_plot<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    study: &Study,
    values: &[Vec<f64>],
) -> std::result::Result<(), String> {
    let names: Vec<String> = study
        .optimizer
        .space
        .parameters()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let m = study.objectives.len();
    let top = values
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-6)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "SAAS importance per parameter and objective",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d(0f64..top, -0.5f64..(names.len() as f64 - 0.5))
        .map_err(|e| e.to_string())?;
    let labels = names.clone();
    chart
        .configure_mesh()
        .y_labels(names.len())
        .y_label_formatter(&move |v| labels.get(v.round() as usize).cloned().unwrap_or_default())
        .x_desc("importance (normalized inverse lengthscale)")
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(|e| e.to_string())?;
    let palette = [RED, BLUE, GREEN, MAGENTA, CYAN];
    let height = 0.8 / m as f64;
    for (k, (objective, row)) in study.objectives.iter().zip(values).enumerate() {
        let color = palette[k % palette.len()];
        chart
            .draw_series(row.iter().enumerate().map(|(i, &v)| {
                let y0 = i as f64 - 0.4 + k as f64 * height;
                Rectangle::new([(0.0, y0), (v, y0 + height)], color.filled())
            }))
            .map_err(|e| e.to_string())?
            .label(objective.metric.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    draw_legend(&mut chart)?;
    root.present().map_err(|e| e.to_string())
}
