//! Tests of the exact GP: fits, posteriors and warps.

use super::*;

fn data(n: usize, d: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let x = SobolSampler::new(d, seed).unwrap().draw(n).unwrap();
    let y = x
        .iter()
        .map(|p| (6.0 * p[0]).sin() + 0.5 * p[d - 1] * p[d - 1])
        .collect();
    (x, y)
}

#[test]
fn quantiles_match_the_full_posterior() {
    // The diagonal-only quantile against the full posterior's mean and variance, with and
    // without an output warp.
    let (x, y) = data(15, 3, 2);
    let probes = SobolSampler::new(3, 9).unwrap().draw(7).unwrap();
    let plain = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
    let (mean, variance) = plain.predict(&probes);
    for beta in [0.0, 1.0, -2.0] {
        let quantiles = plain.quantile_in_units(&probes, beta);
        for i in 0..probes.len() {
            let expected = mean[i] + beta * variance[i].sqrt();
            assert!(
                (quantiles[i] - expected).abs() < 1e-9,
                "{beta}: {quantiles:?}"
            );
        }
    }
    // An explicit, non-identity warp (a fitted one may keep λ = 1, which would not show a
    // missing inversion).
    let warp = crate::gp::YeoJohnson {
        offset: 0.2,
        scale: 0.8,
        lambda: 0.4,
    };
    let warped: Vec<f64> = y.iter().map(|v| warp.apply(*v)).collect();
    let gp = ExactGp::fit(&x, &warped, &GpFitOptions::default())
        .unwrap()
        .with_output_warp(warp);
    let (mean, variance) = gp.predict(&probes);
    let quantiles = gp.quantile_in_units(&probes, 1.5);
    for i in 0..probes.len() {
        let expected = warp.invert_value(mean[i] + 1.5 * variance[i].sqrt());
        assert!((quantiles[i] - expected).abs() < 1e-9, "{quantiles:?}");
    }
}

#[test]
fn analytic_gradient_matches_finite_differences() {
    let (x, y) = data(12, 3, 1);
    let mean = y.iter().sum::<f64>() / 12.0;
    let ys: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let theta = [-0.4, 0.3, 1.1, 0.2, -5.0, 0.1];
    let mut grad = vec![0.0; 6];
    ExactGp::map_objective(&x, &ys, &theta, &mut grad);
    for j in 0..6 {
        let h = 1e-5;
        let (mut up, mut down) = (theta, theta);
        up[j] += h;
        down[j] -= h;
        let mut scratch = vec![0.0; 6];
        let numeric = (ExactGp::map_objective(&x, &ys, &up, &mut scratch)
            - ExactGp::map_objective(&x, &ys, &down, &mut scratch))
            / (2.0 * h);
        assert!(
            (numeric - grad[j]).abs() < 1e-6 * numeric.abs().max(1.0),
            "θ_{j}: numeric {numeric}, analytic {}",
            grad[j]
        );
    }
}

#[test]
fn the_fit_interpolates_a_smooth_function_and_is_uncertain_away_from_data() {
    let (x, y) = data(30, 2, 3);
    let gp = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
    let test = SobolSampler::new(2, 99).unwrap().draw(50).unwrap();
    let (mean, var) = gp.predict(&test);
    let truth: Vec<f64> = test
        .iter()
        .map(|p| (6.0 * p[0]).sin() + 0.5 * p[1] * p[1])
        .collect();
    let rmse = (mean
        .iter()
        .zip(&truth)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / 50.0)
        .sqrt();
    assert!(rmse < 0.05, "rmse {rmse}");
    assert!(var.iter().all(|v| *v >= 0.0));
    // The first coordinate matters more: a shorter lengthscale.
    let l = &gp.hyperparameters().lengthscales;
    assert!(l[0] < l[1], "{l:?}");
    // Far outside the data the variance returns to the prior's.
    let (_, far) = gp.predict(&[vec![5.0, 5.0]]);
    let (_, near) = gp.predict(&[x[3].clone()]);
    assert!(far[0] > 100.0 * near[0]);
    // The variance fraction is the full posterior's variance over the prior's, in the
    // same units: σ² on the standardized scale times the scale squared.
    let fractions = gp.variance_fraction(&test);
    let prior = gp.hyperparameters().outputscale * gp.y_scale * gp.y_scale;
    for (fraction, v) in fractions.iter().zip(&var) {
        assert!(
            (fraction - v / prior).abs() < 1e-9,
            "{fraction} against {}",
            v / prior
        );
    }
    assert!(gp.variance_fraction(&[vec![5.0, 5.0]])[0] > 0.99);
    assert!(gp.variance_fraction(&[x[3].clone()])[0] < 0.01);
}

