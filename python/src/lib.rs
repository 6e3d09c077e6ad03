//! The native half of the `stancekit` Python package: loading a checkpoint, labelling texts
//! through the library's own classify stage (so Python and the CLI cannot drift apart),
//! training and evaluation. The Python half (`stancekit/__init__.py`) turns tables of any kind
//! into text columns and back.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use stancekit::checkpoint::LoadedModel;
use stancekit::classify::{label_texts, ClassifyOptions, LabelOptions};
use stancekit::table::Cell;
use stancekit::Error;
use std::path::PathBuf;
use std::sync::Arc;

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

fn cell_to_py(py: Python<'_>, c: &Cell) -> PyResult<PyObject> {
    Ok(match c {
        Cell::Null => py.None(),
        Cell::Text(s) => s.into_pyobject(py)?.into_any().unbind(),
        // Numbers the classify stage writes as text (probabilities in shortest form): read
        // back exactly as a CSV reader would.
        Cell::Raw(s) => match s.parse::<f64>() {
            Ok(v) => v.into_pyobject(py)?.into_any().unbind(),
            Err(_) => s.into_pyobject(py)?.into_any().unbind(),
        },
        Cell::Typed(v) => v.to_string().into_pyobject(py)?.into_any().unbind(),
    })
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

    /// Label `texts` (None or blank: `status=empty_text`). Returns (column names, columns), the
    /// columns `stancekit classify` adds after `input_columns`, each a list of values.
    #[pyo3(signature = (texts, input_columns, text_column, tasks=vec![], probs=false, top_k=0, abstain_below=None, thresholds=true, threads=0))]
    #[allow(clippy::too_many_arguments)]
    fn label<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Option<String>>,
        input_columns: Vec<String>,
        text_column: String,
        tasks: Vec<String>,
        probs: bool,
        top_k: usize,
        abstain_below: Option<f32>,
        thresholds: bool,
        threads: usize,
    ) -> PyResult<(Vec<String>, Bound<'py, PyList>)> {
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
        let (names, rows) = py
            .allow_threads(move || {
                let refs: Vec<Option<&str>> = texts.iter().map(|t| t.as_deref()).collect();
                stancekit::runtime::with_threads(threads, |_| {
                    label_texts(&model, &refs, &input_columns, &text_column, &opts)
                })?
            })
            .map_err(py_err)?;
        let columns = PyList::empty(py);
        for c in 0..names.len() {
            let col = PyList::empty(py);
            for r in &rows {
                col.append(cell_to_py(py, &r[c])?)?;
            }
            columns.append(col)?;
        }
        Ok((names, columns))
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
