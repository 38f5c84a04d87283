//! A projected L-BFGS for smooth objectives on a box `l ≤ x ≤ u` (bounds may be infinite, which
//! makes it plain L-BFGS).
//!
//! Written by hand: no maintained Rust crate offers bound-constrained L-BFGS (argmin's L-BFGS
//! is unconstrained; the L-BFGS-B bindings wrap unmaintained Fortran/C). The method is the
//! projected quasi-Newton scheme of Kim, Sra and Dhillon ("Tackling box-constrained
//! optimization via a new projected quasi-Newton approach", SIAM J. Sci. Comput. 2010):
//!
//! 1. the binding set `B = {i : x_i = l_i, g_i > 0} ∪ {i : x_i = u_i, g_i < 0}`;
//! 2. the L-BFGS two-loop direction (Nocedal & Wright, Alg. 7.4) on the free coordinates,
//!    zero on `B`; steepest descent when it is not a descent direction;
//! 3. an Armijo backtracking search along the projected path `P(x + t·d)`;
//! 4. stop when the projected gradient's largest entry is below `gradient_tolerance`, the
//!    relative decrease is below `function_tolerance`, or after `max_iterations`.

/// Settings of [`minimize_box`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsOptions {
    /// Iteration limit (BoTorch's acquisition optimizer uses 200).
    pub max_iterations: usize,
    /// Pairs kept in the L-BFGS memory (scipy's L-BFGS-B default, 10).
    pub memory: usize,
    /// Stop when `max_i |P(x − g) − x|_i` falls below this (scipy's `pgtol` 1e-5).
    pub gradient_tolerance: f64,
    /// Stop when `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)` falls below this (scipy's
    /// `factr·eps` ≈ 2.2e-9).
    pub function_tolerance: f64,
    /// Largest move of any coordinate in one step (∞: none). Bounds the steps along
    /// directions of almost no curvature, which otherwise jump to the box's faces.
    pub max_step: f64,
    /// Length of the first step, taken along the gradient before any curvature is known
    /// (default 1). A start near the minimum (the last fit's hyperparameters) wants a short
    /// one: a unit step from there overshoots, and each halving costs an evaluation.
    pub first_step: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            memory: 10,
            gradient_tolerance: 1e-5,
            function_tolerance: 2.2e-9,
            max_step: f64::INFINITY,
            first_step: 1.0,
        }
    }
}

/// The result of [`minimize_box`].
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsOutcome {
    /// The best point found (inside the box).
    pub x: Vec<f64>,
    /// Its objective value.
    pub value: f64,
    /// Iterations taken.
    pub iterations: usize,
    /// Objective evaluations.
    pub evaluations: usize,
}

