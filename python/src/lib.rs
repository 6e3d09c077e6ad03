//! The native half of the `stancekit` Python package: loading a checkpoint, labelling texts
//! through the library's own classify stage (so Python and the CLI cannot drift apart),
//! training and evaluation. The Python half (`stancekit/__init__.py`) turns tables of any kind
//! into text columns and back.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use stancekit::checkpoint::LoadedModel;
use stancekit::classify::{label_texts, ClassifyOptions, LabelOptions};
use stancekit::table::{Cell, ColKind};
use stancekit::Error;
use std::path::PathBuf;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(
    _stancekit,
    StancekitError,
    PyException,
    "Base class of stancekit's errors."
);
create_exception!(
    _stancekit,
    InputError,
    StancekitError,
    "Bad input: a file, row, column or key (CLI exit code 2)."
);
create_exception!(
    _stancekit,
    CheckpointError,
    StancekitError,
    "A checkpoint folder that cannot be loaded or verified."
);
create_exception!(
    _stancekit,
    TrainingError,
    StancekitError,
    "Training stopped (non-finite loss, interrupted)."
);

/// The library's error as the matching Python exception, with the CLI's message.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Checkpoint { .. } | Error::Encoder { .. } => CheckpointError::new_err(msg),
        Error::NonFiniteLoss { .. } | Error::Interrupted => TrainingError::new_err(msg),
        Error::Candle(_) | Error::RowCount { .. } => StancekitError::new_err(msg),
        _ => InputError::new_err(msg),
    }
}

/// A loaded checkpoint. Thread-safe: prediction releases the GIL.
#[pyclass(module = "stancekit._stancekit", frozen)]
struct Model {
    inner: Arc<LoadedModel>,
}

/// One added column in Arrow's layout: (kind, validity bitmap, data or offsets, string data).
/// `kind` is "float64" (little-endian f64 values) or "large_string" (i64 offsets + UTF-8).
type ArrowColumn = (&'static str, Vec<u8>, Vec<u8>, Vec<u8>);

/// An added column as Python receives it: (name, kind, validity, data or offsets, strings).
type PyColumn<'py> = (
    String,
    &'static str,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
);

fn arrow_column(rows: &[Vec<Cell>], c: usize, kind: &ColKind) -> ArrowColumn {
    let n = rows.len();
    let mut validity = vec![0u8; n.div_ceil(8)];
    let mut set = |i: usize| validity[i / 8] |= 1 << (i % 8);
    let text = |cell: &Cell| cell.text().map(|t| t.into_owned());
    match kind {
        ColKind::Float => {
            let mut data = Vec::with_capacity(n * 8);
            for (i, r) in rows.iter().enumerate() {
                // Shortest f32 text, read back as a CSV reader reads the CLI's output.
                let v = text(&r[c]).and_then(|t| t.parse::<f64>().ok());
                if v.is_some() {
                    set(i);
                }
                data.extend_from_slice(&v.unwrap_or(0.0).to_le_bytes());
            }
            ("float64", validity, data, Vec::new())
        }
        _ => {
            let mut offsets = Vec::with_capacity((n + 1) * 8);
            let mut chars: Vec<u8> = Vec::new();
            offsets.extend_from_slice(&0i64.to_le_bytes());
            for (i, r) in rows.iter().enumerate() {
                if let Some(t) = text(&r[c]) {
                    set(i);
                    chars.extend_from_slice(t.as_bytes());
                }
                offsets.extend_from_slice(&(chars.len() as i64).to_le_bytes());
            }
            ("large_string", validity, offsets, chars)
        }
    }
}

/// The texts of an Arrow `large_string` array given as its buffers (read in place, no copy).
fn arrow_texts<'a>(
    validity: Option<&'a [u8]>,
    offsets: &'a [u8],
    data: &'a [u8],
    offset: usize,
    length: usize,
) -> PyResult<Vec<Option<&'a str>>> {
    let at = |i: usize| -> PyResult<usize> {
        let b = offsets
            .get(i * 8..i * 8 + 8)
            .ok_or_else(|| InputError::new_err("text column: offsets buffer too short"))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        usize::try_from(i64::from_le_bytes(a))
            .map_err(|_| InputError::new_err("text column: negative offset"))
    };
    let mut out = Vec::with_capacity(length);
    for i in offset..offset + length {
        let valid = validity.is_none_or(|v| v.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0));
        if !valid {
            out.push(None);
            continue;
        }
        let (a, b) = (at(i)?, at(i + 1)?);
        let bytes = data
            .get(a..b)
            .ok_or_else(|| InputError::new_err("text column: data buffer too short"))?;
        let t = std::str::from_utf8(bytes).map_err(|e| {
            InputError::new_err(format!(
                "text column, row {}: invalid UTF-8 ({e})",
                i - offset
            ))
        })?;
        out.push(Some(t));
    }
    Ok(out)
}

#[pymethods]
impl Model {
    /// Task names, in the checkpoint's order.
    #[getter]
    fn tasks(&self) -> Vec<String> {
        self.inner.tasks.iter().map(|t| t.name.clone()).collect()
    }

