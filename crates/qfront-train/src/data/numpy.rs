//! Image classification from NumPy arrays: a `.npz` archive (stored or deflated, as
//! `numpy.savez` / `savez_compressed` write it) or a directory holding `x.npy` and `y.npy`.
//! `x` is `N×H×W` or `N×H×W×C` (C = 1 or 3, channels last), `uint8` or `float32`/`float64`;
//! `y` holds `N` non-negative integers. Arrays are parsed with `npyz`, archives opened with
//! `zip`.

use super::dataset::io_error;
use crate::{Result, TrainError};
use npyz::{NpyFile, TypeChar};
use std::io::Read;
use std::path::Path;

/// Pixel values as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// Bytes 0..=255.
    U8(Vec<u8>),
    /// Floats in any range (normalised with the training split's minimum and maximum).
    F32(Vec<f32>),
}

/// The `x`/`y` pair of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageArrays {
    /// Row-major pixels in the file's `N×H×W×C` order.
    pub pixels: Pixels,
    /// `[height, width, channels]`.
    pub image: [usize; 3],
    /// One label per image.
    pub labels: Vec<u64>,
}

/// Reads `x` and `y` from `path` (`.npz`, or a directory of `x.npy` and `y.npy`).
pub fn read_arrays(path: &Path) -> Result<ImageArrays> {
    let (x, y) = if path.is_dir() {
        let read = |name: &str| -> Result<Vec<u8>> {
            let file = path.join(name);
            std::fs::read(&file).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    TrainError::bad_entry(
                        path,
                        name,
                        "is missing; a NumPy data folder holds x.npy (images) and y.npy (labels)",
                    )
                } else {
                    TrainError::Io {
                        path: file.clone(),
                        source: e,
                    }
                }
            })
        };
        (read("x.npy")?, read("y.npy")?)
    } else {
        let file = std::fs::File::open(path).map_err(|e| io_error(path, "data file", e))?;
        let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
            TrainError::bad_entry(
                path,
                "the archive",
                format!("is not a readable .npz (zip) file: {e}"),
            )
        })?;
        let mut member = |name: &str| -> Result<Vec<u8>> {
            let mut entry = archive.by_name(&format!("{name}.npy")).map_err(|_| {
                TrainError::bad_entry(path, format!("array '{name}'"), "is missing; the archive must hold 'x' (images) and 'y' (labels), e.g. numpy.savez(path, x=images, y=labels)")
            })?;
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(|e| {
                TrainError::bad_entry(
                    path,
                    format!("array '{name}'"),
                    format!("cannot be read: {e}"),
                )
            })?;
            Ok(bytes)
        };
        (member("x")?, member("y")?)
    };
    let x = NpyFile::new(&x[..]).map_err(|e| {
        TrainError::bad_entry(path, "array 'x'", format!("is not a .npy array: {e}"))
    })?;
    let y = NpyFile::new(&y[..]).map_err(|e| {
        TrainError::bad_entry(path, "array 'y'", format!("is not a .npy array: {e}"))
    })?;
    let shape: Vec<usize> = x.shape().iter().map(|&d| d as usize).collect();
    let image = match shape[..] {
        [_, h, w] => [h, w, 1],
        [_, h, w, c] if c == 1 || c == 3 => [h, w, c],
        _ => {
            return Err(TrainError::bad_entry(
                path,
                "array 'x'",
                format!(
                "has shape {shape:?}; expected N×H×W or N×H×W×C with C = 1 or 3 (channels last)"
            ),
            ))
        }
    };
    if image.contains(&0) {
        return Err(TrainError::bad_entry(
            path,
            "array 'x'",
            format!("has shape {shape:?}, with an empty image dimension"),
        ));
    }
    let n = shape[0];
    if matches!(x.order(), npyz::Order::Fortran) || matches!(y.order(), npyz::Order::Fortran) {
        return Err(TrainError::bad_entry(
            path,
            "the arrays",
            "are in Fortran order; save C-ordered arrays (numpy.ascontiguousarray)",
        ));
    }
    let y_shape = y.shape().to_vec();
    if y_shape.len() != 1 || y_shape[0] as usize != n {
        return Err(TrainError::bad_entry(
            path,
            "array 'y'",
            format!("has shape {y_shape:?} but 'x' holds {n} images; 'y' must hold one integer label per image"),
        ));
    }
    let x_error = |e: std::io::Error| {
        TrainError::bad_entry(path, "array 'x'", format!("cannot be read: {e}"))
    };
    let pixels = match dtype_of(&x) {
        Some((TypeChar::Uint, 1)) => Pixels::U8(x.into_vec::<u8>().map_err(x_error)?),
        Some((TypeChar::Float, 4)) => Pixels::F32(x.into_vec::<f32>().map_err(x_error)?),
        Some((TypeChar::Float, 8)) => Pixels::F32(
            x.into_vec::<f64>()
                .map_err(x_error)?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        ),
        _ => {
            return Err(TrainError::bad_entry(
                path,
                "array 'x'",
                format!("has dtype {}; use uint8 or float32", x.dtype().descr()),
            ))
        }
    };
    if let Pixels::F32(values) = &pixels {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(TrainError::bad_entry(
                path,
                format!("image {}", i / (image[0] * image[1] * image[2])),
                "holds a NaN or infinite pixel; clean the array",
            ));
        }
    }
    let labels = read_labels(path, y)?;
    Ok(ImageArrays {
        pixels,
        image,
        labels,
    })
}

fn dtype_of<R: Read>(array: &NpyFile<R>) -> Option<(TypeChar, u64)> {
    match array.dtype() {
        npyz::DType::Plain(t) => Some((t.type_char(), t.size_field())),
        _ => None,
    }
}

fn read_labels<R: Read>(path: &Path, y: NpyFile<R>) -> Result<Vec<u64>> {
    let error = |e: std::io::Error| {
        TrainError::bad_entry(path, "array 'y'", format!("cannot be read: {e}"))
    };
    let signed: Vec<i64> = match dtype_of(&y) {
        Some((TypeChar::Int, 1)) => y
            .into_vec::<i8>()
            .map_err(error)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Int, 2)) => y
            .into_vec::<i16>()
            .map_err(error)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Int, 4)) => y
            .into_vec::<i32>()
            .map_err(error)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Int, 8)) => y.into_vec::<i64>().map_err(error)?,
        Some((TypeChar::Uint, 1)) => y
            .into_vec::<u8>()
            .map_err(error)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Uint, 2)) => y
            .into_vec::<u16>()
            .map_err(error)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Uint, 4)) => y
            .into_vec::<u32>()
            .map_err(error)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Uint, 8)) => y
            .into_vec::<u64>()
            .map_err(error)?
            .into_iter()
            .map(|v| v.min(i64::MAX as u64) as i64)
            .collect(),
        _ => {
            return Err(TrainError::bad_entry(
                path,
                "array 'y'",
                format!("has dtype {}; labels must be integers", y.dtype().descr()),
            ))
        }
    };
    signed
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u64::try_from(v).map_err(|_| {
                TrainError::bad_entry(
                    path,
                    format!("label {i}"),
                    format!("is {v}; labels must be non-negative integers"),
                )
            })
        })
        .collect()
}