/// Fonseca–Fleming's second objective (`1 − exp(−Σ(xᵢ + 1/√3)²)` on `[−4, 4]³`, mapped
/// to the unit cube) at 24 Sobol points: a plateau at 1 with a few dips. The log-normal
/// prior's fit explains it with lengthscales all under 0.15, so the refit under the
/// smooth prior is the one returned, unless the caller gave the prior. A smooth function
/// keeps its first fit.
#[test]
fn a_fit_made_of_bumps_is_refitted_smooth() {
    let x = SobolSampler::new(3, 3).unwrap().draw(24).unwrap();
    let objective = |u: &[f64]| {
        let r2: f64 = u
            .iter()
            .map(|&v| (8.0 * v - 4.0 + 1.0 / 3f64.sqrt()).powi(2))
            .sum();
        1.0 - (-r2).exp()
    };
    let y: Vec<f64> = x.iter().map(|u| objective(u)).collect();
    let options = GpFitOptions::default();
    let bumpy = ExactGp::fit_under(&x, &y, &options, false, None, None).unwrap();
    let bumps = &bumpy.hyperparameters().lengthscales;
    assert!(bumps.iter().all(|&l| l < BUMPY_LENGTHSCALE), "{bumps:?}");
    let gp = ExactGp::fit(&x, &y, &options).unwrap();
    let smooth = ExactGp::fit_under(&x, &y, &options, true, None, None).unwrap();
    assert_eq!(gp.hyperparameters(), smooth.hyperparameters());
    assert!(gp
        .hyperparameters()
        .lengthscales
        .iter()
        .any(|&l| l >= BUMPY_LENGTHSCALE));
    // The same prior given explicitly is the caller's choice: no refit.
    let given = GpFitOptions {
        lengthscale_prior: Some(LogNormalPrior {
            mu: std::f64::consts::SQRT_2 + 0.5 * 3f64.ln(),
            sigma: 3f64.sqrt(),
        }),
        ..GpFitOptions::default()
    };
    let kept = ExactGp::fit(&x, &y, &given).unwrap();
    assert_eq!(kept.hyperparameters(), bumpy.hyperparameters());
    // A smooth function keeps its own fit.
    let (x, y) = data(30, 2, 3);
    let plain = ExactGp::fit_under(&x, &y, &options, false, None, None).unwrap();
    let fitted = ExactGp::fit(&x, &y, &options).unwrap();
    assert_eq!(fitted.hyperparameters(), plain.hyperparameters());
}

#[test]
fn the_joint_covariance_is_symmetric_and_matches_the_marginals() {
    let (x, y) = data(10, 2, 5);
    let gp = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
    let pts = vec![vec![0.1, 0.2], vec![0.11, 0.21], vec![0.9, 0.5]];
    let post = gp.posterior(&pts);
    let (_, var) = gp.predict(&pts);
    for a in 0..3 {
        assert!((post.covariance[a * 3 + a] - var[a]).abs() < 1e-12);
        for b in 0..3 {
            assert_eq!(post.covariance[a * 3 + b], post.covariance[b * 3 + a]);
        }
    }
    // Nearby points are strongly correlated.
    let corr = post.covariance[1] / (var[0] * var[1]).sqrt();
    assert!(corr > 0.9, "{corr}");
}

