//! Priors on GP hyperparameters, with log densities and their derivatives with respect to
//! the logarithm of the parameter (the coordinates the MAP fit optimizes in). As in GPyTorch,
//! the density is that of the parameter itself (no Jacobian of the log transform).

/// `LogNormal(μ, σ)`: `ln v ~ N(μ, σ²)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogNormalPrior {
    /// Mean of `ln v`.
    pub mu: f64,
    /// Standard deviation of `ln v`.
    pub sigma: f64,
}

impl LogNormalPrior {
    /// `(ln p(v), d ln p(v)/d ln v)` at `v = exp(log_v)`.
    pub fn log_density(&self, log_v: f64) -> (f64, f64) {
        let z = (log_v - self.mu) / self.sigma;
        (
            -log_v - (self.sigma * (2.0 * std::f64::consts::PI).sqrt()).ln() - 0.5 * z * z,
            -1.0 - z / self.sigma,
        )
    }

    /// The median `exp(μ)`.
    pub fn median(&self) -> f64 {
        self.mu.exp()
    }

    /// The mode `exp(μ − σ²)`, where the density is highest.
    pub fn mode(&self) -> f64 {
        (self.mu - self.sigma * self.sigma).exp()
    }
}

/// `Gamma(shape a, rate b)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GammaPrior {
    /// Shape.
    pub shape: f64,
    /// Rate.
    pub rate: f64,
}

impl GammaPrior {
    /// `(ln p(v), d ln p(v)/d ln v)` at `v = exp(log_v)`.
    pub fn log_density(&self, log_v: f64) -> (f64, f64) {
        let v = log_v.exp();
        (
            self.shape * self.rate.ln() - statrs::function::gamma::ln_gamma(self.shape)
                + (self.shape - 1.0) * log_v
                - self.rate * v,
            (self.shape - 1.0) - self.rate * v,
        )
    }

    /// The mode `(a − 1)/b` (for `a ≥ 1`).
    pub fn mode(&self) -> f64 {
        ((self.shape - 1.0) / self.rate).max(0.0)
    }
}

/// `Gamma(shape a, rate b)` on the inverse squared lengthscale `θ = 1/ℓ²`, the form of
/// Optuna's `GPSampler` lengthscale prior (its `Gamma(2, 0.5)`). Unlike the log-normal
/// priors it costs short lengthscales dearly: `−b/ℓ²`, 20 nats at `ℓ = 0.1` for `b = 0.2`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InverseSquaredGammaPrior {
    /// Shape of the Gamma density of `θ`.
    pub shape: f64,
    /// Rate of the Gamma density of `θ`.
    pub rate: f64,
}

impl InverseSquaredGammaPrior {
    /// `(ln p(θ), d ln p(θ)/d ln ℓ)` at `ℓ = exp(log_l)`, `θ = exp(−2·log_l)` (the density
    /// of `θ`, no Jacobian, as for the other priors).
    pub fn log_density(&self, log_l: f64) -> (f64, f64) {
        let theta = (-2.0 * log_l).exp();
        (
            self.shape * self.rate.ln() - statrs::function::gamma::ln_gamma(self.shape)
                + (self.shape - 1.0) * theta.ln()
                - self.rate * theta,
            -2.0 * (self.shape - 1.0) + 2.0 * self.rate * theta,
        )
    }

    /// The lengthscale at the mode of `θ`, `(b/(a − 1))^½` (for `a > 1`).
    pub fn mode_lengthscale(&self) -> f64 {
        (self.rate / (self.shape - 1.0)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_match_closed_forms_and_derivatives() {
        // LogNormal(0, 1) at v = 1: −ln √(2π).
        let p = LogNormalPrior {
            mu: 0.0,
            sigma: 1.0,
        };
        assert!((p.log_density(0.0).0 + 0.9189385332046727).abs() < 1e-15);
        // The dimension-scaled lengthscale prior of three inputs has its mode at
        // exp(√2 + ½·ln 3 − 3) = 0.35470 of the box, where the density's slope is zero.
        let scaled = LogNormalPrior {
            mu: std::f64::consts::SQRT_2 + 0.5 * 3f64.ln(),
            sigma: 3f64.sqrt(),
        };
        assert!(
            (scaled.mode() - 0.354_701).abs() < 1e-6,
            "{}",
            scaled.mode()
        );
        assert!(scaled.log_density(scaled.mode().ln()).1.abs() < 1e-12);
        assert!((scaled.log_density(scaled.median().ln()).1 + 1.0).abs() < 1e-12);
        // Gamma(2, 0.15) at v = 1: ln(0.15²) − 0.15.
        let g = GammaPrior {
            shape: 2.0,
            rate: 0.15,
        };
        assert!((g.log_density(0.0).0 - (0.0225f64.ln() - 0.15)).abs() < 1e-14);
        // Gamma(2, 0.2) on θ = 1/ℓ² at ℓ = 1 (θ = 1): ln(0.2²) − 0.2; its mode at ℓ = √0.2.
        let inverse = InverseSquaredGammaPrior {
            shape: 2.0,
            rate: 0.2,
        };
        assert!((inverse.log_density(0.0).0 - (0.04f64.ln() - 0.2)).abs() < 1e-14);
        let at_mode = inverse.mode_lengthscale().ln();
        assert!(inverse.log_density(at_mode).1.abs() < 1e-12);
        let densities: [&dyn Fn(f64) -> (f64, f64); 3] =
            [&|t| p.log_density(t), &|t| g.log_density(t), &|t| {
                inverse.log_density(t)
            }];
        for density in densities {
            for t in [-1.0, 0.3, 2.0] {
                let numeric = (density(t + 1e-6).0 - density(t - 1e-6).0) / 2e-6;
                assert!((numeric - density(t).1).abs() < 1e-7);
            }
        }
    }
}
