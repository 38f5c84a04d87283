//! How much each input matters to a fitted GP, in the units of its (standardized, warped)
//! outcome: the prior standard deviation of the change `f(x + e_d) − f(x)` when input `d`
//! alone moves across the whole unit range,
//!
//! `relevance_d = √(2·(σ² − k(e_d))) = √(2σ²·(1 − (1 + √5/ℓ_d + 5/(3ℓ_d²))·exp(−√5/ℓ_d)))`
//!
//! for the Matérn-5/2 kernel ([`super::matern52`]) with output scale σ² and lengthscale ℓ_d.
//!
//! Why not the lengthscale alone (automatic relevance determination as usually read): a
//! lengthscale says how far the function stays correlated, not how much it moves. A nearly
//! linear objective (the four-bar truss's volume) is fitted with lengthscales of 8–24 on the
//! unit cube and a large output scale, and each of its inputs changes it by a fifth to a half
//! of the data's spread; an input that changes nothing is fitted past the prior's median
//! (about 11 for 8 inputs: 14–40 on the embedded BraninCurrin) with an output scale near 1
//! and moves it by about 0.04. The product
//! tells the two apart where the lengthscale cannot (design notes, "Line steps move only the
//! inputs the models use").

use super::{matern52, ExactGp};

/// An input is in use when moving it across the unit range changes some outcome by at
/// least this fraction of what the outcome's most relevant input changes it by
/// ([`ExactGp::input_relevance`], averaged over an ensemble's members). Relative, because an
/// unused input's relevance scales with the output scale (0.03–0.06 on warped outcomes of
/// about unit spread, 0.15 on raw Branin values with σ² = 6.3). Measured on issue #17's suite
/// (design notes, "Line steps move only the inputs the models use"): inputs an outcome does
/// not depend on score 0.02–0.05 of its most relevant input, the weakest inputs an outcome
/// does depend on 0.12 (the shifted DTLZ2's distance variables in `f₁`) to 0.4.
pub const INPUT_IN_USE: f64 = 0.1;

/// Which inputs some outcome's GP uses (relevance ≥ [`INPUT_IN_USE`] × that outcome's
/// largest): `models[s][j]` is ensemble member `s`'s GP of outcome `j` (objectives and
/// constraint slacks alike), and each outcome's relevance is its mean over the members. An
/// outcome that depends on nothing (noise alone) has no clear largest input and marks most
/// inputs as used, which errs on the side of the old behaviour. Empty without models.
pub fn inputs_in_use(models: &[Vec<ExactGp>]) -> Vec<bool> {
    let Some(first) = models.first().and_then(|member| member.first()) else {
        return Vec::new();
    };
    let dim = first.dim();
    let outcomes = models[0].len();
    let members = models.len() as f64;
    let mut in_use = vec![false; dim];
    for j in 0..outcomes {
        let mut mean = vec![0.0; dim];
        for member in models {
            for (m, r) in mean.iter_mut().zip(member[j].input_relevance()) {
                *m += r / members;
            }
        }
        let largest = mean.iter().cloned().fold(0.0, f64::max);
        for (used, relevance) in in_use.iter_mut().zip(mean) {
            *used |= relevance >= INPUT_IN_USE * largest;
        }
    }
    in_use
}

