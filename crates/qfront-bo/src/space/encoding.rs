//! A validated search space and its encoding to the unit cube.
//!
//! Encoding (one or more coordinates per parameter, each in `[0, 1]`):
//! - float: `(v − low)/(high − low)`, or the same in `ln v` for a log scale;
//! - int: the centre of the value's cell when `low..=high` is cut into `high − low + 1` equal
//!   cells, `(v − low + ½)/(high − low + 1)`, so every integer owns an equal share of the cube
//!   (on a log scale the cells are equal in `ln`, between `low − ½` and `high + ½`);
//! - ordered choice of `k` values: the centre of cell `i`, `(i + ½)/k`;
//! - categorical choice of `k` values: one-hot over `k` coordinates.
//!
//! Decoding inverts this with rounding: the cell a coordinate falls in, the arg-max of a
//! one-hot block. `decode(encode(v)) == v` for every valid value.

use super::parameter::{ParamValue, Parameter, ParameterKind, Scale};
use crate::{BoError, Result};
use serde::{Deserialize, Serialize};

/// A validated list of parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Parameter>", into = "Vec<Parameter>")]
pub struct SearchSpace {
    parameters: Vec<Parameter>,
    /// First encoded coordinate of each parameter.
    offsets: Vec<usize>,
    dim: usize,
}

impl TryFrom<Vec<Parameter>> for SearchSpace {
    type Error = BoError;
    fn try_from(parameters: Vec<Parameter>) -> Result<Self> {
        SearchSpace::new(parameters)
    }
}

impl From<SearchSpace> for Vec<Parameter> {
    fn from(space: SearchSpace) -> Self {
        space.parameters
    }
}

fn cell(u: f64, k: usize) -> usize {
    ((u.clamp(0.0, 1.0) * k as f64).floor() as usize).min(k - 1)
}

impl SearchSpace {
    /// Validates `parameters` (each one, and unique names).
    pub fn new(parameters: Vec<Parameter>) -> Result<Self> {
        if parameters.is_empty() {
            return Err(BoError::InvalidSpace {
                parameter: String::new(),
                reason: "a search space needs at least one parameter".into(),
            });
        }
        let mut offsets = Vec::with_capacity(parameters.len());
        let mut dim = 0;
        for (i, p) in parameters.iter().enumerate() {
            p.validate()?;
            if parameters[..i].iter().any(|q| q.name == p.name) {
                return Err(BoError::InvalidSpace {
                    parameter: p.name.clone(),
                    reason: "two parameters share this name".into(),
                });
            }
            offsets.push(dim);
            dim += p.encoded_dim();
        }
        Ok(Self {
            parameters,
            offsets,
            dim,
        })
    }

    /// The parameters, in order.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// Dimension of the encoded cube.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The encoded coordinates `offset..offset + len` of parameter `index`.
    pub fn encoded_range(&self, index: usize) -> std::ops::Range<usize> {
        let start = self.offsets[index];
        start..start + self.parameters[index].encoded_dim()
    }

    /// Per encoded coordinate, the least and greatest value an encoded point takes there:
    /// `(0, 1)` for floats and one-hot coordinates, the centres of the first and last cells
    /// for integers and ordered choices (`(0.25, 0.75)` for two values).
    pub fn encoded_extremes(&self) -> Vec<(f64, f64)> {
        // The cube's two corners rounded (`SearchSpace::round`): integers and ordered choices
        // move to their end cells' centres. Floats and one-hot coordinates span the whole
        // interval (a log float's round trip can miss 0 or 1 by an ulp, hence set exactly).
        let lowest = self.round(&vec![0.0; self.dim]);
        let highest = self.round(&vec![1.0; self.dim]);
        let mut extremes: Vec<(f64, f64)> = lowest.into_iter().zip(highest).collect();
        for (index, p) in self.parameters.iter().enumerate() {
            if matches!(
                p.kind,
                ParameterKind::Categorical { .. } | ParameterKind::Float { .. }
            ) {
                for coordinate in self.encoded_range(index) {
                    extremes[coordinate] = (0.0, 1.0);
                }
            }
        }
        extremes
    }

