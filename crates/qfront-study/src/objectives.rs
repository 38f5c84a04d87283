//! Objectives and outcome constraints written as strings (DESIGN.md):
//! `"accuracy"` (maximize), `"-latency_ms"` (minimize), `"latency_ms <= 5"`,
//! `"accuracy >= 0.9"`. The optimizer maximizes, so a minimized metric enters negated and a
//! constraint enters as its slack (`5 − latency_ms`, feasible when ≥ 0).

use crate::{Result, StudyError};

/// The metrics a trial measures.
pub const METRICS: [&str; 6] = [
    "accuracy",
    "latency_ms",
    "size_kb",
    "bops",
    "macs",
    "train_seconds",
];

/// Checks a metric name: one of [`METRICS`], or any usable name when `free` (studies whose
/// trainer is outside qfront report their own metrics).
fn check_metric(key: &str, name: &str, free: bool) -> Result<()> {
    if free {
        return crate::kind::check_free_name(key, name);
    }
    if METRICS.contains(&name) {
        Ok(())
    } else {
        Err(StudyError::config(
            key,
            format!("unknown metric '{name}'; known: {}", METRICS.join(", ")),
        ))
    }
}

/// One objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// Metric name.
    pub metric: String,
    /// Whether it is minimized (written with a leading `-`).
    pub minimize: bool,
}

impl Objective {
    /// Parses `"metric"` or `"-metric"`; `free` allows any metric name (external studies).
    pub fn parse(key: &str, text: &str, free: bool) -> Result<Self> {
        let t = text.trim();
        let (minimize, metric) = match t.strip_prefix('-') {
            Some(rest) => (true, rest.trim()),
            None => (false, t.strip_prefix('+').unwrap_or(t).trim()),
        };
        check_metric(key, metric, free)?;
        Ok(Self {
            metric: metric.to_string(),
            minimize,
        })
    }

    /// The value the optimizer maximizes.
    pub fn signed(&self, value: f64) -> f64 {
        if self.minimize {
            -value
        } else {
            value
        }
    }

    /// The string form.
    pub fn label(&self) -> String {
        if self.minimize {
            format!("-{}", self.metric)
        } else {
            self.metric.clone()
        }
    }
}

/// One outcome constraint `metric <= bound` or `metric >= bound`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// Metric name.
    pub metric: String,
    /// `true` for `<=`.
    pub upper: bool,
    /// The bound.
    pub bound: f64,
}

impl Constraint {
    /// Parses `"metric <= bound"` or `"metric >= bound"`; `free` allows any metric name.
    pub fn parse(key: &str, text: &str, free: bool) -> Result<Self> {
        let (parts, upper) = if let Some(p) = text.split_once("<=") {
            (p, true)
        } else if let Some(p) = text.split_once(">=") {
            (p, false)
        } else {
            return Err(StudyError::config(
                key,
                format!("'{text}' is not 'metric <= bound' or 'metric >= bound'"),
            ));
        };
        let metric = parts.0.trim();
        check_metric(key, metric, free)?;
        let bound: f64 = parts.1.trim().parse().map_err(|_| {
            StudyError::config(
                key,
                format!("bound '{}' in '{text}' is not a number", parts.1.trim()),
            )
        })?;
        if !bound.is_finite() {
            return Err(StudyError::config(
                key,
                format!("bound in '{text}' is not finite"),
            ));
        }
        Ok(Self {
            metric: metric.to_string(),
            upper,
            bound,
        })
    }

    /// The slack (≥ 0 when satisfied).
    pub fn slack(&self, value: f64) -> f64 {
        if self.upper {
            self.bound - value
        } else {
            value - self.bound
        }
    }

    /// The string form.
    pub fn label(&self) -> String {
        format!(
            "{} {} {}",
            self.metric,
            if self.upper { "<=" } else { ">=" },
            self.bound
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objectives_and_constraints() {
        let o = Objective::parse("objectives", "-latency_ms", false).unwrap();
        assert!(o.minimize && o.metric == "latency_ms" && o.signed(3.0) == -3.0);
        assert!(
            !Objective::parse("objectives", "accuracy", false)
                .unwrap()
                .minimize
        );
        let err = Objective::parse("objectives", "-speed", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("objectives") && err.contains("speed") && err.contains("latency_ms"),
            "{err}"
        );
        let c = Constraint::parse("constraints", "latency_ms <= 5", false).unwrap();
        assert_eq!((c.slack(3.0), c.slack(6.0)), (2.0, -1.0));
        let c = Constraint::parse("constraints", "accuracy>=0.9", false).unwrap();
        assert!((c.slack(0.95) - 0.05).abs() < 1e-12);
        assert!(Constraint::parse("constraints", "latency_ms < 5", false).is_err());
        assert!(
            Constraint::parse("constraints", "latency_ms <= fast", false)
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
    }
}