/// Inputs that identical outcomes show to do nothing. Two observations whose outcomes
/// (objectives and constraint slacks) are all exactly equal, and whose inputs agree
/// exactly in at least one input the models use (`in_use`), are a controlled experiment on
/// a noise-free objective: changing the inputs in which they differ changed nothing. Each
/// input in use in which such a pair differs is marked.
///
/// Why (design notes, "Identical outcomes take inputs out of the models"): with 18–40
/// trials in 8 inputs the fits give unused inputs of the embedded Branin–Currin relevances of
/// 0.07–1.0 of the largest, so [`inputs_in_use`] keeps them, and the acquisition measured
/// Currin's minimum at the corner `(x₀, x₁) = (0, 1)` again and again with other values of
/// them: 30 of 220 model-based trials over 10 seeds repeated an earlier outcome exactly.
///
/// What the evidence cannot tell, and the guards: noisy outcomes never repeat exactly, so the
/// rule is inert there; a pair that shares no input in use (two points on a plateau such as
/// Fonseca–Fleming's, where `1 − e^{−40}` rounds to 1) proves nothing and is skipped; and
/// the rule marks nothing when it would leave no input in use. An input that matters only
/// for some values of another (a conditional hyperparameter) is taken out everywhere once
/// two deterministic outcomes tie where it does not matter; the models then see its effect
/// elsewhere as noise.
///
/// A continuous input (`float_coordinates`, one flag per coordinate; a coordinate it does not
/// cover counts as continuous) in which the pair sits on **opposite faces** of the box (one at
/// 0, the other at 1 on the unit cube, to within `FACE_TOLERANCE`) is not marked: there a tie is what a
/// function symmetric about the range's centre (DTLZ's `Σ(xᵢ − ½)²`) or periodic over it
/// (ZDT6's `sin⁶(6πx₁)`, zero at both ends) gives, and the acquisition drives trials onto
/// faces. On ZDT6 the anchor step measured `x = 0` and a loose ask then `x₁ = 1`, both
/// `(1, 0)`; the tie took `x₁`, the input `f₁` depends on, out of every model, and 3 of 20
/// seeds stayed at that one point (design notes, "A tie on opposite faces"). A categorical's
/// one-hot coordinates are 0 or 1 by construction and have no geometry to be symmetric in,
/// so their ties still count.
pub fn inputs_shown_unused(
    x: &[Vec<f64>],
    outcomes: &[Vec<f64>],
    in_use: &[bool],
    float_coordinates: &[bool],
) -> Vec<bool> {
    let d = in_use.len();
    let mut shown = vec![false; d];
    // Observations grouped by their outcomes' exact bits.
    let mut groups: std::collections::HashMap<Vec<u64>, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        if outcome.iter().all(|v| v.is_finite()) {
            let bits = outcome.iter().map(|v| (v + 0.0).to_bits()).collect();
            groups.entry(bits).or_default().push(i);
        }
    }
    for members in groups.values().filter(|g| g.len() > 1) {
        for (a, &i) in members.iter().enumerate() {
            for &j in &members[a + 1..] {
                let (first, second) = (&x[i], &x[j]);
                if !(0..d).any(|k| in_use[k] && first[k] == second[k]) {
                    continue;
                }
                for k in 0..d {
                    shown[k] |= in_use[k]
                        && first[k] != second[k]
                        && !(float_coordinates.get(k).copied().unwrap_or(true)
                            && on_opposite_faces(first[k], second[k]));
                }
            }
        }
    }
    if (0..d).all(|k| !in_use[k] || shown[k]) {
        return vec![false; d];
    }
    shown
}

/// How far from 0 or 1 a unit-cube value still lies on that face: a log-scaled float's
/// bound comes back from decoding and encoding again an ulp or so off
/// (`SearchSpace::encoded_extremes`).
const FACE_TOLERANCE: f64 = 1e-12;

/// Whether two values of one unit-cube input lie on the box's two opposite faces.
fn on_opposite_faces(a: f64, b: f64) -> bool {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    low <= FACE_TOLERANCE && high >= 1.0 - FACE_TOLERANCE
}

/// The inputs to take out of every model ([`ExactGp::ignoring_inputs`]): those no
/// outcome's fitted GP uses ([`inputs_in_use`]) and those identical observed outcomes show to
/// do nothing ([`inputs_shown_unused`]). `models` is an ensemble as for [`inputs_in_use`],
/// fitted on `x` and `outcomes` (one row per observation, every outcome) encoded in `space`,
/// whose float parameters' coordinates are those where a tie on opposite faces is no evidence
/// (`SearchSpace::float_coordinates`).
pub fn inputs_to_ignore(
    models: &[Vec<ExactGp>],
    x: &[Vec<f64>],
    outcomes: &[Vec<f64>],
    space: &crate::space::SearchSpace,
) -> Vec<bool> {
    let in_use = inputs_in_use(models);
    let shown = inputs_shown_unused(x, outcomes, &in_use, &space.float_coordinates());
    in_use
        .iter()
        .zip(shown)
        .map(|(&used, shown)| !used || shown)
        .collect()
}

/// The lengthscale an ignored input is given ([`ExactGp::ignoring_inputs`]): on the unit
/// cube its kernel factor is then 1 to within 1e-17, so the input no longer counts.
pub const IGNORED_LENGTHSCALE: f64 = 1e9;

