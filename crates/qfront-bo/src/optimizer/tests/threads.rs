//! An ask spreads its fits, its fit starts and its acquisition searches over rayon's pool; the
//! trials it proposes must not depend on how many threads the pool has.

use super::*;
use crate::space::{Parameter, Scale};

/// Three objectives on a mixed space (two floats, an integer, a three-level categorical),
/// two of them heavy-tailed so that their warps are judged against plain fits, told `n`
/// trials of its own asks; returns the trials of one more ask of two points.
fn mixed_ask(method: Method, n: usize) -> Vec<Trial> {
    let space = SearchSpace::new(vec![
        Parameter::float("a", 0.0, 1.0),
        Parameter::float("b", 0.0, 1.0),
        Parameter::int("units", 1, 6, Scale::Linear),
        Parameter::categorical("kind", &["x", "y", "z"]),
    ])
    .unwrap();
    let mut config = OptimizerConfig::new(space, 3, method, 11);
    config.mc_samples = 32;
    let mut opt = Optimizer::new(config).unwrap();
    for t in opt.ask(n).unwrap() {
        let (a, b, units, kind) = (t.x[0], t.x[1], t.x[2], t.x[3..].to_vec());
        let bonus = kind[1] - 0.5 * kind[2];
        let values = vec![
            -(4.0 * a).exp() - units,
            -(3.0 * (1.0 - a) * (1.0 + b)).exp() + bonus,
            -(a - 0.3).powi(2) - (b - 0.6).powi(2) - 0.1 * units * bonus,
        ];
        opt.tell(t.id, Ok(values)).unwrap();
    }
    opt.ask(2).unwrap()
}

fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(work)
}

/// The same history asked on one thread and on three gives the same trials bit for bit:
/// points, proposals (reference points and acquisition values) and recorded fits, for each
/// Monte-Carlo acquisition (the raw samples span several candidate chunks).
#[test]
fn an_ask_is_the_same_on_one_thread_and_on_three() {
    for method in [Method::Qnehvi, Method::Qlognehvi, Method::Qparego] {
        let one = in_pool(1, || mixed_ask(method, 14));
        let three = in_pool(3, || mixed_ask(method, 14));
        assert!(one.iter().all(|t| t.model_fit.is_some()), "{method:?}");
        for (a, b) in one.iter().zip(&three) {
            let bits = |t: &Trial| t.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{method:?}");
            assert_eq!(format!("{:?}", a.proposal), format!("{:?}", b.proposal));
            assert_eq!(a.model_fit, b.model_fit, "{method:?}");
        }
    }
}
