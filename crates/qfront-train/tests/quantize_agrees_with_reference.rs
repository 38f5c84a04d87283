//! The tensor quantizers of qfront-train agree element for element with the slice quantizers
//! of qfront-quant (whose golden vectors come from methods-spec §1.9 and §2.7), forward and
//! backward.

use burn::module::RunningState;
use burn::tensor::{Device, Tensor, TensorData};
use qfront_quant::quantizers::dorefa::DoReFa;
use qfront_quant::quantizers::minmax::{MinMax, MinMaxMode};
use qfront_quant::quantizers::pact::{Pact, PactGradient};
use qfront_quant::quantizers::sawb::{Sawb, SawbGradient, SawbGrid, ScaleGranularity};
use qfront_quant::BitWidth;
use qfront_train::quantize::{pact_quantize, quantize_weight, WeightQuantizer};

const W: [f32; 12] = [
    -0.9, -0.5, -0.3, -0.1, -0.05, 0.0, 0.02, 0.1, 0.25, 0.4, 0.6, 1.2,
];

fn device() -> Device {
    Device::flex().autodiff()
}

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol,
            "element {i}: {x} vs {y}\n{a:?}\n{b:?}"
        );
    }
}

#[test]
fn pact_forward_and_gradients_match() {
    let x_vals = [-1.0f32, 0.0, 0.3, 1.0, 2.9, 3.0, 3.5, 10.0];
    for (bits, gradient) in [
        (2, PactGradient::Paper),
        (4, PactGradient::Paper),
        (2, PactGradient::Plus),
        (4, PactGradient::Plus),
    ] {
        let d = device();
        let x = Tensor::<1>::from_data(TensorData::from(x_vals), &d).require_grad();
        let alpha = Tensor::<1>::from_data(TensorData::from([3.0f32]), &d).require_grad();
        let y = pact_quantize(
            x.clone(),
            alpha.clone(),
            BitWidth::new(bits).unwrap(),
            gradient,
        );
        let grads = y.clone().sum().backward();
        let reference = Pact::new(bits, gradient).unwrap();
        let mut expected = vec![0.0f32; 8];
        reference.forward(&x_vals, 3.0, &mut expected).unwrap();
        close(&values(y), &expected, 1e-6);
        let mut gx = vec![0.0f32; 8];
        let ga = reference
            .backward(&x_vals, 3.0, &[1.0; 8], &mut gx)
            .unwrap();
        let got_ga = values(alpha.grad(&grads).unwrap())[0];
        assert!(
            (got_ga - ga).abs() < 1e-5,
            "bits {bits} {gradient:?}: dα {got_ga} vs {ga}"
        );
        let got_gx: Vec<f32> = x.grad(&grads).unwrap().into_data().iter::<f32>().collect();
        // x = 0 lies on the boundary of the ReLU; both conventions are measure-zero choices.
        let skip_zero = |v: &[f32]| -> Vec<f32> {
            v.iter()
                .enumerate()
                .filter(|(i, _)| *i != 1)
                .map(|(_, g)| *g)
                .collect()
        };
        close(&skip_zero(&got_gx), &skip_zero(&gx), 1e-6);
    }
}

#[test]
fn sawb_matches_on_both_grids_and_granularities() {
    for grid in SawbGrid::ALL {
        for bits in 2..=8 {
            for gradient in [SawbGradient::Clipped, SawbGradient::PassThrough] {
                let d = device();
                let w = Tensor::<1>::from_data(TensorData::from(W), &d).require_grad();
                let ema = RunningState::new(Tensor::<1>::zeros([1], &d));
                let q = WeightQuantizer::Sawb {
                    grid,
                    granularity: ScaleGranularity::PerTensor,
                    gradient,
                };
                let y = quantize_weight(
                    w.clone(),
                    &q,
                    BitWidth::new(bits).unwrap(),
                    &ema,
                    None,
                    true,
                );
                let grads = y.clone().sum().backward();
                let reference = Sawb::new(bits, grid, gradient).unwrap();
                let mut expected = [0.0f32; 12];
                let alpha = reference.forward(&W, &mut expected).unwrap();
                close(&values(y), &expected, 2e-6);
                let mut gw = [0.0f32; 12];
                reference.backward(&W, alpha, &[1.0; 12], &mut gw).unwrap();
                let got: Vec<f32> = w.grad(&grads).unwrap().into_data().iter::<f32>().collect();
                close(&got, &gw, 0.0);
                // The EMA was reset to the fresh scale on this first step.
                assert!((values(ema.value_sync())[0] - alpha).abs() < 1e-6);
            }
        }
    }
}

