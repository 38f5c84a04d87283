//! Axes of the report's scatter plots: linear, or logarithmic when a metric spans a wide
//! range (issue #16: a single 0.73 ms trial squeezed every other one into a line at 0).

/// How a scatter axis is drawn: linear, or logarithmic when its values are all positive and
/// span more than [`LOG_AXIS_SPAN`]× (one slow trial would otherwise squeeze every other
/// point into a line at 0). A log axis plots `log10(v)` on linear coordinates and labels
/// ticks with the values themselves ([`Axis::log_label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Linear,
    Log,
}

/// The ratio of the largest to the smallest value above which an axis turns logarithmic.
pub(crate) const LOG_AXIS_SPAN: f64 = 30.0;

impl Axis {
    /// The axis for these values (non-finite ones ignored).
    pub(crate) fn for_values(values: impl Iterator<Item = f64> + Clone) -> Self {
        let finite = values.filter(|v| v.is_finite());
        let (lo, hi) = finite
            .clone()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if lo > 0.0 && hi / lo > LOG_AXIS_SPAN {
            Axis::Log
        } else {
            Axis::Linear
        }
    }

    /// Where `v` goes on the plot's linear coordinates.
    pub(crate) fn to_plot(self, v: f64) -> f64 {
        match self {
            Axis::Linear => v,
            Axis::Log => v.log10(),
        }
    }

    /// The tick label of a log axis at plot coordinate `t`: the value `10^t`.
    pub(crate) fn log_label(t: f64) -> String {
        let v = 10f64.powf(t);
        if (0.01..10_000.0).contains(&v) {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            format!("{v:.1e}")
        }
    }

    /// The axis title for metric `name`.
    pub(crate) fn describe(self, name: &str) -> String {
        match self {
            Axis::Linear => name.to_string(),
            Axis::Log => format!("{name} (log scale)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_positive_ranges_turn_logarithmic() {
        let latency = [0.012, 0.02, 0.73, 0.015];
        assert_eq!(Axis::for_values(latency.into_iter()), Axis::Log);
        assert_eq!(
            Axis::for_values([0.9, 0.95, 0.97].into_iter()),
            Axis::Linear
        );
        // A zero or negative value, or a span of exactly 30x, keeps the axis linear.
        assert_eq!(
            Axis::for_values([0.0, 1.0, 500.0].into_iter()),
            Axis::Linear
        );
        assert_eq!(Axis::for_values([-1.0, 100.0].into_iter()), Axis::Linear);
        assert_eq!(Axis::for_values([1.0, 30.0].into_iter()), Axis::Linear);
        assert_eq!(
            Axis::for_values([1.0, f64::NAN, 31.0].into_iter()),
            Axis::Log
        );
    }

    #[test]
    fn log_axes_plot_logarithms_and_label_values() {
        let axis = Axis::Log;
        assert!((axis.to_plot(100.0) - 2.0).abs() < 1e-12);
        assert_eq!(Axis::log_label(axis.to_plot(0.25)), "0.25");
        assert_eq!(Axis::log_label(axis.to_plot(1e-4)), "1.0e-4");
        assert_eq!(Axis::Linear.to_plot(2.5), 2.5);
        assert_eq!(axis.describe("latency_ms"), "latency_ms (log scale)");
    }
}
