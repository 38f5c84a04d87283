//! The executor: the fast kernel set gives the same logits as the scalar reference on random
//! models (every bit width, grouped/depthwise and residual convolutions, token pooling), and
//! bad input is rejected with a clear error.

mod common;

use qfront_rt::format::TokenPooling;
use qfront_rt::{argmax, softmax, KernelSet, Session};

fn images(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = common::Lcg(seed);
    (0..n)
        .map(|_| (rng.next_u32() % 17) as f32 / 16.0)
        .collect()
}

#[test]
fn fast_kernels_match_the_reference_on_image_models() {
    for fast in KernelSet::available() {
        eprintln!("kernel set: {}", fast.name());
        for seed in 0..12u64 {
            let bits = [
                2 + (seed % 7) as u32,
                2 + ((seed + 2) % 7) as u32,
                2 + ((seed + 4) % 7) as u32,
                8 - (seed % 3) as u32,
            ];
            let file = common::image_model(seed, bits);
            for batch in [1, 3, 9] {
                let x = images(seed * 31 + batch as u64, batch * 128);
                let mut reference = Session::new(&file, KernelSet::Reference);
                let mut session = Session::new(&file, fast);
                let expected = reference.run_images(&x, batch).unwrap().to_vec();
                let got = session.run_images(&x, batch).unwrap().to_vec();
                assert_eq!(got, expected, "seed {seed} bits {bits:?} batch {batch}");
                // Batching does not change any example's result.
                let single = session.run_images(&x[..128], 1).unwrap().to_vec();
                assert_eq!(single, expected[..5].to_vec());
            }
        }
    }
}

/// A batch far larger than a convolution's cache block (a few hundred of these 8×8 examples
/// per 256 KiB block) runs in several blocks, the last one partial: every kernel set still
/// gives the reference's outputs, and every example its own single-example result.
#[test]
fn batches_spanning_several_cache_blocks_match_the_reference() {
    let file = common::image_model(5, [8, 4, 3, 8]);
    let batch = 1001;
    let x = images(77, batch * 128);
    let mut reference = Session::new(&file, KernelSet::Reference);
    let expected = reference.run_images(&x, batch).unwrap().to_vec();
    for fast in KernelSet::available() {
        let mut session = Session::new(&file, fast);
        let got = session.run_images(&x, batch).unwrap().to_vec();
        assert_eq!(got, expected, "{}", fast.name());
        for example in [0, 500, 1000] {
            let single = session
                .run_images(&x[example * 128..(example + 1) * 128], 1)
                .unwrap()
                .to_vec();
            let classes = single.len();
            assert_eq!(
                single,
                expected[example * classes..(example + 1) * classes].to_vec(),
                "{} example {example}",
                fast.name()
            );
        }
    }
}

#[test]
fn token_models_pool_only_real_tokens() {
    for pooling in [TokenPooling::Mean, TokenPooling::Max] {
        let file = common::token_model(7, pooling);
        let mut reference = Session::new(&file, KernelSet::Reference);
        let ids = [3, 9, 1, 0, 0, 0, 5, 5, 5, 5, 5, 19, 0, 0, 0, 0, 0, 0];
        let expected = reference.run_tokens(&ids, 3).unwrap().to_vec();
        for set in KernelSet::available() {
            let mut session = Session::new(&file, set);
            assert_eq!(
                session.run_tokens(&ids, 3).unwrap(),
                &expected[..],
                "{}",
                set.name()
            );
        }
        let mut session = Session::new(&file, KernelSet::best_available());
        assert!(expected.iter().all(|v| v.is_finite()));
        // An empty utterance pools to zero features: its logits are the classifier's biases,
        // whatever padding it carries.
        let empty = session.run_tokens(&[0; 6], 1).unwrap().to_vec();
        assert_eq!(&expected[6..9], &empty[..]);
    }
}

#[test]
fn argmax_and_softmax() {
    assert_eq!(argmax(&[0.1, 2.0, 2.0, -1.0, 0.0, -3.0], 3), vec![1, 1]);
    let p = softmax(&[1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0], 3);
    let expected = [0.09003057, 0.24472847, 0.66524096];
    for (a, b) in p[..3].iter().zip(expected) {
        assert!((a - b).abs() < 1e-6);
    }
    assert!(p[3..].iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-6));
}

#[test]
fn bad_input_is_rejected() {
    let file = common::image_model(1, [4, 4, 4, 4]);
    let mut session = Session::new(&file, KernelSet::best_available());
    let err = session.run_images(&[0.0; 100], 1).unwrap_err().to_string();
    assert!(err.contains("expected 1×2×8×8"), "{err}");
    let mut x = vec![0.0; 128];
    x[3] = f32::NAN;
    assert!(session
        .run_images(&x, 1)
        .unwrap_err()
        .to_string()
        .contains("not finite"));
    assert!(session
        .run_tokens(&[1; 6], 1)
        .unwrap_err()
        .to_string()
        .contains("images"));
    let tokens = common::token_model(1, TokenPooling::Mean);
    let mut session = Session::new(&tokens, KernelSet::best_available());
    assert!(session
        .run_tokens(&[1, 2, 3, 4, 5, 20], 1)
        .unwrap_err()
        .to_string()
        .contains("vocabulary of 20"));
}

#[test]
fn a_linear_layer_computes_its_real_valued_definition() {
    // logits_o = gain_o·Σ_k scale_o·(c_ok − z₂/2)·x_k + bias_o, with x on the input grid, for
    // weight grids with and without (half-)integer zero points.
    use qfront_rt::format::{InputSpec, LayerOutput, ModelBuilder, RealAffine};
    for (seed, z2) in [(1u64, 0), (2, -1), (3, 6)] {
        let mut rng = common::Lcg(seed);
        let input = InputSpec::Image {
            height: 4,
            width: 5,
            channels: 1,
            scale: 1.0 / 16.0,
            zero_point: 3,
        };
        let mut b = ModelBuilder::new("linear", "tests", input).unwrap();
        let f = b.flatten("flatten", 0).unwrap();
        let w = common::weights(&mut rng, 7, 20, 5, z2, true);
        let real = RealAffine {
            gain: (0..7)
                .map(|i| if i % 2 == 0 { 1.3 } else { -0.7 })
                .collect(),
            bias: (0..7).map(|i| 0.1 * i as f64 - 0.2).collect(),
        };
        b.linear("fc", f, &w, &real, LayerOutput::Logits).unwrap();
        let file = b.finish().unwrap();
        let x: Vec<f32> = (0..20)
            .map(|_| (rng.next_u32() % 40) as f32 / 16.0 - 0.1875)
            .collect();
        let logits = Session::new(&file, KernelSet::Reference)
            .run_images(&x, 1)
            .unwrap()
            .to_vec();
        for (o, logit) in logits.iter().enumerate() {
            let dot: f64 = x
                .iter()
                .enumerate()
                .map(|(k, &xk)| {
                    w.scale[o] as f64 * (w.codes[o * 20 + k] as f64 - z2 as f64 / 2.0) * xk as f64
                })
                .sum();
            let expected = real.gain[o] * dot + real.bias[o];
            assert!(
                (*logit as f64 - expected).abs() < 1e-4,
                "z2 {z2} output {o}: {logit} vs {expected}"
            );
        }
    }
}