#[test]
fn joint_samples_have_the_posterior_moments() {
    let (x, y) = data(8, 2, 6);
    let gp = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
    let post = gp.posterior(&[vec![0.2, 0.3], vec![0.25, 0.3], vec![0.8, 0.9]]);
    let normals = SobolSampler::new(3, 1).unwrap().draw_normal(4096).unwrap();
    let draws = post.sample(&normals).unwrap();
    for a in 0..3 {
        let mean = draws.iter().map(|d| d[a]).sum::<f64>() / 4096.0;
        let sd = post.covariance[a * 3 + a].sqrt();
        assert!((mean - post.mean[a]).abs() < 0.05 * sd + 1e-9);
        for b in 0..3 {
            let cov = draws
                .iter()
                .map(|d| (d[a] - post.mean[a]) * (d[b] - post.mean[b]))
                .sum::<f64>()
                / 4096.0;
            let want = post.covariance[a * 3 + b];
            let scale = (post.covariance[a * 3 + a] * post.covariance[b * 3 + b]).sqrt();
            assert!(
                (cov - want).abs() < 0.1 * scale + 1e-9,
                "{a},{b}: {cov} vs {want}"
            );
        }
    }
    assert!(post.sample(&[vec![0.0; 2]]).is_err());
}

#[test]
fn bad_data_is_refused() {
    let e = ExactGp::fit(&[vec![0.1]], &[f64::NAN], &GpFitOptions::default()).unwrap_err();
    assert!(e.to_string().contains("failed evaluations"), "{e}");
    assert!(ExactGp::fit(
        &[vec![0.1], vec![0.2, 0.3]],
        &[1.0, 2.0],
        &GpFitOptions::default()
    )
    .is_err());
    assert!(ExactGp::fit(&[], &[], &GpFitOptions::default()).is_err());
    // One point is fine (prior-like posterior).
    let gp = ExactGp::fit(&[vec![0.5]], &[3.0], &GpFitOptions::default()).unwrap();
    let (m, _) = gp.predict(&[vec![0.5]]);
    assert!((m[0] - 3.0).abs() < 0.5);
}

#[test]
fn worst_observed_mean_is_what_the_model_predicts_far_from_the_data() {
    // Twelve points of one arch of a sine on [0, 0.2], then predictions at x = 1, many
    // lengthscales from all of them: the posterior mean there is μ in units, so held at the
    // worst observation (De Ath et al. 2020) it is that observation's value. (Fitted, μ is
    // whatever the likelihood prefers: here 0.6 standard deviations below the worst.)
    let x: Vec<Vec<f64>> = (0..12).map(|i| vec![0.2 * i as f64 / 11.0]).collect();
    let y: Vec<f64> = x.iter().map(|p| (20.0 * p[0]).sin()).collect();
    let worst = y.iter().copied().fold(f64::INFINITY, f64::min);
    let best = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let held = ExactGp::fit(
        &x,
        &y,
        &GpFitOptions {
            mean: ConstantMean::WorstObserved,
            ..GpFitOptions::default()
        },
    )
    .unwrap();
    let (offset, scale) = standardization(&y);
    assert!(
        (held.hyperparameters().mean - (worst - offset) / scale).abs() < 1e-12,
        "held mean {} against the worst standardized value {}",
        held.hyperparameters().mean,
        (worst - offset) / scale
    );
    let far = [vec![1.0]];
    let (held_far, _) = held.predict(&far);
    assert!(
        (held_far[0] - worst).abs() < 0.02 * (best - worst),
        "the held mean predicts {} far away, the worst observation is {worst}",
        held_far[0]
    );
    // Near the data the fit still interpolates the observations.
    let (held_near, _) = held.predict(&x[5..6]);
    assert!((held_near[0] - y[5]).abs() < 0.05 * (best - worst));
}

