//! Turning split rows into model input tensors.

use crate::data::{Features, Split};
use crate::models::ModelInput;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// The model input and labels of the examples `rows` of `split`.
pub fn batch_input(split: &Split, rows: &[usize], device: &Device) -> (ModelInput, Tensor<1, Int>) {
    let n = rows.len();
    let labels = Tensor::from_data(
        TensorData::new(
            rows.iter()
                .map(|&r| split.labels[r] as i64)
                .collect::<Vec<_>>(),
            [n],
        ),
        device,
    );
    let input = match &split.features {
        Features::Images { pixels, shape } => {
            let per: usize = shape.iter().product();
            let data: Vec<f32> = rows
                .iter()
                .flat_map(|&r| pixels[r * per..(r + 1) * per].iter().copied())
                .collect();
            ModelInput::Image(Tensor::from_data(
                TensorData::new(data, [n, shape[0], shape[1], shape[2]]),
                device,
            ))
        }
        Features::Tokens { ids, max_tokens } => {
            let t = *max_tokens;
            let data: Vec<i64> = rows
                .iter()
                .flat_map(|&r| ids[r * t..(r + 1) * t].iter().copied())
                .collect();
            let mask: Vec<f32> = data
                .iter()
                .map(|&i| if i > 0 { 1.0 } else { 0.0 })
                .collect();
            ModelInput::Tokens(
                Tensor::from_data(TensorData::new(data, [n, t]), device),
                Tensor::from_data(TensorData::new(mask, [n, t]), device),
            )
        }
    };
    (input, labels)
}
