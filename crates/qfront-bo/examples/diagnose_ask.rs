//! Diagnoses one ask on a recorded history: the GP fit per objective (the warp chosen,
//! lengthscales, output scale, noise, constant mean), the posterior at probe points, and qNEHVI
//! at the point the acquisition optimizer chose (its local searches started, as the ask's
//! are, from the observed Pareto-optimal points too) against its value at the probes. The
//! ask's removal of unused inputs is not replayed.
//!
//!     cargo run --release -p qfront-bo --example diagnose_ask < history.json
//!     TREND=1 cargo run --release -p qfront-bo --example diagnose_ask < history.json
//!
//! Switches, to take one part of the ask away at a time: `TREND=1` fits the quadratic trend
//! (as an ask with no reference point given does); `MEAN=fitted|worst` sets the constant mean
//! (default: as the ask holds it); `WARP=none` fits plain GPs without the warp choice;
//! `NOISE_MU=-4` sets the noise prior's log-mean (BoTorch's; the engine's is −6); `ACQ=log`
//! scores with qLogNEHVI instead of qNEHVI.
//!
//! `history.json`: `{"x": [[u, ...], ...], "y": [[maximized objectives], ...],
//! "reference": [..] or null, "probes": [[u, ...], ...]}` with `x` in the unit cube.

use qfront_bo::acq::{
    optimize_acquisition, Acquisition, AcquisitionOptimizerOptions, QLogNehvi, Qnehvi,
    QnehviOptions,
};
use qfront_bo::gp::{fit_choosing_warp, ConstantMean, ExactGp, GpFitOptions, YeoJohnson};
use qfront_bo::moo::{hypervolume, infer_reference_point, is_non_dominated};
use qfront_bo::optimizer::WORST_OBSERVED_MEAN_MIN_DIM;
use std::io::Read;