/// The residual fit over a quadratic trend starts from the constant-mean fit: on the Currin
/// objective of Branin–Currin embedded in 8 dimensions (200 Sobol points, one start), from
/// the prior medians alone it settled where the residuals are nearly all noise (0.97 of
/// their variance, lengthscales near 4 on every input); from the constant-mean fit it keeps
/// the two inputs the objective uses short and the noise small.
#[test]
fn the_residual_fit_over_a_trend_finds_the_inputs_in_use() {
    use crate::problems::{BraninCurrin, Embedded, Problem};
    let problem = Embedded::new(Box::new(BraninCurrin), 8, "embedded").unwrap();
    let x = SobolSampler::new(8, 7).unwrap().draw(200).unwrap();
    let y: Vec<f64> = x.iter().map(|u| -problem.evaluate_unit(u)[1]).collect();
    let options = GpFitOptions {
        quadratic_trend: true,
        mean: ConstantMean::WorstObserved,
        restarts: 1,
        ..GpFitOptions::default()
    };
    let gp = ExactGp::fit(&x, &y, &options).unwrap();
    assert!(gp.trend().is_some(), "the trend is kept on this objective");
    let h = gp.hyperparameters();
    assert!(h.noise < 0.1, "noise {}", h.noise);
    assert!(
        h.lengthscales[0] < 1.0 && h.lengthscales[1] < 2.0,
        "{:?}",
        h.lengthscales
    );
    assert!(
        h.lengthscales[2..].iter().all(|&l| l > 4.0),
        "{:?}",
        h.lengthscales
    );
}

/// A fit that starts from the hyperparameters of the fit one point earlier, with the short
/// first step and the looser stationarity test the optimizer gives it
/// (`optimizer::ask`), ends at the optimum the fit from the prior medians finds: the same
/// hyperparameters within a few per cent and the same MAP objective within 1e-5 per point.
/// A start with the wrong number of lengthscales is set aside: the fit is the cold one, to
/// the bit.
#[test]
fn a_fit_from_the_last_fit_ends_at_the_same_optimum() {
    let (x, y) = data(80, 3, 4);
    let one_start = GpFitOptions {
        restarts: 1,
        ..GpFitOptions::default()
    };
    let previous = ExactGp::fit(&x[..79], &y[..79], &one_start).unwrap();
    let cold = ExactGp::fit(&x, &y, &one_start).unwrap();
    let mut warm_options = GpFitOptions {
        start: Some(previous.hyperparameters().clone()),
        ..one_start.clone()
    };
    warm_options.lbfgs.first_step = 0.01;
    warm_options.lbfgs.gradient_tolerance = 1e-2 / 80.0;
    let warm = ExactGp::fit(&x, &y, &warm_options).unwrap();
    let (c, w) = (cold.hyperparameters(), warm.hyperparameters());
    assert_ne!(c, w, "the start was taken: another path, other bits");
    for (a, b) in c.lengthscales.iter().zip(&w.lengthscales) {
        assert!((a / b - 1.0).abs() < 0.05, "{c:?} against {w:?}");
    }
    assert!(
        (c.outputscale / w.outputscale - 1.0).abs() < 0.05,
        "{c:?} against {w:?}"
    );
    assert!((c.noise / w.noise - 1.0).abs() < 0.2, "{c:?} against {w:?}");
    let (offset, scale) = standardization(&y);
    let ys: Vec<f64> = y.iter().map(|v| (v - offset) / scale).collect();
    let objective = |h: &Hyperparameters| {
        ExactGp::map_objective(
            &x,
            &ys,
            &h.theta(),
            &mut vec![0.0; h.lengthscales.len() + 3],
        )
    };
    assert!(
        (objective(w) - objective(c)).abs() < 1e-5,
        "cold {} warm {}",
        objective(c),
        objective(w)
    );
    let mut wrong = previous.hyperparameters().clone();
    wrong.lengthscales.pop();
    let set_aside = ExactGp::fit(
        &x,
        &y,
        &GpFitOptions {
            start: Some(wrong),
            ..one_start
        },
    )
    .unwrap();
    assert_eq!(set_aside.hyperparameters(), c);
}

