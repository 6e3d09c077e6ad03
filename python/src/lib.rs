//! The native half of the `stancekit` Python package: loading a checkpoint, labelling texts
//! through the library's own classify stage (so Python and the CLI cannot drift apart),
//! training and evaluation. The Python half (`stancekit/__init__.py`) turns tables of any kind
//! into text columns and back.

use polars_arrow::array::{Array, PrimitiveArray, Utf8Array, Utf8ViewArray};
use polars_arrow::datatypes::{ArrowDataType, Field};
use polars_arrow::ffi::{
    export_array_to_c, export_field_to_c, import_array_from_c, import_field_from_c, ArrowArray,
    ArrowSchema,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use stancekit::checkpoint::LoadedModel;
use stancekit::classify::{label_texts, ClassifyOptions, LabelOptions};
use stancekit::table::{Cell, ColKind};
use stancekit::Error;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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

/// One added column, exported through the Arrow C data interface: Python reads it with
/// `pyarrow.array(column)` (the `__arrow_c_array__` protocol), taking ownership of the
/// buffers built here without copying them.
#[pyclass(module = "stancekit._stancekit", frozen)]
struct ArrowColumn {
    name: String,
    /// Taken by the first export (the consumer owns the buffers afterwards).
    exported: Mutex<Option<(ArrowSchema, ArrowArray)>>,
}

#[pymethods]
impl ArrowColumn {
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// The (schema, array) PyCapsule pair of the Arrow PyCapsule interface; it can be taken
    /// once, since the consumer owns the buffers afterwards.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let _ = requested_schema;
        let taken = match self.exported.lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None,
        };
        let Some((schema, array)) = taken else {
            return Err(StancekitError::new_err(format!(
                "column `{}` was already exported",
                self.name
            )));
        };
        let schema = PyCapsule::new(py, schema, Some(c"arrow_schema".to_owned()))?;
        let array = PyCapsule::new(py, array, Some(c"arrow_array".to_owned()))?;
        Ok((schema, array))
    }
}

/// An added column as an Arrow array: `float64` for scores and probabilities (the value a CSV
/// reader reads back from the CLI's output), `large_string` for everything else.
fn arrow_column(name: &str, rows: &[Vec<Cell>], c: usize, kind: &ColKind) -> ArrowColumn {
    let text = |r: &Vec<Cell>| r[c].text().map(|t| t.into_owned());
    let array: Box<dyn Array> = match kind {
        ColKind::Float => Box::new(PrimitiveArray::<f64>::from_iter(
            rows.iter()
                .map(|r| text(r).and_then(|t| t.parse::<f64>().ok())),
        )),
        _ => Box::new(Utf8Array::<i64>::from_iter(rows.iter().map(text))),
    };
    let field = Field::new(name.into(), array.dtype().clone(), true);
    ArrowColumn {
        name: name.to_string(),
        exported: Mutex::new(Some((export_field_to_c(&field), export_array_to_c(array)))),
    }
}

/// Import the text column from an Arrow PyCapsule pair (`__arrow_c_array__`). The array is
/// moved out of its capsule, as the interface prescribes, and keeps the producer's buffers
/// alive until it is dropped: nothing is copied.
fn import_capsules(
    schema: &Bound<'_, PyCapsule>,
    array: &Bound<'_, PyCapsule>,
) -> PyResult<Box<dyn Array>> {
    let named = |c: &Bound<'_, PyCapsule>, want: &str| -> PyResult<()> {
        match c.name()? {
            Some(n) if n.to_bytes() == want.as_bytes() => Ok(()),
            _ => Err(InputError::new_err(format!(
                "text column: expected an `{want}` PyCapsule"
            ))),
        }
    };
    named(schema, "arrow_schema")?;
    named(array, "arrow_array")?;
    // SAFETY: both capsules are named as the Arrow PyCapsule interface names them, so they
    // point at an ArrowSchema and an ArrowArray (checked above). The array struct is moved
    // out and a released one left behind, so the capsule's own destructor does nothing.
    unsafe {
        let field = import_field_from_c(&*(schema.pointer() as *const ArrowSchema))
            .map_err(|e| InputError::new_err(format!("text column: {e}")))?;
        let owned = std::ptr::replace(array.pointer() as *mut ArrowArray, ArrowArray::empty());
        import_array_from_c(owned, field.dtype().clone())
            .map_err(|e| InputError::new_err(format!("text column: {e}")))
    }
}

/// The texts of an imported Arrow array, borrowed from its buffers: `string`,
/// `large_string` and `string_view` are read in place, and a `null` column is all missing.
fn arrow_texts(array: &dyn Array) -> PyResult<Vec<Option<&str>>> {
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Utf8Array<i64>>() {
        return Ok(a.iter().collect());
    }
    if let Some(a) = any.downcast_ref::<Utf8Array<i32>>() {
        return Ok(a.iter().collect());
    }
    if let Some(a) = any.downcast_ref::<Utf8ViewArray>() {
        return Ok(a.iter().collect());
    }
    if matches!(array.dtype(), ArrowDataType::Null) {
        return Ok(vec![None; array.len()]);
    }
    Err(InputError::new_err(format!(
        "text column: expected text, got Arrow type {:?}",
        array.dtype()
    )))
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

    /// Label the texts of an Arrow string array handed over through the Arrow PyCapsule
    /// interface (`array.__arrow_c_array__()`): the texts are read in place. Returns the
    /// columns `stancekit classify` adds after `input_columns`, each an `ArrowColumn` that
    /// `pyarrow.array()` takes over without a copy.
    #[pyo3(signature = (schema, array, input_columns, text_column, tasks=vec![], probs=false, top_k=0, abstain_below=None, thresholds=true, threads=0))]
    #[allow(clippy::too_many_arguments)]
    fn label_arrow(
        &self,
        py: Python<'_>,
        schema: &Bound<'_, PyCapsule>,
        array: &Bound<'_, PyCapsule>,
        input_columns: Vec<String>,
        text_column: String,
        tasks: Vec<String>,
        probs: bool,
        top_k: usize,
        abstain_below: Option<f32>,
        thresholds: bool,
        threads: usize,
    ) -> PyResult<Vec<ArrowColumn>> {
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
        let imported = import_capsules(schema, array)?;
        let model = Arc::clone(&self.inner);
        let texts = &imported;
        let columns = py.allow_threads(move || -> PyResult<Vec<ArrowColumn>> {
            let texts = arrow_texts(texts.as_ref())?;
            let (names, rows) = stancekit::runtime::with_threads(threads, |_| {
                label_texts(&model, &texts, &input_columns, &text_column, &opts)
            })
            .and_then(|r| r)
            .map_err(py_err)?;
            Ok(names
                .iter()
                .enumerate()
                .map(|(c, (name, kind))| arrow_column(name, &rows, c, kind))
                .collect())
        })?;
        // Dropped with the GIL held: releasing the producer's buffers may run Python code.
        drop(imported);
        Ok(columns)
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
        quantize: None,
    };
    let (ev, _) = py.allow_threads(|| evaluate_file(&req)).map_err(py_err)?;
    serde_json::to_string(&ev.report).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _stancekit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<ArrowColumn>()?;
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