impl ExactGp {
    /// This GP with the inputs marked in `ignored` taken out of its kernel (lengthscale
    /// [`IGNORED_LENGTHSCALE`]), the other hyperparameters kept and the posterior conditioned
    /// again on the same data: `y` must be the values the GP was fitted on (before any
    /// output warp; the warp is kept).
    ///
    /// Why (design notes, "Unused inputs leave the models"): an input fitted with a long but
    /// finite lengthscale still adds posterior variance at points that differ from an
    /// observation only in it. On BraninCurrin embedded in 8 inputs, 26 of 69 loose-reference
    /// asks (10 seeds) re-evaluated an observed Pareto-optimal point with other values of
    /// the six inputs that change nothing, because that variance, multiplied by the loose
    /// point's width, made the repeat look like the best improvement. Without the input,
    /// a repeat is the observed point itself and qNEHVI scores it 0.
    pub fn ignoring_inputs(&self, y: &[f64], ignored: &[bool]) -> crate::Result<Self> {
        if ignored.len() != self.dim() {
            return Err(crate::BoError::input(
                "ignored inputs",
                format!("{} flags for a GP of {} inputs", ignored.len(), self.dim()),
            ));
        }
        let mut hyper = self.hyperparameters().clone();
        for (lengthscale, &ignore) in hyper.lengthscales.iter_mut().zip(ignored) {
            if ignore {
                *lengthscale = IGNORED_LENGTHSCALE;
            }
        }
        let trend = self.trend.as_ref().map(|t| t.ignoring(ignored));
        let mut refitted = ExactGp::condition_with_trend(self.train_x(), y, hyper, trend)?;
        refitted.output_warp = self.output_warp;
        Ok(refitted)
    }

