//! The figure of `qfront search one-bitwidth`: validation accuracy against mean weight bits
//! at one model size, uniform bit widths as a line and mixed precision as points.

use super::{both, draw_legend, range, register_font};
use crate::{Result, StudyError};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// The one-bitwidth figure: validation accuracy against mean weight bits at one model size.
pub fn plot_one_bitwidth(
    comparison: &crate::one_bitwidth::Comparison,
    dir: &Path,
) -> Result<PathBuf> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| StudyError::Io {
        path: dir.to_path_buf(),
        error: e,
    })?;
    fn figure<DB: DrawingBackend>(
        root: DrawingArea<DB, Shift>,
        c: &crate::one_bitwidth::Comparison,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let x = range(c.rows.iter().map(|r| r.mean_bits));
        let y = range(c.rows.iter().map(|r| r.accuracy));
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Accuracy at {:.1} KiB: uniform (line) vs mixed precision (points)",
                    c.target_kb
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("weight bits (mean over searched layers)")
            .y_desc("validation accuracy")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        let mut uniform: Vec<(f64, f64)> = c
            .rows
            .iter()
            .filter(|r| r.kind == "uniform")
            .map(|r| (r.mean_bits, r.accuracy))
            .collect();
        uniform.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(uniform.clone(), BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("uniform")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
        chart
            .draw_series(uniform.iter().map(|&p| Circle::new(p, 5, BLUE.filled())))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                c.rows
                    .iter()
                    .filter(|r| r.kind == "mixed")
                    .map(|r| Circle::new((r.mean_bits, r.accuracy), 5, RED.filled())),
            )
            .map_err(|e| e.to_string())?
            .label("mixed precision")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, RED.filled()));
        draw_legend(&mut chart)?;
        root.present().map_err(|e| e.to_string())
    }
    both(
        dir,
        "one-bitwidth",
        |r| figure(r, comparison),
        |r| figure(r, comparison),
    )?;
    Ok(dir.join("one-bitwidth.svg"))
}