#[test]
fn sawb_per_channel_matches() {
    let d = device();
    let rows: Vec<f32> = W
        .iter()
        .chain(W.iter().map(|v| v * 0.25).collect::<Vec<_>>().iter())
        .copied()
        .collect();
    // Clipped runs composed; pass-through runs the fused kernel (one scale per row).
    for gradient in [SawbGradient::Clipped, SawbGradient::PassThrough] {
        for grid in SawbGrid::ALL {
            let w = Tensor::<2>::from_data(TensorData::new(rows.clone(), [2, 12]), &d);
            let ema = RunningState::new(Tensor::<1>::zeros([2], &d));
            let q = WeightQuantizer::Sawb {
                grid,
                granularity: ScaleGranularity::PerOutputChannel,
                gradient,
            };
            let y = quantize_weight(w, &q, BitWidth::new(4).unwrap(), &ema, None, true);
            let reference = Sawb::new(4, grid, gradient).unwrap();
            let mut expected = vec![0.0f32; 24];
            let scales = reference
                .forward_per_channel(&rows, 2, &mut expected)
                .unwrap();
            let got: Vec<f32> = y.into_data().iter::<f32>().collect();
            close(&got, &expected, 2e-6);
            close(&values(ema.value_sync()), &scales, 1e-6);
        }
    }
}

#[test]
fn sawb_eval_uses_the_ema_scale() {
    let d = device();
    let ema = RunningState::new(Tensor::<1>::zeros([1], &d));
    let q = WeightQuantizer::default();
    let bits = BitWidth::new(2).unwrap();
    let w1 = Tensor::<1>::from_data(TensorData::from(W), &d);
    let _ = quantize_weight(w1, &q, bits, &ema, None, true);
    let scaled: Vec<f32> = W.iter().map(|v| v * 2.0).collect();
    let w2 = Tensor::<1>::from_data(TensorData::new(scaled.clone(), [12]), &d);
    let _ = quantize_weight(w2.clone(), &q, bits, &ema, None, true);
    let a1 = Sawb::new(2, SawbGrid::NoZero, SawbGradient::Clipped)
        .unwrap()
        .scale(&W)
        .unwrap();
    let expected_ema = 0.9 * a1 + 0.1 * 2.0 * a1;
    assert!((values(ema.value_sync())[0] - expected_ema).abs() < 1e-5);
    // Evaluation (a plain device) quantizes with the EMA, not the fresh scale.
    let plain = Tensor::<1>::from_data(TensorData::new(scaled.clone(), [12]), &Device::flex());
    let y = quantize_weight(plain, &q, bits, &ema, None, false);
    let reference = Sawb::new(2, SawbGrid::NoZero, SawbGradient::Clipped).unwrap();
    let mut expected = vec![0.0f32; 12];
    reference.forward_with_scale(&scaled, expected_ema, &mut expected);
    close(&values(y), &expected, 1e-5);
}

#[test]
fn dorefa_and_min_max_match() {
    for bits in 2..=8 {
        let d = device();
        let ema = RunningState::new(Tensor::<1>::zeros([1], &d));
        let w = Tensor::<1>::from_data(TensorData::from(W), &d).require_grad();
        let y = quantize_weight(
            w.clone(),
            &WeightQuantizer::Dorefa,
            BitWidth::new(bits).unwrap(),
            &ema,
            None,
            true,
        );
        let grads = y.clone().sum().backward();
        let reference = DoReFa::new(bits).unwrap();
        let mut expected = [0.0f32; 12];
        reference.forward(&W, &mut expected).unwrap();
        close(&values(y), &expected, 2e-6);
        let mut gw = [0.0f32; 12];
        reference.backward(&W, &[1.0; 12], &mut gw).unwrap();
        close(
            &w.grad(&grads)
                .unwrap()
                .into_data()
                .iter::<f32>()
                .collect::<Vec<_>>(),
            &gw,
            2e-5,
        );
        for mode in [MinMaxMode::Symmetric, MinMaxMode::Asymmetric] {
            let w = Tensor::<1>::from_data(TensorData::from(W), &d);
            let y = quantize_weight(
                w,
                &WeightQuantizer::MinMax { mode },
                BitWidth::new(bits).unwrap(),
                &ema,
                None,
                true,
            );
            let mut expected = [0.0f32; 12];
            MinMax::new(bits, mode)
                .unwrap()
                .forward(&W, &mut expected)
                .unwrap();
            close(&values(y), &expected, 2e-6);
        }
    }
}
