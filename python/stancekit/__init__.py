"""stancekit for Python: load a checkpoint and label lists of texts, pyarrow tables, pandas or
polars data frames with the same columns and values as ``stancekit classify``; train and
evaluate from config files.

    import pandas as pd, stancekit
    model = stancekit.load("checkpoints/diplomatic-bow/model-best")
    df = pd.DataFrame({"id": [1, 2], "text": ["We condemn the attack.", "Talks resume."]})
    out = model.predict(df)
    print(out[["id", "stance", "stance_score", "status"]])
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

from . import _stancekit
from ._stancekit import CheckpointError, InputError, StancekitError, TrainingError

__all__ = [
    "Model",
    "load",
    "train",
    "evaluate",
    "StancekitError",
    "InputError",
    "CheckpointError",
    "TrainingError",
]
__version__ = _stancekit.__version__


def _kind(data: Any) -> str:
    """Which of the supported input kinds `data` is (without importing what it is not)."""
    module = type(data).__module__.split(".")[0]
    name = type(data).__name__
    if isinstance(data, (list, tuple)):
        return "list"
    if module == "pyarrow" and name in ("Table", "RecordBatch"):
        return "arrow-" + name
    if module == "pandas" and name == "DataFrame":
        return "pandas"
    if module == "polars" and name == "DataFrame":
        return "polars"
    raise InputError(
        f"predict: expected a list of strings, a pyarrow Table or RecordBatch, a pandas "
        f"DataFrame or a polars DataFrame, got {type(data).__module__}.{name}"
    )


def _text_array(data: Any, kind: str, column: str) -> Any:
    """The text column as one pyarrow array of `string`, `large_string` or `string_view`, taken
    as it is (polars and Arrow columns are not copied unless they come in several chunks; a
    missing column gives an empty array, so the library names it in its error)."""
    import pyarrow as pa

    if kind.startswith("arrow"):
        names = list(data.schema.names)
        arr = data.column(column) if column in names else pa.array([], type=pa.string())
    elif kind == "pandas":
        names = [str(c) for c in data.columns]
        try:
            arr = pa.array(data[column], from_pandas=True) if column in names else pa.array([], type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"column `{column}`: expected text ({e})") from None
    else:
        names = list(data.columns)
        arr = _polars_arrow(data.get_column(column)) if column in names else pa.array([], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) or str(arr.type) == "string_view"):
        if not pa.types.is_null(arr.type):
            raise InputError(f"column `{column}`: expected text, got {arr.type}")
    return names, arr


def _polars_arrow(series: Any) -> Any:
    """A polars column as Arrow. Polars keeps text as `string_view`: the newest compatibility
    level hands those buffers over as they are, where the default would rebuild them."""
    import polars as pl

    level = getattr(pl, "CompatLevel", None)
    if level is not None:
        try:
            return series.to_arrow(compat_level=level.newest())
        except TypeError:
            pass
    return series.to_arrow()


class Model:
    """A loaded, verified checkpoint. Safe to share between threads; prediction releases the GIL."""

    def __init__(self, native: Any):
        self._native = native

    @property
    def tasks(self) -> List[str]:
        return self._native.tasks

    @property
    def labels(self) -> Dict[str, List[str]]:
        return self._native.labels

    @property
    def manifest(self) -> Dict[str, Any]:
        return json.loads(self._native.manifest_json)

    @property
    def path(self) -> str:
        return self._native.path

    def __repr__(self) -> str:
        return f"stancekit.Model({self.path!r}, tasks={self.tasks})"

    def predict(
        self,
        data: Any,
        text_column: Optional[str] = None,
        probs: bool = False,
        top_k: int = 0,
        abstain_below: Optional[float] = None,
        tasks: Sequence[str] = (),
        thresholds: bool = True,
        threads: int = 0,
    ) -> Any:
        """Label `data` and return the same kind of table with every input column kept, then
        per task `<task>`, `<task>_score`, `<task>_margin` (and the `probs` / `top_k` columns),
        then `status`, as `stancekit classify` writes them. A list of strings gives a pyarrow
        Table with a `text` column. `text_column` defaults to the one the model was trained on
        (`text` for a list). `thresholds=False` ignores stored per-class thresholds."""
        kind = _kind(data)
        if kind == "list":
            import pyarrow as pa

            bad = next((i for i, v in enumerate(data) if v is not None and not isinstance(v, str)), None)
            if bad is not None:
                raise InputError(f"row {bad}: expected text, got {type(data[bad]).__name__}")
            data = pa.table({"text": pa.array(list(data), type=pa.string())})
            kind, text_column = "arrow-Table", text_column or "text"
        column = text_column or self._native.default_text_column
        names, arr = _text_array(data, kind, column)
        # The Arrow C data interface: the library reads the texts in place.
        schema, array = arr.__arrow_c_array__()
        columns = self._native.label_arrow(
            schema, array, names, column, list(tasks), probs, top_k, abstain_below, thresholds, threads,
        )
        return _attach(data, kind, columns)


def _attach(data: Any, kind: str, columns: List[Any]) -> Any:
    """`data` with the labelled columns appended, in the input's own kind. Each column comes
    from the library through the Arrow C data interface: pyarrow takes over its buffers."""
    import pyarrow as pa

    arrays, names = [], []
    for column in columns:
        arr = pa.array(column)
        arrays.append(arr.cast(pa.string()) if pa.types.is_large_string(arr.type) else arr)
        names.append(column.name)
    if kind == "arrow-RecordBatch":
        return pa.RecordBatch.from_arrays(list(data.columns) + arrays, names=list(data.schema.names) + names)
    if kind.startswith("arrow"):
        for name, arr in zip(names, arrays):
            data = data.append_column(name, arr)
        return data
    if kind == "pandas":
        out = data.copy()
        for name, arr in zip(names, arrays):
            out[name] = arr.to_numpy(zero_copy_only=False)
        return out
    import polars as pl

    return data.with_columns([pl.Series(name, arr) for name, arr in zip(names, arrays)])


def load(path: str) -> Model:
    """Load and verify a checkpoint folder, e.g. ``checkpoints/diplomatic-bow/model-best``."""
    return Model(_stancekit.load(str(path)))


def train(config: str, overrides: Optional[Dict[str, Any]] = None, quiet: bool = True) -> Dict[str, Any]:
    """Train from a config file; `overrides` maps keys to values as ``--set`` does
    (``{"train.epochs": 3}``). Writes the run folder and its reports; returns the summary."""
    sets = []
    for k, v in (overrides or {}).items():
        value = json.dumps(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
        sets.append(f"{k}={value}")
    return json.loads(_stancekit.train(str(config), sets, quiet))


def evaluate(
    model: Any,
    data: str,
    out: str,
    text_column: Optional[str] = None,
    label_columns: Optional[Dict[str, str]] = None,
    bootstrap: int = 1000,
    seed: int = 0,
    thresholds: bool = True,
) -> Dict[str, Any]:
    """Evaluate a checkpoint (a path or a loaded Model) on a labelled file; writes the report
    folder `out` and returns the report."""
    path = model.path if isinstance(model, Model) else str(model)
    cols = [f"{t}={c}" for t, c in (label_columns or {}).items()]
    return json.loads(
        _stancekit.evaluate(path, str(data), str(out), text_column, cols, bootstrap, seed, thresholds)
    )