    /// Task name -> its labels.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for t in &self.inner.tasks {
            d.set_item(&t.name, &t.labels)?;
        }
        Ok(d)
    }

    /// The checkpoint's manifest as JSON text.
    #[getter]
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.manifest)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The text column the model was trained on (`data.text_column`).
    #[getter]
    fn default_text_column(&self) -> String {
        self.inner.config.raw.data.text_column.clone()
    }

    #[getter]
    fn path(&self) -> String {
        self.inner.dir.display().to_string()
    }

    /// Label the texts of an Arrow `large_string` array passed as its buffers, each as
    /// (address, size in bytes) of a live pyarrow Buffer (validity may be None); the caller
    /// keeps the array alive for the call. Returns the columns `stancekit classify` adds after `input_columns`, each as
    /// (name, kind, validity, data-or-offsets, string data) in Arrow's layout.
    #[pyo3(signature = (validity, offsets, data, offset, length, input_columns, text_column, tasks=vec![], probs=false, top_k=0, abstain_below=None, thresholds=true, threads=0))]
    #[allow(clippy::too_many_arguments)]
    fn label_arrow<'py>(
        &self,
        py: Python<'py>,
        validity: Option<(usize, usize)>,
        offsets: (usize, usize),
        data: (usize, usize),
        offset: usize,
        length: usize,
        input_columns: Vec<String>,
        text_column: String,
        tasks: Vec<String>,
        probs: bool,
        top_k: usize,
        abstain_below: Option<f32>,
        thresholds: bool,
        threads: usize,
    ) -> PyResult<Vec<PyColumn<'py>>> {
        if let Some(p) = abstain_below {
            if !(0.0..=1.0).contains(&p) {
                return Err(InputError::new_err(format!(
                    "abstain_below {p}: expected a probability between 0 and 1"
                )));
            }
        }
        let opts = ClassifyOptions {
            text_column: Some(text_column.clone()),
            tasks,
            labels: LabelOptions {
                probs,
                top_k,
                abstain_below,
                ignore_thresholds: !thresholds,
            },
            segment: None,
        };
        let model = Arc::clone(&self.inner);
        let columns = py.allow_threads(move || -> PyResult<Vec<(String, ArrowColumn)>> {
            // SAFETY: each (address, size) is a pyarrow Buffer's, which the Python caller holds
            // (through the array it was taken from) until this call returns; Arrow buffers are
            // immutable, and nothing here writes through these slices.
            let view = |(addr, len): (usize, usize)| -> &[u8] {
                match len {
                    0 => &[],
                    _ => unsafe { std::slice::from_raw_parts(addr as *const u8, len) },
                }
            };
            let texts = arrow_texts(
                validity.map(view),
                view(offsets),
                view(data),
                offset,
                length,
            )?;
            let (names, rows) = stancekit::runtime::with_threads(threads, |_| {
                label_texts(&model, &texts, &input_columns, &text_column, &opts)
            })
            .and_then(|r| r)
            .map_err(py_err)?;
            Ok(names
                .iter()
                .enumerate()
                .map(|(c, (name, kind))| (name.clone(), arrow_column(&rows, c, kind)))
                .collect())
        })?;
        Ok(columns
            .into_iter()
            .map(|(name, (kind, v, d, s))| {
                (
                    name,
                    kind,
                    PyBytes::new(py, &v),
                    PyBytes::new(py, &d),
                    PyBytes::new(py, &s),
                )
            })
            .collect())
    }
}

/// Load and verify a checkpoint folder (e.g. `checkpoints/<run>/model-best`).
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let loaded = py
        .allow_threads(|| stancekit::checkpoint::load(&path, &candle_core::Device::Cpu))
        .map_err(py_err)?;
    Ok(Model {
        inner: Arc::new(loaded),
    })
}

/// Train from a config file with `--set` style overrides; returns the summary as JSON text.
#[pyfunction]
#[pyo3(signature = (config, overrides=vec![], quiet=true))]
fn train(py: Python<'_>, config: PathBuf, overrides: Vec<String>, quiet: bool) -> PyResult<String> {
    let summary = py
        .allow_threads(|| -> stancekit::Result<_> {
            let cfg = stancekit::config::load_config(&config, &overrides)?;
            let opts = stancekit::train::TrainOptions {
                quiet,
                ..Default::default()
            };
            let mut s = stancekit::train::train(cfg, &opts)?;
            stancekit::report::splits::write_run_reports(&mut s)?;
            Ok(s)
        })
        .map_err(py_err)?;
    serde_json::to_string(&summary).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Evaluate a checkpoint on a labelled file, writing the report folder `out`; returns the
/// report as JSON text.
#[pyfunction]
#[pyo3(signature = (model, data, out, text_column=None, label_columns=vec![], bootstrap=1000, seed=0, thresholds=true))]
#[allow(clippy::too_many_arguments)]
fn evaluate(
    py: Python<'_>,
    model: PathBuf,
    data: PathBuf,
    out: PathBuf,
    text_column: Option<String>,
    label_columns: Vec<String>,
    bootstrap: usize,
    seed: u64,
    thresholds: bool,
) -> PyResult<String> {
    use stancekit::report::evaluate::{evaluate_file, EvaluateRequest};
    let req = EvaluateRequest {
        model,
        data,
        out,
        text_column,
        label_columns,
        read: Default::default(),
        slice_by: None,
        resamples: bootstrap,
        seed,
        thresholds,
    };
    let (ev, _) = py.allow_threads(|| evaluate_file(&req)).map_err(py_err)?;
    serde_json::to_string(&ev.report).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _stancekit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    let py = m.py();
    m.add("StancekitError", py.get_type::<StancekitError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("CheckpointError", py.get_type::<CheckpointError>())?;
    m.add("TrainingError", py.get_type::<TrainingError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