    /// Each input's relevance (module notes): the prior standard deviation of the change in
    /// the latent function, in the GP's standardized and warped frame (where the data's
    /// spread is about 1), when that input alone moves from 0 to 1.
    pub fn input_relevance(&self) -> Vec<f64> {
        let hyper = self.hyperparameters();
        hyper
            .lengthscales
            .iter()
            .map(|lengthscale| {
                let across = matern52(&[0.0], &[1.0], &[1.0 / lengthscale], hyper.outputscale);
                (2.0 * (hyper.outputscale - across)).max(0.0).sqrt()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::inputs_in_use;
    use crate::gp::{ExactGp, GpFitOptions, Hyperparameters};
    use crate::problems::{BraninCurrin, Embedded, Problem};

    fn gp_with(lengthscales: Vec<f64>, outputscale: f64) -> ExactGp {
        let hyper = Hyperparameters {
            lengthscales,
            outputscale,
            noise: 1e-4,
            mean: 0.0,
        };
        ExactGp::condition(&[vec![0.5, 0.5], vec![0.1, 0.9]], &[0.3, -0.2], hyper).unwrap()
    }

    /// Golden values from the closed form (Python 3 `math`, double precision):
    /// ℓ = 0.5, σ² = 1: r = 2, k = (1 + 2√5 + 20/3)·e^{−2√5} = 0.1386602, relevance
    /// √(2·(1 − 0.1386602)) = 1.3125089; ℓ = 10, σ² = 4: r = 0.1, k/σ² = 0.9917592,
    /// relevance √(2·4·(1 − 0.9917592)) = 0.2567608.
    #[test]
    fn relevance_follows_the_closed_form() {
        let relevance = gp_with(vec![0.5, 10.0], 1.0).input_relevance();
        assert!((relevance[0] - 1.3125089).abs() < 1e-6, "{relevance:?}");
        let relevance = gp_with(vec![0.5, 10.0], 4.0).input_relevance();
        assert!((relevance[1] - 0.2567608).abs() < 1e-6, "{relevance:?}");
        // An input whose lengthscale grows without bound stops mattering.
        let relevance = gp_with(vec![1e6, 1e-3], 1.0).input_relevance();
        assert!(relevance[0] < 1e-5 && (relevance[1] - 2f64.sqrt()).abs() < 1e-9);
    }

    /// Branin (BraninCurrin's first objective) on the first two of five inputs, at 30 Sobol
    /// points: the inputs, the values and the problem.
    fn branin_in_five_inputs() -> (Vec<Vec<f64>>, Vec<f64>, Embedded) {
        let sobol = crate::sampling::SobolSampler::new(5, 3).unwrap();
        let x: Vec<Vec<f64>> = (0..30).map(|i| sobol.point(i)).collect();
        let embedded = Embedded::new(Box::new(BraninCurrin), 5, "branin-currin-d5").unwrap();
        let y: Vec<f64> = x.iter().map(|u| embedded.evaluate(u)[0]).collect();
        (x, y, embedded)
    }

    /// Fitted on an objective of the first two of five inputs (BraninCurrin's Branin embedded
    /// in five inputs, as in issue #17's embedded problem), the model uses exactly those two.
    /// The values are raw, not warped: the unused inputs' relevance is 0.13–0.15 there, above
    /// any absolute threshold a warped outcome would need, but under 0.05 of the first
    /// input's 3.3. A second outcome that uses the fourth input adds it.
    #[test]
    fn a_fit_uses_the_inputs_its_outcome_depends_on() {
        let (x, y, _) = branin_in_five_inputs();
        let options = GpFitOptions::default();
        let first = ExactGp::fit(&x, &y, &options).unwrap();
        assert_eq!(
            inputs_in_use(&[vec![first.clone()]]),
            [true, true, false, false, false]
        );
        let y4: Vec<f64> = x.iter().map(|u| (3.0 * u[3]).sin()).collect();
        let fourth = ExactGp::fit(&x, &y4, &options).unwrap();
        assert_eq!(
            inputs_in_use(&[vec![first, fourth]]),
            [true, true, false, true, false]
        );
        assert!(inputs_in_use(&[]).is_empty());
    }

    /// Branin embedded in five inputs, 30 points: with the three unused inputs ignored, a
    /// point that differs from an observation only in them predicts that observation's value
    /// with the noise's variance, where the fitted GP still leaves it some of its own; the
    /// inputs in use keep their lengthscales, and at 40 other points the GP predicts Branin
    /// no worse than before.
    #[test]
    fn an_ignored_input_no_longer_counts() {
        let (x, y, embedded) = branin_in_five_inputs();
        let fitted = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
        let ignored = [false, false, true, true, true];
        let without = fitted.ignoring_inputs(&y, &ignored).unwrap();
        let kept = &without.hyperparameters().lengthscales;
        assert_eq!(kept[..2], fitted.hyperparameters().lengthscales[..2]);
        assert!(kept[2..].iter().all(|&l| l == super::IGNORED_LENGTHSCALE));
        assert!(without.input_relevance()[2..].iter().all(|&r| r < 1e-8));

        // Observation 7 with its unused inputs moved to the far corner.
        let mut repeat = x[7].clone();
        repeat[2..]
            .iter_mut()
            .for_each(|u| *u = if *u < 0.5 { 1.0 } else { 0.0 });
        let (mean_before, variance_before) = fitted.predict(std::slice::from_ref(&repeat));
        let (mean_after, variance_after) = without.predict(std::slice::from_ref(&repeat));
        let (_, variance_at_observation) = without.predict(std::slice::from_ref(&x[7]));
        let spread =
            y.iter().cloned().fold(f64::MIN, f64::max) - y.iter().cloned().fold(f64::MAX, f64::min);
        assert!(
            (mean_after[0] - y[7]).abs() < 1e-3 * spread,
            "{} vs {}",
            mean_after[0],
            y[7]
        );
        assert!((variance_after[0] - variance_at_observation[0]).abs() < 1e-9 * spread * spread);
        assert!(
            variance_before[0] > 10.0 * variance_after[0],
            "{variance_before:?} {variance_after:?}"
        );
        assert!((mean_before[0] - y[7]).abs() > (mean_after[0] - y[7]).abs());

        let sobol = crate::sampling::SobolSampler::new(5, 3).unwrap();
        let probes: Vec<Vec<f64>> = (100..140).map(|i| sobol.point(i)).collect();
        let truth: Vec<f64> = probes.iter().map(|u| embedded.evaluate(u)[0]).collect();
        let rmse = |predicted: &[f64]| {
            (predicted
                .iter()
                .zip(&truth)
                .map(|(p, t)| (p - t).powi(2))
                .sum::<f64>()
                / truth.len() as f64)
                .sqrt()
        };
        let (before, _) = fitted.predict(&probes);
        let (after, _) = without.predict(&probes);
        assert!(
            rmse(&after) <= rmse(&before),
            "{} → {}",
            rmse(&before),
            rmse(&after)
        );
        assert!(fitted.ignoring_inputs(&y, &[true]).is_err());
    }

    /// Pairs with exactly equal outcomes that share an input in use show the inputs they
    /// differ in unused; nothing else does.
    #[test]
    fn identical_outcomes_show_the_inputs_they_differ_in_unused() {
        use super::inputs_shown_unused;
        let every = [true; 4];
        let x = vec![
            vec![0.0, 1.0, 0.3, 0.9],
            vec![0.0, 1.0, 0.7, 0.9], // same outcome as the first, input 2 moved
            vec![0.5, 0.2, 0.3, 0.1],
            vec![0.6, 0.2, 0.8, 0.4], // same outcome as the third, shares input 1
        ];
        let y = vec![
            vec![17.5, 1.18],
            vec![17.5, 1.18],
            vec![3.0, 4.0],
            vec![3.0, 4.0],
        ];
        assert_eq!(
            inputs_shown_unused(&x, &y, &every, &every),
            [true, false, true, true]
        );
        // Outcomes a noise apart prove nothing; neither does a tie in one objective only.
        let noisy = vec![
            vec![17.5, 1.18],
            vec![17.5 + 1e-12, 1.18],
            vec![3.0, 4.0],
            vec![3.0, 4.5],
        ];
        assert_eq!(inputs_shown_unused(&x, &noisy, &every, &every), [false; 4]);
        // A pair that shares no input in use (two points on a plateau) proves nothing.
        let plateau = vec![vec![0.1, 0.2, 0.3, 0.4], vec![0.9, 0.8, 0.7, 0.6]];
        let ones = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(
            inputs_shown_unused(&plateau, &ones, &every, &every),
            [false; 4]
        );
        // ... nor does one whose shared input the models already leave out.
        let used = [false, true, true, true];
        let shared_first = vec![vec![0.1, 0.2, 0.3, 0.4], vec![0.1, 0.8, 0.7, 0.6]];
        assert_eq!(
            inputs_shown_unused(&shared_first, &ones, &used, &every),
            [false; 4]
        );
        // Two pairs that would take out both inputs in use: the rule marks nothing.
        let pair = vec![vec![0.1, 0.2, 0.3, 0.4], vec![0.1, 0.8, 0.3, 0.4]];
        let two_pairs = [
            pair.clone(),
            vec![vec![0.3, 0.5, 0.3, 0.4], vec![0.6, 0.5, 0.3, 0.4]],
        ]
        .concat();
        let two_outcomes = vec![
            vec![1.0, 1.0],
            vec![1.0, 1.0],
            vec![2.0, 0.5],
            vec![2.0, 0.5],
        ];
        let first_two = [true, true, false, false];
        assert_eq!(
            inputs_shown_unused(&two_pairs, &two_outcomes, &first_two, &every),
            [false; 4]
        );
        assert_eq!(
            inputs_shown_unused(&two_pairs[..2], &two_outcomes[..2], &first_two, &every),
            [false, true, false, false]
        );
        // A tie between opposite faces of an input (a symmetric or periodic function's
        // coincidence) marks nothing there; the other inputs the pair differs in still count.
        let faces = vec![vec![0.0, 0.2, 0.3, 0.4], vec![1.0, 0.2, 0.3, 0.4]];
        assert_eq!(
            inputs_shown_unused(&faces, &ones, &every, &every),
            [false; 4]
        );
        // (a log-scaled bound an ulp off its face is on it)
        let nearly = vec![vec![1.0 - 1e-15, 0.2, 0.3, 0.4], vec![1e-16, 0.2, 0.3, 0.4]];
        assert_eq!(
            inputs_shown_unused(&nearly, &ones, &every, &every),
            [false; 4]
        );
        let faces_and_more = vec![vec![0.0, 0.2, 0.3, 0.4], vec![1.0, 0.2, 0.35, 1.0]];
        assert_eq!(
            inputs_shown_unused(&faces_and_more, &ones, &every, &every),
            [false, false, true, true]
        );
        // ... but a one-hot coordinate (not a float's) on both faces is a category changed,
        // and the tie counts.
        let one_hot_first = [false, true, true, true];
        assert_eq!(
            inputs_shown_unused(&faces, &ones, &every, &one_hot_first),
            [true, false, false, false]
        );
        // Non-finite outcomes are never compared; −0 and +0 are the same value.
        let nan = vec![vec![f64::NAN, 1.0], vec![f64::NAN, 1.0]];
        assert_eq!(inputs_shown_unused(&pair, &nan, &every, &every), [false; 4]);
        let zeros = vec![vec![0.0, 1.0], vec![-0.0, 1.0]];
        assert_eq!(
            inputs_shown_unused(&pair, &zeros, &every, &every),
            [false, true, false, false]
        );
    }

    /// Through the search space: a tie on the two faces of a float marks nothing, a tie
    /// between two categories (one-hot coordinates at 0 and 1) marks the category.
    #[test]
    fn the_space_says_which_face_ties_count() {
        use super::inputs_to_ignore;
        use crate::space::{Parameter, SearchSpace};
        let space = SearchSpace::new(vec![
            Parameter::float("x", 0.0, 1.0),
            Parameter::categorical("kind", &["a", "b"]),
        ])
        .unwrap();
        let x = vec![
            vec![0.0, 1.0, 0.0],
            vec![1.0, 1.0, 0.0], // the float's other face, the same outcomes
            vec![0.3, 1.0, 0.0],
            vec![0.3, 0.0, 1.0], // the other category, the same outcomes
            vec![0.7, 0.0, 1.0],
        ];
        let outcomes = vec![
            vec![1.0, 0.0],
            vec![1.0, 0.0],
            vec![0.4, 0.6],
            vec![0.4, 0.6],
            vec![0.9, 0.2],
        ];
        let hyper = Hyperparameters {
            lengthscales: vec![0.5; 3],
            outputscale: 1.0,
            noise: 1e-4,
            mean: 0.0,
        };
        let models = vec![(0..2)
            .map(|j| {
                let y: Vec<f64> = outcomes.iter().map(|o| o[j]).collect();
                ExactGp::condition(&x, &y, hyper.clone()).unwrap()
            })
            .collect::<Vec<_>>()];
        assert_eq!(inputs_in_use(&models), [true; 3]);
        assert_eq!(
            inputs_to_ignore(&models, &x, &outcomes, &space),
            [false, true, true]
        );
    }

    /// BraninCurrin embedded in five inputs at 12 Sobol points, and one more observation
    /// that repeats point 5 with input 2 moved (the same two outcomes): the fits use all
    /// five inputs, the repeat takes input 2 out, and a third point that differs from point
    /// 5 only in input 2 then has point 5's posterior (mean and variance), which is what
    /// makes qNEHVI score it 0.
    #[test]
    fn a_repeated_outcome_takes_the_input_out_of_the_models() {
        use super::inputs_to_ignore;
        let embedded = Embedded::new(Box::new(BraninCurrin), 5, "branin-currin-d5").unwrap();
        let sobol = crate::sampling::SobolSampler::new(5, 3).unwrap();
        let mut x: Vec<Vec<f64>> = (0..12).map(|i| sobol.point(i)).collect();
        let mut repeat = x[5].clone();
        repeat[2] = 1.0 - repeat[2];
        x.push(repeat);
        let outcomes: Vec<Vec<f64>> = x.iter().map(|u| embedded.evaluate(u)).collect();
        assert_eq!(outcomes[5], outcomes[12]);
        let columns: Vec<Vec<f64>> = (0..2)
            .map(|j| outcomes.iter().map(|o| o[j]).collect())
            .collect();
        let fitted: Vec<ExactGp> = columns
            .iter()
            .map(|y| ExactGp::fit(&x, y, &GpFitOptions::default()).unwrap())
            .collect();
        let models = vec![fitted];
        assert_eq!(inputs_in_use(&models), [true; 5]);
        let ignored = inputs_to_ignore(
            &models,
            &x,
            &outcomes,
            &crate::space::SearchSpace::unit_cube(5).unwrap(),
        );
        assert_eq!(ignored, [false, false, true, false, false]);
        let mut third = x[5].clone();
        third[2] = 0.5 * (x[5][2] + x[12][2]) + 0.1;
        for (gp, y) in models[0].iter().zip(&columns) {
            let without = gp.ignoring_inputs(y, &ignored).unwrap();
            let at_observation = without.variance_fraction(std::slice::from_ref(&x[5]))[0];
            let at_third = without.variance_fraction(std::slice::from_ref(&third))[0];
            assert!(
                (at_third - at_observation).abs() <= 1e-12,
                "{at_third} {at_observation}"
            );
            let (means, _) = without.predict(&[x[5].clone(), third.clone()]);
            assert!(
                (means[0] - means[1]).abs() <= 1e-9 * means[0].abs(),
                "{means:?}"
            );
        }
    }
}
