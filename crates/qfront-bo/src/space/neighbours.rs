//! Discrete neighbours of a point, for choosing how to round an acquisition's maximum.
//!
//! The acquisition is maximized over the continuous relaxation of the encoded cube (integers
//! as cells, categories one-hot). Rounding its maximum to the nearest valid point ignores the
//! acquisition: a one-hot block at (0.4, 0.35, 0.25) becomes the first category even when the
//! model favours the second once the block is a real one-hot vector. Scoring the rounded
//! point and every point one discrete step from it (another category of one categorical, the
//! next value up or down of one integer or ordered parameter) with the acquisition itself and
//! keeping the best is a cheap version of the enumeration Optuna's `GPSampler` and BoTorch's
//! `optimize_acqf_mixed` do (issue #17: mixed spaces).

use super::encoding::SearchSpace;
use super::parameter::{ParamValue, ParameterKind};

impl SearchSpace {
    /// The rounded `x` first, then every valid point one discrete step from it, all encoded.
    /// Continuous coordinates keep their (clamped) values.
    pub fn discrete_neighbours(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let base = self.decode(x);
        let mut out = vec![self.round(x)];
        for (i, parameter) in self.parameters().iter().enumerate() {
            let alternatives: Vec<ParamValue> = match (&parameter.kind, &base[i]) {
                (ParameterKind::Int { low, high, .. }, ParamValue::Int(v)) => [v - 1, v + 1]
                    .into_iter()
                    .filter(|w| (*low..=*high).contains(w))
                    .map(ParamValue::Int)
                    .collect(),
                (ParameterKind::Ordered { values }, current) => {
                    let at = values.iter().position(|v| v == current).unwrap_or(0);
                    [at.checked_sub(1), Some(at + 1)]
                        .into_iter()
                        .flatten()
                        .filter_map(|j| values.get(j).cloned())
                        .collect()
                }
                (ParameterKind::Categorical { values }, current) => values
                    .iter()
                    .map(|v| ParamValue::Text(v.clone()))
                    .filter(|v| v != current)
                    .collect(),
                _ => Vec::new(),
            };
            for alternative in alternatives {
                let mut values = base.clone();
                values[i] = alternative;
                if let Ok(encoded) = self.encode(&values) {
                    out.push(encoded);
                }
            }
        }
        out
    }

    /// The point of [`SearchSpace::discrete_neighbours`] with the highest `score`, the
    /// rounded point on ties. For a continuous space, `x` itself.
    pub fn best_rounding(&self, x: &[f64], mut score: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
        if self.is_continuous() {
            return x.to_vec();
        }
        let mut best: Option<(Vec<f64>, f64)> = None;
        for candidate in self.discrete_neighbours(x) {
            let value = score(&candidate);
            if best.as_ref().is_none_or(|(_, b)| value > *b) {
                best = Some((candidate, value));
            }
        }
        best.map(|(c, _)| c).unwrap_or_else(|| self.round(x))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parameter::{Parameter, Scale};
    use super::*;

    fn space() -> SearchSpace {
        SearchSpace::new(vec![
            Parameter::float("lr", 0.0, 1.0),
            Parameter::int("units", 1, 4, Scale::Linear),
            Parameter::categorical("activation", &["relu", "tanh", "gelu"]),
        ])
        .unwrap()
    }

    #[test]
    fn one_step_in_each_discrete_parameter() {
        let s = space();
        let x = s
            .encode(&[
                ParamValue::Float(0.3),
                ParamValue::Int(1),
                ParamValue::Text("tanh".into()),
            ])
            .unwrap();
        let decoded: Vec<Vec<ParamValue>> = s
            .discrete_neighbours(&x)
            .iter()
            .map(|p| s.decode(p))
            .collect();
        let text = |v: &str| ParamValue::Text(v.into());
        assert_eq!(
            decoded,
            vec![
                vec![ParamValue::Float(0.3), ParamValue::Int(1), text("tanh")],
                vec![ParamValue::Float(0.3), ParamValue::Int(2), text("tanh")],
                vec![ParamValue::Float(0.3), ParamValue::Int(1), text("relu")],
                vec![ParamValue::Float(0.3), ParamValue::Int(1), text("gelu")],
            ]
        );
    }

    #[test]
    fn the_acquisition_chooses_the_rounding() {
        let s = space();
        // A relaxed one-hot block leaning to "relu" rounds to it, but the score prefers gelu.
        let mut x = vec![0.5, 0.6, 0.4, 0.35, 0.25];
        let gelu = s.encoded_range(2).start + 2;
        let chosen = s.best_rounding(&x, |p| p[gelu]);
        assert_eq!(s.decode(&chosen)[2], ParamValue::Text("gelu".into()));
        // A constant score keeps the plain rounding.
        let plain = s.best_rounding(&x, |_| 1.0);
        assert_eq!(plain, s.round(&x));
        x[0] = 0.7;
        let continuous = SearchSpace::unit_cube(2).unwrap();
        assert_eq!(continuous.best_rounding(&x[..2], |_| 0.0), x[..2].to_vec());
    }
}
