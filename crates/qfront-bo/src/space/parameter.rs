//! One search-space parameter and the values it takes.

use crate::{BoError, Result};
use serde::{Deserialize, Serialize};

/// Linear or logarithmic spacing of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Uniform in the value.
    #[default]
    Linear,
    /// Uniform in the logarithm of the value (the bounds must be positive).
    Log,
}

/// A parameter value as a trial sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// An integer (int parameters; ordered choices of integers).
    Int(i64),
    /// A real number.
    Float(f64),
    /// A category name.
    Text(String),
}

impl ParamValue {
    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ParamValue::Int(v) => Some(v as f64),
            ParamValue::Float(v) => Some(v),
            ParamValue::Text(_) => None,
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Text(v) => write!(f, "{v}"),
        }
    }
}

/// What values a parameter takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ParameterKind {
    /// A real number in `[low, high]`.
    Float {
        /// Lower bound.
        low: f64,
        /// Upper bound (> low).
        high: f64,
        /// Spacing.
        #[serde(default)]
        scale: Scale,
    },
    /// An integer in `low..=high`.
    Int {
        /// Lower bound.
        low: i64,
        /// Upper bound (> low).
        high: i64,
        /// Spacing.
        #[serde(default)]
        scale: Scale,
    },
    /// One of an ordered list of values (e.g. batch size 32, 64, 128, 256): neighbours in the
    /// list are neighbours in the encoding.
    Ordered {
        /// The values, in order (at least 2, all distinct).
        values: Vec<ParamValue>,
    },
    /// One of unordered categories, one-hot encoded.
    Categorical {
        /// The category names (at least 2, all distinct).
        values: Vec<String>,
    },
}

/// A named parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Name (unique in its space).
    pub name: String,
    /// Values it takes.
    #[serde(flatten)]
    pub kind: ParameterKind,
}

impl Parameter {
    /// A float parameter on a linear scale.
    pub fn float(name: &str, low: f64, high: f64) -> Self {
        Self::new(
            name,
            ParameterKind::Float {
                low,
                high,
                scale: Scale::Linear,
            },
        )
    }

    /// A float parameter on a log scale.
    pub fn log_float(name: &str, low: f64, high: f64) -> Self {
        Self::new(
            name,
            ParameterKind::Float {
                low,
                high,
                scale: Scale::Log,
            },
        )
    }

    /// An integer parameter.
    pub fn int(name: &str, low: i64, high: i64, scale: Scale) -> Self {
        Self::new(name, ParameterKind::Int { low, high, scale })
    }

    /// An ordered choice.
    pub fn ordered(name: &str, values: Vec<ParamValue>) -> Self {
        Self::new(name, ParameterKind::Ordered { values })
    }

    /// A categorical choice.
    pub fn categorical(name: &str, values: &[&str]) -> Self {
        Self::new(
            name,
            ParameterKind::Categorical {
                values: values.iter().map(|v| v.to_string()).collect(),
            },
        )
    }

    fn new(name: &str, kind: ParameterKind) -> Self {
        Self {
            name: name.to_string(),
            kind,
        }
    }

    /// Dimensions of the parameter in the encoded cube (categories are one-hot).
    pub fn encoded_dim(&self) -> usize {
        match &self.kind {
            ParameterKind::Categorical { values } => values.len(),
            _ => 1,
        }
    }

    /// Checks the definition; every later use assumes it passed.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(BoError::InvalidSpace {
                parameter: self.name.clone(),
                reason,
            })
        };
        if self.name.trim().is_empty() {
            return bad("a parameter needs a non-empty name".into());
        }
        match &self.kind {
            ParameterKind::Float { low, high, scale } => {
                if !low.is_finite() || !high.is_finite() {
                    return bad(format!("bounds [{low}, {high}] must be finite"));
                }
                if low >= high {
                    return bad(format!("low {low} must be below high {high}"));
                }
                if *scale == Scale::Log && *low <= 0.0 {
                    return bad(format!("a log scale needs low > 0, got {low}"));
                }
            }
            ParameterKind::Int { low, high, scale } => {
                if low >= high {
                    return bad(format!("low {low} must be below high {high}"));
                }
                if *scale == Scale::Log && *low < 1 {
                    return bad(format!("a log scale needs low >= 1, got {low}"));
                }
            }
            ParameterKind::Ordered { values } => {
                if values.len() < 2 {
                    return bad("an ordered choice needs at least 2 values".into());
                }
                if let Some(v) = values
                    .iter()
                    .find(|v| v.as_f64().is_some_and(|x| !x.is_finite()))
                {
                    return bad(format!("value {v} is not finite"));
                }
                for (i, v) in values.iter().enumerate() {
                    if values[..i].contains(v) {
                        return bad(format!("value {v} appears twice"));
                    }
                }
            }
            ParameterKind::Categorical { values } => {
                if values.len() < 2 {
                    return bad("a categorical choice needs at least 2 values".into());
                }
                for (i, v) in values.iter().enumerate() {
                    if values[..i].contains(v) {
                        return bad(format!("category '{v}' appears twice"));
                    }
                }
            }
        }
        Ok(())
    }
}
