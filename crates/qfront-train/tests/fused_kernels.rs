//! The fused training kernels (qfront_train::kernels) against the composed burn operations they
//! replace — burn's own conv2d, max_pool2d and the composed PACT — on random inputs: forward
//! values and the gradients of `Σ y·r` for a random `r`, with respect to every input.

use burn::module::Param;
use burn::tensor::module::{conv2d as burn_conv2d, max_pool2d as burn_max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use qfront_quant::quantizers::pact::PactGradient;
use qfront_quant::BitWidth;
use qfront_train::kernels::{conv2d, max_pool2d};
use qfront_train::quantize::{pact_quantize, pact_quantize_composed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn device() -> Device {
    Device::flex().autodiff()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{what}: element {i}: fused {g} vs burn {w} (scale {scale})"
        );
    }
}

/// Standard normal values from a seeded generator (Box–Muller), so every run tests the same data.
fn random<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let count: usize = shape.iter().product();
    let data: Vec<f32> = (0..count)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// Forward and gradients of a fused convolution against burn's on one geometry.
fn check_conv(x_shape: [usize; 4], w_shape: [usize; 4], stride: usize, padding: [usize; 2]) {
    let d = device();
    let x_data = random(x_shape, 1, &d).into_data();
    let w_data = random(w_shape, 2, &d).into_data();
    let options = ConvOptions::new([stride; 2], padding, [1, 1], 1);
    let mut results = Vec::new();
    for fused in [true, false] {
        let x = Tensor::<4>::from_data(x_data.clone(), &d).require_grad();
        let w = Tensor::<4>::from_data(w_data.clone(), &d).require_grad();
        let y = if fused {
            conv2d(x.clone(), w.clone(), None, options.clone())
        } else {
            burn_conv2d(x.clone(), w.clone(), None, options.clone())
        };
        results.push((y, x, w));
    }
    let r = random(results[0].0.dims(), 9, &d);
    let mut grads = Vec::new();
    for (y, x, w) in &results {
        let g = (y.clone() * r.clone()).sum().backward();
        grads.push((
            values(y.clone()),
            values(x.grad(&g).expect("x gradient")),
            values(w.grad(&g).expect("w gradient")),
        ));
    }
    let what = format!("conv x{x_shape:?} w{w_shape:?} stride {stride} pad {padding:?}");
    assert_eq!(
        results[0].0.dims(),
        results[1].0.dims(),
        "{what}: output shape"
    );
    assert_close(&format!("{what} forward"), &grads[0].0, &grads[1].0, 1e-5);
    assert_close(&format!("{what} dx"), &grads[0].1, &grads[1].1, 1e-5);
    assert_close(&format!("{what} dw"), &grads[0].2, &grads[1].2, 1e-5);
}

#[test]
fn fused_conv_matches_burn() {
    check_conv([3, 2, 7, 6], [4, 2, 3, 3], 1, [1, 1]);
    check_conv([5, 3, 9, 8], [6, 3, 3, 3], 2, [1, 1]);
    check_conv([2, 1, 28, 28], [16, 1, 5, 5], 1, [2, 2]);
    check_conv([9, 16, 14, 14], [32, 16, 5, 5], 1, [2, 2]);
    check_conv([3, 4, 5, 5], [8, 4, 1, 1], 1, [0, 0]);
    check_conv([3, 4, 6, 6], [8, 4, 1, 1], 2, [0, 0]);
    // A conv1d as a 1×k conv2d: padding only along the width.
    check_conv([4, 6, 1, 11], [5, 6, 1, 3], 1, [0, 1]);
    check_conv([2, 3, 6, 7], [2, 3, 2, 4], 1, [0, 0]);
}

#[test]
fn fused_conv_bias_and_eval_device_match_burn() {
    // No autodiff: the flex implementation itself; with a bias added after the kernel.
    let d = Device::flex();
    let x = random([2, 3, 8, 8], 3, &d);
    let w = random([4, 3, 3, 3], 4, &d);
    let b = random([4], 5, &d);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let fused = conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone());
    let reference = burn_conv2d(x, w, Some(b), options);
    assert_close("conv with bias", &values(fused), &values(reference), 1e-5);
}

#[test]
fn fused_max_pool_matches_burn() {
    for (shape, kernel, stride) in [
        ([3, 4, 8, 8], 2, 2),
        ([2, 3, 7, 9], 2, 2),
        ([2, 2, 9, 9], 3, 2),
        ([1, 2, 5, 6], 3, 1),
    ] {
        let d = device();
        // Rounded values make ties, which both must break towards the first maximum.
        let data = random(shape, 6, &d).mul_scalar(2.0).round().into_data();
        let options = MaxPoolOptions::new([kernel; 2]).with_stride([stride; 2]);
        let mut outs = Vec::new();
        for fused in [true, false] {
            let x = Tensor::<4>::from_data(data.clone(), &d).require_grad();
            let y = if fused {
                max_pool2d(x.clone(), kernel, stride)
            } else {
                burn_max_pool2d(x.clone(), options.clone())
            };
            outs.push((y, x));
        }
        let r = random(outs[0].0.dims(), 10, &d);
        let mut got = Vec::new();
        for (y, x) in &outs {
            let g = (y.clone() * r.clone()).sum().backward();
            got.push((values(y.clone()), values(x.grad(&g).unwrap())));
        }
        let what = format!("max pool {shape:?} k{kernel} s{stride}");
        assert_eq!(outs[0].0.dims(), outs[1].0.dims(), "{what}: shape");
        assert_close(&format!("{what} forward"), &got[0].0, &got[1].0, 0.0);
        assert_close(&format!("{what} dx"), &got[0].1, &got[1].1, 1e-6);
    }
}