fn project(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, l), u) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.clamp(*l, *u);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimizes `objective` (returning the value and writing the gradient into its second
/// argument) over the box from `start` (projected into it first). A non-finite value counts
/// as "worse than anything": the line search backs off from it.
pub fn minimize_box(
    mut objective: impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    options: &LbfgsOptions,
) -> LbfgsOutcome {
    let n = start.len();
    let mut x = start.to_vec();
    project(&mut x, lower, upper);
    let mut g = vec![0.0; n];
    let mut f = objective(&x, &mut g);
    let mut evaluations = 1;
    if !f.is_finite() {
        return LbfgsOutcome {
            x,
            value: f,
            iterations: 0,
            evaluations,
        };
    }
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut iterations = 0;
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    while iterations < options.max_iterations {
        // Projected-gradient stationarity test.
        let pg = (0..n)
            .map(|i| ((x[i] - g[i]).clamp(lower[i], upper[i]) - x[i]).abs())
            .fold(0.0, f64::max);
        if pg < options.gradient_tolerance {
            break;
        }
        iterations += 1;
        let binding: Vec<bool> = (0..n)
            .map(|i| (x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0))
            .collect();
        let free = |v: &mut [f64]| {
            for (vi, &b) in v.iter_mut().zip(&binding) {
                if b {
                    *vi = 0.0;
                }
            }
        };
        // Two-loop recursion on the free coordinates.
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        free(&mut d);
        let k = s_hist.len();
        let mut alphas = vec![0.0; k];
        let mut rhos = vec![0.0; k];
        for j in (0..k).rev() {
            let (mut s, mut y) = (s_hist[j].clone(), y_hist[j].clone());
            free(&mut s);
            free(&mut y);
            let sy = dot(&s, &y);
            if sy <= 1e-12 {
                continue;
            }
            rhos[j] = 1.0 / sy;
            alphas[j] = rhos[j] * dot(&s, &d);
            for (di, yi) in d.iter_mut().zip(&y) {
                *di -= alphas[j] * yi;
            }
        }
        if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
            let yy = dot(y, y);
            if yy > 0.0 {
                let gamma = dot(s, y) / yy;
                d.iter_mut().for_each(|v| *v *= gamma);
            }
        }
        for j in 0..k {
            if rhos[j] == 0.0 {
                continue;
            }
            let (mut s, mut y) = (s_hist[j].clone(), y_hist[j].clone());
            free(&mut s);
            free(&mut y);
            let beta = rhos[j] * dot(&y, &d);
            for (di, si) in d.iter_mut().zip(&s) {
                *di += (alphas[j] - beta) * si;
            }
        }
        free(&mut d);
        if dot(&d, &g) >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            d = g.iter().map(|v| -v).collect();
            free(&mut d);
        }
        // First iteration without curvature: a step of length `first_step` along the
        // gradient.
        let mut t = if s_hist.is_empty() {
            options.first_step / dot(&d, &d).sqrt().max(1e-12)
        } else {
            1.0
        };
        let largest = d.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if largest * t > options.max_step {
            t = options.max_step / largest;
        }
        let mut accepted = false;
        let mut f_new = f;
        for _ in 0..40 {
            for i in 0..n {
                x_new[i] = x[i] + t * d[i];
            }
            project(&mut x_new, lower, upper);
            f_new = objective(&x_new, &mut g_new);
            evaluations += 1;
            let decrease: f64 = (0..n).map(|i| g[i] * (x_new[i] - x[i])).sum();
            if f_new.is_finite() && f_new <= f + 1e-4 * decrease {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
        let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
        if dot(&s, &y) > 1e-10 * dot(&y, &y).max(1e-300) {
            s_hist.push(s);
            y_hist.push(y);
            if s_hist.len() > options.memory {
                s_hist.remove(0);
                y_hist.remove(0);
            }
        }
        let relative = (f - f_new) / f.abs().max(f_new.abs()).max(1.0);
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        if relative < options.function_tolerance {
            break;
        }
    }
    LbfgsOutcome {
        x,
        value: f,
        iterations,
        evaluations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let n = x.len();
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut f = 0.0;
        for i in 0..n - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = 1.0 - x[i];
            f += 100.0 * a * a + b * b;
            g[i] += -400.0 * x[i] * a - 2.0 * b;
            g[i + 1] += 200.0 * a;
        }
        f
    }

    #[test]
    fn unconstrained_rosenbrock_reaches_the_minimum() {
        let inf = vec![f64::INFINITY; 5];
        let neg = vec![f64::NEG_INFINITY; 5];
        let options = LbfgsOptions {
            max_iterations: 500,
            gradient_tolerance: 1e-8,
            function_tolerance: 0.0,
            ..Default::default()
        };
        let out = minimize_box(
            rosenbrock,
            &[-1.2, 1.0, -1.2, 1.0, 0.5],
            &neg,
            &inf,
            &options,
        );
        for v in &out.x {
            assert!((v - 1.0).abs() < 1e-4, "{out:?}");
        }
    }

    #[test]
    fn bounds_bind_where_the_minimum_lies_outside() {
        // min (x0 − 2)² + (x1 + 1)² + x0·x1 over [0, 1]²: at (1, 0)? The KKT point:
        // ∂/∂x1 = 2(x1 + 1) + x0 > 0 on the box, so x1 = 0; then x0 minimizes (x0 − 2)², x0 = 1.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * (x[0] - 2.0) + x[1];
            g[1] = 2.0 * (x[1] + 1.0) + x[0];
            (x[0] - 2.0).powi(2) + (x[1] + 1.0).powi(2) + x[0] * x[1]
        };
        let out = minimize_box(
            f,
            &[0.3, 0.7],
            &[0.0, 0.0],
            &[1.0, 1.0],
            &LbfgsOptions::default(),
        );
        assert!(
            (out.x[0] - 1.0).abs() < 1e-9 && out.x[1].abs() < 1e-9,
            "{out:?}"
        );
        // Bounded Rosenbrock: the minimum on [−2, 0.5]^2 has x0 = 0.5 on the bound and
        // x1 = 0.25 = x0² inside.
        let out = minimize_box(
            rosenbrock,
            &[-1.0, -1.0],
            &[-2.0, -2.0],
            &[0.5, 0.5],
            &LbfgsOptions {
                max_iterations: 500,
                ..Default::default()
            },
        );
        assert!(
            (out.x[0] - 0.5).abs() < 1e-6 && (out.x[1] - 0.25).abs() < 1e-4,
            "{out:?}"
        );
    }

    #[test]
    fn non_finite_values_are_backed_off_from() {
        // −ln(x) + x has its minimum at x = 1; the search starts where a full step overshoots
        // into x ≤ 0 (NaN).
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = -1.0 / x[0] + 1.0;
            if x[0] <= 0.0 {
                f64::NAN
            } else {
                -x[0].ln() + x[0]
            }
        };
        let out = minimize_box(
            f,
            &[5.0],
            &[f64::NEG_INFINITY],
            &[f64::INFINITY],
            &LbfgsOptions::default(),
        );
        assert!((out.x[0] - 1.0).abs() < 1e-4, "{out:?}");
    }
}