    /// Encodes one value per parameter (in order) into the unit cube; rejects values that do
    /// not fit their parameter.
    pub fn encode(&self, values: &[ParamValue]) -> Result<Vec<f64>> {
        if values.len() != self.parameters.len() {
            return Err(BoError::input(
                "configuration",
                format!(
                    "{} values given for {} parameters",
                    values.len(),
                    self.parameters.len()
                ),
            ));
        }
        let mut x = vec![0.0; self.dim];
        for ((p, v), &offset) in self.parameters.iter().zip(values).zip(&self.offsets) {
            let bad = |reason: String| BoError::InvalidValue {
                parameter: p.name.clone(),
                reason,
            };
            match (&p.kind, v) {
                (ParameterKind::Float { low, high, scale }, _) => {
                    let value = v
                        .as_f64()
                        .filter(|x| x.is_finite() && (*low..=*high).contains(x))
                        .ok_or_else(|| bad(format!("{v} is not a number in [{low}, {high}]")))?;
                    x[offset] = match scale {
                        Scale::Linear => (value - low) / (high - low),
                        Scale::Log => (value.ln() - low.ln()) / (high.ln() - low.ln()),
                    };
                }
                (ParameterKind::Int { low, high, scale }, ParamValue::Int(value)) => {
                    if !(*low..=*high).contains(value) {
                        return Err(bad(format!("{value} is outside {low}..={high}")));
                    }
                    x[offset] = match scale {
                        Scale::Linear => {
                            (value - low) as f64 / (high - low + 1) as f64
                                + 0.5 / (high - low + 1) as f64
                        }
                        Scale::Log => {
                            let (lo, hi) = (*low as f64 - 0.5, *high as f64 + 0.5);
                            // The centre (in ln) of the value's cell [v − ½, v + ½].
                            let centre =
                                0.5 * ((*value as f64 - 0.5).ln() + (*value as f64 + 0.5).ln());
                            (centre - lo.ln()) / (hi.ln() - lo.ln())
                        }
                    };
                }
                (ParameterKind::Int { .. }, _) => {
                    return Err(bad(format!("{v} is not an integer")));
                }
                (ParameterKind::Ordered { values }, _) => {
                    let i = values
                        .iter()
                        .position(|c| c == v || c.as_f64().is_some() && c.as_f64() == v.as_f64())
                        .ok_or_else(|| bad(format!("{v} is not one of the choices")))?;
                    x[offset] = (i as f64 + 0.5) / values.len() as f64;
                }
                (ParameterKind::Categorical { values }, ParamValue::Text(name)) => {
                    let i = values
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| bad(format!("'{name}' is not one of {values:?}")))?;
                    x[offset + i] = 1.0;
                }
                (ParameterKind::Categorical { .. }, _) => {
                    return Err(bad(format!("{v} is not a category name")));
                }
            }
        }
        Ok(x)
    }

    /// Decodes a point of the cube (coordinates outside `[0, 1]` are clamped) into one value
    /// per parameter, rounding discrete parameters to the cell the coordinate falls in.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`: callers hold points of this space's dimension.
    pub fn decode(&self, x: &[f64]) -> Vec<ParamValue> {
        assert_eq!(x.len(), self.dim, "a point of the wrong dimension");
        self.parameters
            .iter()
            .zip(&self.offsets)
            .map(|(p, &offset)| {
                let u = x[offset].clamp(0.0, 1.0);
                match &p.kind {
                    ParameterKind::Float { low, high, scale } => ParamValue::Float(match scale {
                        Scale::Linear => (low + u * (high - low)).clamp(*low, *high),
                        Scale::Log => (low.ln() + u * (high.ln() - low.ln()))
                            .exp()
                            .clamp(*low, *high),
                    }),
                    ParameterKind::Int { low, high, scale } => ParamValue::Int(match scale {
                        Scale::Linear => low + cell(u, (high - low + 1) as usize) as i64,
                        Scale::Log => {
                            let (lo, hi) = ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln());
                            let v = (lo + u * (hi - lo)).exp();
                            // Cell [v − ½, v + ½) contains v: round half up.
                            ((v + 0.5).floor() as i64).clamp(*low, *high)
                        }
                    }),
                    ParameterKind::Ordered { values } => values[cell(u, values.len())].clone(),
                    ParameterKind::Categorical { values } => {
                        let block = &x[offset..offset + values.len()];
                        let best =
                            block
                                .iter()
                                .enumerate()
                                .fold(0, |b, (i, &v)| if v > block[b] { i } else { b });
                        ParamValue::Text(values[best].clone())
                    }
                }
            })
            .collect()
    }

    /// The encoding of the decoded point: rounds discrete coordinates to their cell centres
    /// and one-hot blocks to a single 1, leaving continuous ones (clamped) as they are.
    pub fn round(&self, x: &[f64]) -> Vec<f64> {
        self.encode(&self.decode(x))
            .expect("a decoded point always encodes")
    }

    /// Whether every parameter is continuous (no rounding needed).
    pub fn is_continuous(&self) -> bool {
        self.parameters
            .iter()
            .all(|p| matches!(p.kind, ParameterKind::Float { .. }))
    }

    /// Per encoded coordinate, whether it belongs to a float parameter (a continuous range),
    /// rather than to an integer's or ordered choice's cells or a categorical's one-hot block.
    pub fn float_coordinates(&self) -> Vec<bool> {
        let mut floats = vec![false; self.dim];
        for (index, p) in self.parameters.iter().enumerate() {
            if matches!(p.kind, ParameterKind::Float { .. }) {
                for coordinate in self.encoded_range(index) {
                    floats[coordinate] = true;
                }
            }
        }
        floats
    }

    /// A continuous box `[0, 1]^dim` of the given dimension (for benchmark problems).
    pub fn unit_cube(dim: usize) -> Result<Self> {
        Self::new(
            (0..dim)
                .map(|i| Parameter::float(&format!("x{i}"), 0.0, 1.0))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> SearchSpace {
        SearchSpace::new(vec![
            Parameter::float("dropout", 0.0, 0.5),
            Parameter::log_float("lr", 1e-4, 1e-2),
            Parameter::int("hidden", 16, 128, Scale::Log),
            Parameter::int("epochs", 1, 4, Scale::Linear),
            Parameter::ordered("batch", [32, 64, 128, 256].map(ParamValue::Int).to_vec()),
            Parameter::categorical("quantizer", &["sawb", "dorefa", "min-max"]),
        ])
        .unwrap()
    }

    /// Floats (linear and log) are continuous coordinates; an integer's, an ordered choice's
    /// and a categorical's one-hot coordinates are not.
    #[test]
    fn float_coordinates_are_the_floats_own() {
        assert_eq!(
            space().float_coordinates(),
            [true, true, false, false, false, false, false, false]
        );
        assert_eq!(
            SearchSpace::unit_cube(3).unwrap().float_coordinates(),
            [true; 3]
        );
    }

    /// Each coordinate's extremes, from the encoding's formulas in the module notes: the
    /// whole interval for floats and one-hot coordinates, the centres of the end cells for
    /// integers (in `ln` on a log scale) and ordered choices; `[0.25, 0.75]` for two values.
    #[test]
    fn encoded_extremes_are_the_end_cells_centres() {
        let extremes = space().encoded_extremes();
        assert_eq!(extremes.len(), 8);
        assert_eq!(extremes[..2], [(0.0, 1.0), (0.0, 1.0)]);
        // hidden: 16..=128 on a log scale, cells [v − ½, v + ½] equal in ln.
        let (lo, hi) = (15.5f64.ln(), 128.5f64.ln());
        let centre = |v: f64| (0.5 * ((v - 0.5).ln() + (v + 0.5).ln()) - lo) / (hi - lo);
        assert!(
            (extremes[2].0 - centre(16.0)).abs() < 1e-12,
            "{:?}",
            extremes[2]
        );
        assert!(
            (extremes[2].1 - centre(128.0)).abs() < 1e-12,
            "{:?}",
            extremes[2]
        );
        // epochs 1..=4 and batch (4 values): cells of 1/4.
        assert_eq!(extremes[3], (0.125, 0.875));
        assert_eq!(extremes[4], (0.125, 0.875));
        assert!(extremes[5..].iter().all(|&e| e == (0.0, 1.0)));
        let two = SearchSpace::new(vec![Parameter::ordered(
            "bias",
            vec![ParamValue::Int(0), ParamValue::Int(1)],
        )])
        .unwrap();
        assert_eq!(two.encoded_extremes(), vec![(0.25, 0.75)]);
    }

    #[test]
    fn dimension_counts_one_hot_blocks() {
        assert_eq!(space().dim(), 8);
        assert_eq!(space().encoded_range(5), 5..8);
    }

    #[test]
    fn encoding_is_documented_and_inverts() {
        let s = space();
        let v = vec![
            ParamValue::Float(0.25),
            ParamValue::Float(1e-3),
            ParamValue::Int(16),
            ParamValue::Int(2),
            ParamValue::Int(128),
            ParamValue::Text("dorefa".into()),
        ];
        let x = s.encode(&v).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12);
        assert!((x[1] - 0.5).abs() < 1e-12);
        assert!((x[3] - 0.375).abs() < 1e-12); // cell 1 of 4: (1 + ½)/4
        assert!((x[4] - 0.625).abs() < 1e-12); // choice 2 of 4
        assert_eq!(&x[5..], &[0.0, 1.0, 0.0]);
        let back = s.decode(&x);
        assert_eq!(back[2..], v[2..]);
        for i in 0..2 {
            let (a, b) = (back[i].as_f64().unwrap(), v[i].as_f64().unwrap());
            assert!((a - b).abs() < 1e-12 * b.abs().max(1.0));
        }
    }

    #[test]
    fn every_integer_round_trips_and_the_extremes_are_reachable() {
        let s = SearchSpace::new(vec![
            Parameter::int("a", 16, 128, Scale::Log),
            Parameter::int("b", -3, 7, Scale::Linear),
        ])
        .unwrap();
        for a in 16..=128 {
            for b in -3..=7 {
                let v = vec![ParamValue::Int(a), ParamValue::Int(b)];
                assert_eq!(s.decode(&s.encode(&v).unwrap()), v);
            }
        }
        assert_eq!(
            s.decode(&[0.0, 0.0]),
            vec![ParamValue::Int(16), ParamValue::Int(-3)]
        );
        assert_eq!(
            s.decode(&[1.0, 1.0]),
            vec![ParamValue::Int(128), ParamValue::Int(7)]
        );
    }

    #[test]
    fn bad_definitions_and_values_are_named() {
        let e = SearchSpace::new(vec![Parameter::log_float("lr", 0.0, 1.0)]).unwrap_err();
        assert!(
            e.to_string().contains("'lr'") && e.to_string().contains("low > 0"),
            "{e}"
        );
        let e = SearchSpace::new(vec![
            Parameter::float("x", 0.0, 1.0),
            Parameter::float("x", 0.0, 2.0),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("share"), "{e}");
        let e = SearchSpace::new(vec![Parameter::float("x", 1.0, f64::NAN)]).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
        let e = SearchSpace::new(vec![Parameter::categorical("q", &["a"])]).unwrap_err();
        assert!(e.to_string().contains("at least 2"), "{e}");
        // A space-wide problem names no parameter (no `parameter ''`).
        let e = SearchSpace::new(Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "search space: a search space needs at least one parameter"
        );
        let s = space();
        let mut v = s.decode(&[0.5; 8]);
        v[3] = ParamValue::Int(9);
        let e = s.encode(&v).unwrap_err();
        assert!(
            e.to_string().contains("'epochs'") && e.to_string().contains("1..=4"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn rounding_is_idempotent_and_stays_in_the_cube(u in proptest::collection::vec(-0.2f64..1.2, 8)) {
            let s = space();
            let once = s.round(&u);
            proptest::prop_assert!(once.iter().all(|v| (0.0..=1.0).contains(v)));
            proptest::prop_assert_eq!(s.round(&once), once.clone());
            // Decoding the rounded point gives the same values as decoding the raw one.
            proptest::prop_assert_eq!(s.decode(&once)[2..].to_vec(), s.decode(&u)[2..].to_vec());
        }
    }

    #[test]
    fn the_space_round_trips_through_serde() {
        let s = space();
        let json = serde_json::to_string(&s).unwrap();
        let back: SearchSpace = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        // Validation runs on deserialization too.
        let bad = r#"[{"name":"x","type":"float","low":2.0,"high":1.0}]"#;
        assert!(serde_json::from_str::<SearchSpace>(bad).is_err());
    }
}
