//! The two engineering problems of Tanabe and Ishibuchi ("An easy-to-use real-world
//! multi-objective optimization problem suite", Applied Soft Computing 2020) that BoTorch
//! ships: vehicle crash safety (m = 3) and car side impact (m = 4).

use super::Problem;

/// Vehicle crashworthiness (d = 5 on `[1, 3]⁵`, m = 3): mass, acceleration, toe-board
/// intrusion, each a response-surface polynomial.
#[derive(Debug, Clone, Copy, Default)]
pub struct VehicleSafety;

impl Problem for VehicleSafety {
    fn name(&self) -> String {
        "vehicle-safety".into()
    }
    fn dim(&self) -> usize {
        5
    }
    fn num_objectives(&self) -> usize {
        3
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        vec![(1.0, 3.0); 5]
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        let [x1, x2, x3, x4, x5] = [x[0], x[1], x[2], x[3], x[4]];
        let f1 = 1640.2823
            + 2.3573285 * x1
            + 2.3220035 * x2
            + 4.5688768 * x3
            + 7.7213633 * x4
            + 4.4559504 * x5;
        let f2 = 6.5856 + 1.15 * x1 - 1.0427 * x2 + 0.9738 * x3 + 0.8364 * x4 - 0.3695 * x1 * x4
            + 0.0861 * x1 * x5
            + 0.3628 * x2 * x4
            - 0.1106 * x1 * x1
            - 0.3437 * x3 * x3
            + 0.1764 * x4 * x4;
        let f3 = -0.0551 + 0.0181 * x1 + 0.1024 * x2 + 0.0421 * x3 - 0.0073 * x1 * x2
            + 0.024 * x2 * x3
            - 0.0118 * x2 * x4
            - 0.0204 * x3 * x4
            - 0.008 * x3 * x5
            - 0.0241 * x2 * x2
            + 0.0109 * x4 * x4;
        vec![f1, f2, f3]
    }
    fn reference_point(&self) -> Vec<f64> {
        vec![1864.72022, 11.81993945, 0.2903999384]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(246.81607081187002)
    }
}

/// Car side impact (d = 7, m = 4): weight, pubic force, mean velocity, and the summed
/// violation of ten constraints `g_j ≥ 0` as a fourth objective.
#[derive(Debug, Clone, Copy, Default)]
pub struct CarSideImpact;

impl Problem for CarSideImpact {
    fn name(&self) -> String {
        "car-side-impact".into()
    }
    fn dim(&self) -> usize {
        7
    }
    fn num_objectives(&self) -> usize {
        4
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        vec![
            (0.5, 1.5),
            (0.45, 1.35),
            (0.5, 1.5),
            (0.5, 1.5),
            (0.875, 2.625),
            (0.4, 1.2),
            (0.4, 1.2),
        ]
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        let [x1, x2, x3, x4, x5, x6, x7] = [x[0], x[1], x[2], x[3], x[4], x[5], x[6]];
        let f1 =
            1.98 + 4.9 * x1 + 6.67 * x2 + 6.98 * x3 + 4.01 * x4 + 1.78 * x5 + 1e-5 * x6 + 2.73 * x7;
        let f2 = 4.72 - 0.5 * x4 - 0.19 * x2 * x3;
        let v_mbp = 10.58 - 0.674 * x1 * x2 - 0.67275 * x2;
        let v_fd = 16.45 - 0.489 * x3 * x7 - 0.843 * x5 * x6;
        let f3 = 0.5 * (v_mbp + v_fd);
        // The constraint slacks, term by term as Tanabe & Ishibuchi (and BoTorch) write them.
        let g = [
            1.0 - 1.16 + 0.3717 * x2 * x4 + 0.0092928 * x3,
            0.32 - 0.261 + 0.0159 * x1 * x2 + 0.06486 * x1 + 0.019 * x2 * x7
                - 0.0144 * x3 * x5
                - 0.0154464 * x6,
            0.32 - 0.214 - 0.00817 * x5 + 0.045195 * x1 + 0.0135168 * x1 - 0.03099 * x2 * x6
                + 0.018 * x2 * x7
                - 0.007176 * x3
                - 0.023232 * x3
                + 0.00364 * x5 * x6
                + 0.018 * x2 * x2,
            0.32 - 0.74 + 0.61 * x2 + 0.031296 * x3 + 0.031872 * x7 - 0.227 * x2 * x2,
            32.0 - 28.98 - 3.818 * x3 + 4.2 * x1 * x2 - 1.27296 * x6 + 2.68065 * x7,
            32.0 - 33.86 - 2.95 * x3 + 5.057 * x1 * x2 + 3.795 * x2 + 3.4431 * x7 - 1.45728,
            32.0 - 46.36 + 9.9 * x2 + 4.4505 * x1,
            4.0 - f2,
            9.9 - v_mbp,
            15.7 - v_fd,
        ];
        let f4: f64 = g.iter().map(|&s| if s < 0.0 { -s } else { 0.0 }).sum();
        vec![f1, f2, f3, f4]
    }
    fn reference_point(&self) -> Vec<f64> {
        vec![45.4872, 4.5114, 13.3394, 10.3942]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(484.72654347642793)
    }
}

#[cfg(test)]
mod tests {
    use super::super::golden::check;
    use super::*;

    #[test]
    fn golden_values() {
        // methods-spec §5.4.
        check(
            &VehicleSafety,
            &[
                &[1672.420584, 9.015225, 0.106225],
                &[1683.133345, 9.6266, 0.1233],
                &[1693.846106, 10.138725, 0.122025],
            ],
            1e-8,
        );
        check(
            &CarSideImpact,
            &[
                &[22.374006, 4.2488125, 12.67538438, 4.657519175],
                &[29.172008, 4.049, 12.1232625, 1.0485],
                &[35.97001, 3.8278125, 11.43501563, 0.0],
            ],
            1e-8,
        );
    }
}
