//! Evaluation in inference mode (BatchNorm running statistics, SAWB EMA scales).

use super::batches::batch_input;
use crate::data::Split;
use crate::models::Model;
use burn::module::Module;

/// Predicted class of every example of `split`. The model is switched to inference mode.
pub fn predict(model: &Model, split: &Split, batch_size: usize) -> Vec<usize> {
    let model = model.valid();
    let device = model.devices().into_iter().next().unwrap_or_default();
    let device = device.inner();
    let rows: Vec<usize> = (0..split.len()).collect();
    let mut out = Vec::with_capacity(split.len());
    for chunk in rows.chunks(batch_size.max(1)) {
        let (input, _) = batch_input(split, chunk, &device);
        let pred = model.forward(input).argmax(1);
        out.extend(pred.into_data().iter::<i64>().map(|p| p as usize));
    }
    out
}

/// Fraction of `split` classified correctly.
pub fn accuracy(model: &Model, split: &Split, batch_size: usize) -> f64 {
    if split.is_empty() {
        return 0.0;
    }
    let pred = predict(model, split, batch_size);
    pred.iter()
        .zip(&split.labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / split.len() as f64
}