#[test]
fn fused_pact_matches_the_composed_form() {
    let d = device();
    // Normal values, plus exact hits on 0 and α, both rounding ties of the grid and NaN-free.
    let mut data: Vec<f32> = values(random([4000], 7, &d).mul_scalar(2.0));
    data.extend([0.0, 1.5, 3.0, 3.0, -0.0, 0.75, 2.25, 1e-9]);
    for bits in [2u32, 4, 8, 32] {
        let x_data = TensorData::new(data.clone(), [data.len()]);
        let mut outs = Vec::new();
        for fused in [true, false] {
            let x = Tensor::<1>::from_data(x_data.clone(), &d).require_grad();
            let alpha = Param::from_tensor(Tensor::<1>::from_floats([3.0], &d)).val();
            let bits = if bits == 32 {
                BitWidth::FULL
            } else {
                BitWidth::new(bits).unwrap()
            };
            let y = if fused {
                pact_quantize(x.clone(), alpha.clone(), bits, PactGradient::Paper)
            } else {
                pact_quantize_composed(x.clone(), alpha.clone(), bits, PactGradient::Paper)
            };
            outs.push((y, x, alpha));
        }
        let r = random([data.len()], 11, &d);
        let mut got = Vec::new();
        for (y, x, alpha) in &outs {
            let g = (y.clone() * r.clone()).sum().backward();
            got.push((
                values(y.clone()),
                values(x.grad(&g).unwrap()),
                values(alpha.grad(&g).unwrap()),
            ));
        }
        let what = format!("PACT {bits} bits");
        assert_close(&format!("{what} forward"), &got[0].0, &got[1].0, 0.0);
        assert_close(&format!("{what} dx"), &got[0].1, &got[1].1, 0.0);
        assert_close(&format!("{what} dα"), &got[0].2, &got[1].2, 1e-5);
    }
}

#[test]
fn fused_batch_norm_matches_burn() {
    use burn::nn::BatchNormConfig;
    use qfront_train::kernels::batch_norm;
    let d = device();
    for shape in [[6, 3, 5, 4], [2, 4, 1, 7], [16, 2, 3, 3]] {
        let x_data = random(shape, 12, &d)
            .mul_scalar(3.0)
            .add_scalar(1.5)
            .into_data();
        let channels = shape[1];
        let mut runs = Vec::new();
        for fused in [true, false] {
            let mut bn = BatchNormConfig::new(channels).init(&d);
            // Non-trivial γ, β so that their gradients and the scale path are exercised.
            bn.gamma = Param::from_tensor(random([channels], 13, &d).add_scalar(1.0));
            bn.beta = Param::from_tensor(random([channels], 14, &d));
            let x = Tensor::<4>::from_data(x_data.clone(), &d).require_grad();
            // Two steps, so the running statistics are updated twice.
            let first = if fused {
                batch_norm(&bn, x.clone())
            } else {
                bn.forward(x.clone())
            };
            let y = if fused {
                batch_norm(&bn, x.clone().mul_scalar(0.5))
            } else {
                bn.forward(x.clone().mul_scalar(0.5))
            };
            runs.push((first, y, x, bn));
        }
        let r = random(runs[0].1.dims(), 15, &d);
        let mut got = Vec::new();
        for (first, y, x, bn) in &runs {
            let g = (y.clone() * r.clone() + first.clone() * r.clone().mul_scalar(0.3))
                .sum()
                .backward();
            got.push([
                values(y.clone()),
                values(x.grad(&g).unwrap()),
                values(bn.gamma.val().grad(&g).unwrap()),
                values(bn.beta.val().grad(&g).unwrap()),
                values(bn.running_mean.value_sync()),
                values(bn.running_var.value_sync()),
            ]);
        }
        for (i, part) in ["forward", "dx", "dγ", "dβ", "running mean", "running var"]
            .iter()
            .enumerate()
        {
            assert_close(
                &format!("batch norm {shape:?} {part}"),
                &got[0][i],
                &got[1][i],
                2e-5,
            );
        }
    }
}

#[test]
fn fused_token_max_matches_the_composed_form() {
    use qfront_train::kernels::fused_masked_max_tokens;
    let d = device();
    let (batch, tokens, dim) = (5, 7, 6);
    let h_data = random([batch, tokens, dim], 16, &d).into_data();
    // Example 0 has every token; the others are padded after 1..=4 real tokens.
    let mask: Vec<f32> = (0..batch)
        .flat_map(|b| (0..tokens).map(move |t| if b == 0 || t < b { 1.0 } else { 0.0 }))
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [batch, tokens]), &d);
    let mut got = Vec::new();
    for fused in [true, false] {
        let h = Tensor::<3>::from_data(h_data.clone(), &d).require_grad();
        let y = if fused {
            fused_masked_max_tokens(h.clone(), mask.clone())
        } else {
            let m = mask
                .clone()
                .reshape([batch, tokens, 1])
                .expand([batch, tokens, dim]);
            let neg = (m.clone() - 1.0).mul_scalar(1e4);
            (h.clone() * m + neg).max_dim(1).reshape([batch, dim])
        };
        let r = random([batch, dim], 17, &d);
        let g = (y.clone() * r).sum().backward();
        got.push((values(y), values(h.grad(&g).unwrap())));
    }
    assert_close("token max forward", &got[0].0, &got[1].0, 0.0);
    assert_close("token max dh", &got[0].1, &got[1].1, 0.0);
}
