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


def _texts(column: Sequence[Any], text_column: str) -> List[Optional[str]]:
    out: List[Optional[str]] = []
    for i, v in enumerate(column):
        if v is None or isinstance(v, str):
            out.append(v)
        elif isinstance(v, float) and v != v:  # pandas NaN for a missing text
            out.append(None)
        else:
            raise InputError(f"row {i}, column `{text_column}`: expected text, got {type(v).__name__}")
    return out


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

            data = pa.table({"text": pa.array(list(data), type=pa.string())})
            kind, text_column = "arrow-Table", text_column or "text"
        column = text_column or self._native.default_text_column
        if kind.startswith("arrow"):
            names = list(data.schema.names)
            values = data.column(column).to_pylist() if column in names else []
        elif kind == "pandas":
            names = [str(c) for c in data.columns]
            values = data[column].tolist() if column in names else []
        else:
            names = list(data.columns)
            values = data.get_column(column).to_list() if column in names else []
        texts = _texts(values, column)
        added, columns = self._native.label(
            texts, names, column, list(tasks), probs, top_k, abstain_below, thresholds, threads
        )
        return _attach(data, kind, added, columns)


def _attach(data: Any, kind: str, names: List[str], columns: List[list]) -> Any:
    """`data` with the labelled columns appended, in the input's own kind."""
    if kind.startswith("arrow"):
        import pyarrow as pa

        arrays = [pa.array(c) if any(v is not None for v in c) else pa.array(c, type=pa.string()) for c in columns]
        if kind == "arrow-RecordBatch":
            return pa.RecordBatch.from_arrays(list(data.columns) + arrays, names=list(data.schema.names) + names)
        for n, a in zip(names, arrays):
            data = data.append_column(n, a)
        return data
    if kind == "pandas":
        out = data.copy()
        for n, c in zip(names, columns):
            out[n] = c
        return out
    import polars as pl

    return data.with_columns([pl.Series(n, c, strict=False) for n, c in zip(names, columns)])


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