/// Omni-test (Deb & Tiwari 2008; `f₁ = Σ sin πxᵢ`, `f₂ = Σ cos πxᵢ` on `[0, 6]³`, three periods
/// per input, noise-free) at the first 24 trials of qfront's seed 7 on issue #17's suite (the
/// engine before [`NOISE_PRIOR`], inputs on the unit cube to 5 decimals): BoTorch's noise prior
/// `LogNormal(−4, 1)` explains a quarter to a third of each objective's variance as noise;
/// [`NOISE_PRIOR`] fits both as signal (both fits started at the lengthscale prior's median,
/// as every fit did then).
#[test]
fn a_noise_free_periodic_objective_is_fitted_as_signal() {
    let x: Vec<Vec<f64>> = vec![
        vec![0.07631, 0.77992, 0.43841],
        vec![0.02899, 0.19462, 0.03528],
        vec![0.81471, 0.36500, 0.27074],
        vec![0.48158, 0.97895, 0.57550],
        vec![0.14680, 0.70444, 0.37572],
        vec![0.55923, 0.08146, 0.71159],
        vec![0.29323, 0.38394, 0.79665],
        vec![0.91772, 0.80859, 0.17606],
        vec![0.60620, 0.82143, 0.32332],
        vec![0.75180, 1.00000, 0.17351],
        vec![0.93741, 0.71313, 0.26415],
        vec![1.00000, 0.77705, 0.17521],
        vec![0.91432, 0.81015, 0.35850],
        vec![0.91935, 0.61824, 0.15437],
        vec![0.89795, 0.79854, 0.12789],
        vec![0.93213, 0.80908, 0.11298],
        vec![0.92077, 0.75753, 0.18934],
        vec![0.78907, 0.65709, 0.11005],
        vec![0.96588, 0.37619, 0.16962],
        vec![0.00000, 1.00000, 0.87950],
        vec![0.62613, 0.81361, 0.76716],
        vec![0.50044, 1.00000, 0.39055],
        vec![0.89795, 0.00114, 0.12789],
        vec![0.92111, 0.76443, 0.15644],
    ];
    let objective = |p: &Vec<f64>, j: usize| -> f64 {
        p.iter()
            .map(|u| {
                let t = std::f64::consts::PI * 6.0 * u;
                if j == 0 {
                    t.sin()
                } else {
                    t.cos()
                }
            })
            .sum()
    };
    // Both fits start where the fit started before it started at the prior's mode: the
    // lengthscale prior's median (7.1 for three inputs), σ² = 1, noise 1e-3. From the mode
    // BoTorch's prior finds the signal in f₁ (noise 0.008) though not in f₂ (0.24).
    let median_start = Hyperparameters {
        lengthscales: vec![(std::f64::consts::SQRT_2 + 0.5 * 3f64.ln()).exp(); 3],
        outputscale: 1.0,
        noise: MIN_NOISE + 1e-3,
        mean: 0.0,
    };
    let ours_options = GpFitOptions {
        start: Some(median_start.clone()),
        ..GpFitOptions::default()
    };
    let botorch = GpFitOptions {
        noise_prior: LogNormalPrior {
            mu: -4.0,
            sigma: 1.0,
        },
        start: Some(median_start),
        ..GpFitOptions::default()
    };
    for j in 0..2 {
        let y: Vec<f64> = x.iter().map(|p| -objective(p, j)).collect();
        let theirs = ExactGp::fit(&x, &y, &botorch).unwrap();
        // Ours from that start and from the engine's own (the prior's mode).
        for options in [&ours_options, &GpFitOptions::default()] {
            let ours = ExactGp::fit(&x, &y, options).unwrap();
            assert!(
                ours.hyperparameters().noise < 0.01,
                "{:?}",
                ours.hyperparameters()
            );
        }
        assert!(
            theirs.hyperparameters().noise > 0.2,
            "{:?}",
            theirs.hyperparameters()
        );
    }
}

#[test]
fn no_lengthscale_is_fitted_under_the_floor() {
    // 24 Sobol points of an objective with about ten periods along its first input: the
    // likelihood alone explains them as isolated bumps, a lengthscale of 0.016 (measured
    // without the floor), a model that knows nothing a few per cent of the box from each
    // trial. The fit stops at BoTorch's floor instead.
    let x = SobolSampler::new(2, 3).unwrap().draw(24).unwrap();
    let y: Vec<f64> = x.iter().map(|p| (60.0 * p[0]).sin() + 0.3 * p[1]).collect();
    let fit = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
    let lengthscales = &fit.hyperparameters().lengthscales;
    assert!(
        lengthscales
            .iter()
            .all(|l| *l >= MIN_LENGTHSCALE * (1.0 - 1e-12)),
        "{lengthscales:?}"
    );
    assert!(
        (lengthscales[0] / MIN_LENGTHSCALE - 1.0).abs() < 1e-9,
        "the floor should bind on these data: {lengthscales:?}"
    );
}
