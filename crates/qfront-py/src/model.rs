//! `qfront.Model`: a `.qfm` model run by qfront's integer runtime on NumPy arrays.

use numpy::{PyArray2, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use qfront_rt::bench::{measure_latency, LatencyOptions};
use qfront_rt::format::InputSpec;
use qfront_rt::{KernelSet, QfmFile, Session};
use std::sync::Mutex;
use std::time::Duration;

/// A `.qfm` model with its runtime session (the fastest kernels this CPU has).
#[pyclass(module = "qfront", name = "Model")]
pub struct Model {
    file: QfmFile,
    session: Mutex<Session>,
    path: String,
}

impl Model {
    /// Runs `work` on the session with the GIL released; returns its result and the class
    /// count.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        work: impl FnOnce(&mut Session) -> qfront_rt::Result<T> + Send,
    ) -> PyResult<(T, usize)> {
        py.detach(|| {
            let mut session = self.session.lock().map_err(|_| {
                crate::error("the model's session was poisoned by an earlier panic")
            })?;
            let classes = session.classes();
            work(&mut session)
                .map(|out| (out, classes))
                .map_err(crate::error)
        })
    }
}

#[pymethods]
impl Model {
    /// Reads and validates a `.qfm` file (a truncated or corrupt file is a `QfrontError`
    /// naming the problem).
    #[staticmethod]
    pub fn load(path: std::path::PathBuf) -> PyResult<Self> {
        let file = QfmFile::read(&path).map_err(crate::error)?;
        let session = Session::new(&file, KernelSet::detect());
        Ok(Self {
            file,
            session: Mutex::new(session),
            path: path.display().to_string(),
        })
    }

    /// Class names (index = class; empty when the file has none).
    #[getter]
    pub fn labels(&self) -> Vec<String> {
        self.file.model.labels.clone()
    }

    /// What the model reads: `("image", channels, height, width)` or
    /// `("tokens", max_tokens, vocabulary_rows)`.
    #[getter]
    pub fn input_shape(&self) -> (String, usize, usize, usize) {
        match &self.file.model.input {
            InputSpec::Image {
                height,
                width,
                channels,
                ..
            } => ("image".into(), *channels, *height, *width),
            InputSpec::Tokens {
                max_tokens,
                vocabulary,
                ..
            } => ("tokens".into(), *max_tokens, *vocabulary, 0),
        }
    }

    /// The word of each embedding row of a vocabulary text model (empty otherwise).
    #[getter]
    pub fn vocabulary(&self) -> Vec<String> {
        match &self.file.model.input {
            InputSpec::Tokens { words, .. } => words.clone(),
            InputSpec::Image { .. } => Vec::new(),
        }
    }

    /// Logits `[batch, classes]` (float32) of a batch: images as float32
    /// `[batch, channels, height, width]` with pixels in `[0, 1]` (read in place when
    /// C-contiguous), or token ids as integers `[batch, max_tokens]` (0 = padding).
    pub fn predict<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (logits, classes): (Vec<f32>, usize) = match &self.file.model.input {
            InputSpec::Image {
                height,
                width,
                channels,
                ..
            } => {
                let array: PyReadonlyArrayDyn<'py, f32> = inputs.extract().map_err(|_| {
                    crate::error("images must be a float32 NumPy array [batch, channels, height, width] (pixels in [0, 1])")
                })?;
                let shape = array.shape().to_vec();
                if shape.len() != 4 || shape[1..] != [*channels, *height, *width] {
                    return Err(crate::error(format!(
                        "{}: images of shape {shape:?}; the model reads [batch, {channels}, {height}, {width}]",
                        self.path
                    )));
                }
                let batch = shape[0];
                let owned;
                let pixels: &[f32] = match array.as_slice() {
                    Ok(slice) => slice,
                    Err(_) => {
                        owned = array.as_array().iter().copied().collect::<Vec<f32>>();
                        &owned
                    }
                };
                self.run(py, |session| {
                    session.run_images(pixels, batch).map(|l| l.to_vec())
                })?
            }
            InputSpec::Tokens {
                max_tokens,
                vocabulary,
                ..
            } => {
                let array: PyReadonlyArrayDyn<'py, i64> = inputs
                    .call_method1("astype", ("int64",))?
                    .extract()
                    .map_err(|_| {
                        crate::error("token ids must be an integer NumPy array [batch, max_tokens]")
                    })?;
                let shape = array.shape().to_vec();
                if shape.len() != 2 || shape[1] != *max_tokens {
                    return Err(crate::error(format!(
                        "{}: token ids of shape {shape:?}; the model reads [batch, {max_tokens}]",
                        self.path
                    )));
                }
                let ids: Vec<u32> = array
                    .as_array()
                    .iter()
                    .map(|&id| {
                        u32::try_from(id)
                            .ok()
                            .filter(|&id| (id as usize) < *vocabulary)
                            .ok_or_else(|| {
                                crate::error(format!(
                                    "token id {id} is outside 0..{vocabulary} (0 = padding)"
                                ))
                            })
                    })
                    .collect::<PyResult<_>>()?;
                self.run(py, |session| {
                    session.run_tokens(&ids, shape[0]).map(|l| l.to_vec())
                })?
            }
        };
        let rows = logits.len() / classes.max(1);
        numpy::PyArray1::from_vec(py, logits).reshape([rows, classes])
    }

    /// Latency of one batch on synthetic inputs, as `qfront bench latency` measures it: a dict
    /// of `median_ms`, `p90_ms`, `p99_ms`, `mean_ms` and `loops`. `threads` > 1 splits the
    /// large GEMMs as `--threads` does.
    #[pyo3(signature = (batch=1, max_time=1.0, warmup_time=0.2, threads=1))]
    pub fn latency(
        &self,
        py: Python<'_>,
        batch: usize,
        max_time: f64,
        warmup_time: f64,
        threads: usize,
    ) -> PyResult<std::collections::BTreeMap<String, f64>> {
        let seconds = |name: &str, v: f64| {
            if (0.0..=3600.0).contains(&v) {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(crate::error(format!(
                    "{name} = {v}: give seconds in 0..=3600"
                )))
            }
        };
        let options = LatencyOptions {
            batch,
            max_time: seconds("max_time", max_time)?,
            warmup_time: seconds("warmup_time", warmup_time)?,
            ..LatencyOptions::default()
        };
        let report = if threads == 1 {
            self.run(py, |session| measure_latency(session, &options))?
                .0
        } else {
            let mut session = Session::with_threads(&self.file, KernelSet::detect(), threads)
                .map_err(crate::error)?;
            py.detach(|| measure_latency(&mut session, &options))
                .map_err(crate::error)?
        };
        Ok([
            ("median_ms", report.median_ms),
            ("p90_ms", report.p90_ms),
            ("p99_ms", report.p99_ms),
            ("mean_ms", report.mean_ms),
            ("loops", report.loops as f64),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "Model('{}', {} nodes, {} classes)",
            self.path,
            self.file.model.nodes.len(),
            self.file.model.labels.len()
        )
    }
}