fn main() {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .expect("read stdin");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let rows = |k: &str| -> Vec<Vec<f64>> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        r.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_f64().unwrap())
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (x, y, probes) = (rows("x"), rows("y"), rows("probes"));
    let m = y[0].len();
    let d = x[0].len();
    let reference: Vec<f64> = match v["reference"].as_array() {
        Some(r) => r.iter().map(|x| x.as_f64().unwrap()).collect(),
        None => infer_reference_point(&y, 0.1).unwrap(),
    };
    println!("n = {}, d = {d}, reference = {reference:?}", x.len());
    let inside: Vec<Vec<f64>> = y
        .iter()
        .filter(|p| p.iter().zip(&reference).all(|(a, r)| a > r))
        .cloned()
        .collect();
    println!(
        "observed HV against it: {:.5}",
        if inside.is_empty() {
            0.0
        } else {
            hypervolume(&inside, &reference).unwrap()
        }
    );
    // The constant mean as `Optimizer::ask` holds it: at the worst observation from
    // `WORST_OBSERVED_MEAN_MIN_DIM` inputs on, fitted below; `MEAN=fitted` or `MEAN=worst`
    // chooses.
    let mean = match std::env::var("MEAN").as_deref() {
        Ok("fitted") => ConstantMean::Fitted,
        Ok("worst") => ConstantMean::WorstObserved,
        _ if d >= WORST_OBSERVED_MEAN_MIN_DIM => ConstantMean::WorstObserved,
        _ => ConstantMean::Fitted,
    };
    println!("constant mean: {mean:?}");
    let options = GpFitOptions {
        seed: x.len() as u64,
        // `TREND=1`: the quadratic trend as `Optimizer::ask` fits it with no reference point
        // given (`GpFitOptions::quadratic_trend`).
        quadratic_trend: std::env::var("TREND").is_ok(),
        mean,
        // `NOISE_MU=-4`: the noise prior's log-mean (BoTorch's is −4; the engine's −6).
        noise_prior: match std::env::var("NOISE_MU").ok().and_then(|v| v.parse().ok()) {
            Some(mu) => qfront_bo::gp::LogNormalPrior { mu, sigma: 1.0 },
            None => GpFitOptions::default().noise_prior,
        },
        ..GpFitOptions::default()
    };
    let models: Vec<ExactGp> = (0..m)
        .map(|j| {
            // As `Optimizer::ask` does (up to 128 points): the GP of the Yeo–Johnson-warped
            // values, answering in the objective's own units, unless a plain GP predicts the
            // better half of the values better (`gp::fit_choosing_warp`).
            let column: Vec<f64> = y.iter().map(|r| r[j]).collect();
            let warp = YeoJohnson::fit(&column);
            // `WARP=none`: a plain GP of the standardized values, no warp considered.
            let unwarped = std::env::var("WARP").as_deref() == Ok("none");
            let gp = if unwarped {
                ExactGp::fit(&x, &column, &options).unwrap()
            } else {
                fit_choosing_warp(&x, &column, warp, true, &options)
                    .unwrap()
                    .0
            };
            let verdict = match gp.output_warp() {
                _ if unwarped => "not considered (WARP=none)",
                None => "the plain GP chosen",
                Some(w) if *w != warp => "the log warp above the worst value chosen",
                Some(_) if warp.lambda == 1.0 => "the identity (standardized only)",
                Some(_) => "kept",
            };
            println!(
                "objective {j}: Yeo–Johnson λ = {:.3}, {verdict}",
                warp.lambda
            );
            gp
        })
        .collect();
    for (j, gp) in models.iter().enumerate() {
        let h = gp.hyperparameters();
        println!(
            "objective {j}: lengthscales {:?} outputscale {:.3} noise {:.2e} mean {:.3}",
            h.lengthscales
                .iter()
                .map(|l| (l * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
            h.outputscale,
            h.noise,
            h.mean
        );
        let (mean, var) = gp.predict(&probes);
        // The posterior's median and its ±1 sd quantiles in the objective's own units (the
        // warp's inverse applied to the warped frame's quantiles).
        let [low, median, high] = [-1.0, 0.0, 1.0].map(|beta| gp.quantile_in_units(&probes, beta));
        for (i, (p, (mu, s2))) in probes.iter().zip(mean.iter().zip(&var)).enumerate() {
            println!(
                "   probe {p:?}: warped-frame mean {mu:.4} sd {:.4}; in units median {:.4} \
                 (−1 sd {:.4}, +1 sd {:.4})",
                s2.sqrt(),
                median[i],
                low[i],
                high[i]
            );
        }
    }
    let ensemble = vec![models];
    // `ACQ=log`: qLogNEHVI (its value is the log of the expected improvement) instead of qNEHVI.
    let acquisition: Box<dyn Acquisition> = if std::env::var("ACQ").as_deref() == Ok("log") {
        Box::new(QLogNehvi::new(&ensemble, &x, &reference, 0, 128, 7).unwrap())
    } else {
        Box::new(
            Qnehvi::new(
                &ensemble,
                &x,
                &reference,
                &QnehviOptions {
                    mc_samples: 128,
                    seed: 7,
                    constraints: 0,
                },
            )
            .unwrap(),
        )
    };
    // Local starts around the observed Pareto-optimal points, as the ask's.
    let anchors: Vec<Vec<f64>> = is_non_dominated(&y)
        .into_iter()
        .zip(&x)
        .filter(|(keep, _)| *keep)
        .map(|(_, point)| point.clone())
        .collect();
    let (best, value) = optimize_acquisition(
        acquisition.as_ref(),
        d,
        &anchors,
        &AcquisitionOptimizerOptions::default(),
    )
    .unwrap();
    println!("acquisition optimum {value:.5e} at {best:?}");
    for p in &probes {
        println!(
            "   acquisition at probe {p:?}: {:.5e}",
            acquisition.evaluate(p, false).0
        );
    }
}
