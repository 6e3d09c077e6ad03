"""Labelling at cluster scale on Ray Data: one model load per actor, Arrow batches in and out.

    import ray, stancekit.ray
    ray.init()
    stancekit.ray.classify_parquet("in/", "out/", "checkpoints/diplomatic-bow/model-best",
                                   concurrency=4)

Every input row comes out once, with every input column (the id included) and the columns
`stancekit classify` adds.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

import stancekit


class Predictor:
    """A callable class for ``ray.data.Dataset.map_batches(..., batch_format="pyarrow")``: the
    checkpoint is loaded once per actor and each batch is labelled in place."""

    def __init__(self, model: str, text_column: Optional[str] = None, threads: int = 1, **predict: Any):
        # The actor's process is ours: size candle's process-wide element-wise pool to the
        # actor's threads before anything runs (else it takes every core and spins there).
        if threads > 0:
            os.environ.setdefault("CANDLE_NUM_THREADS", str(threads))
        self.model = stancekit.load(model)
        self.text_column = text_column
        self.threads = threads
        self.predict = predict

    def __call__(self, batch: Any) -> Any:
        return self.model.predict(batch, text_column=self.text_column, threads=self.threads, **self.predict)


def classify_dataset(
    ds: Any,
    model: str,
    concurrency: int = 1,
    text_column: Optional[str] = None,
    threads_per_worker: int = 1,
    batch_size: int = 4096,
    num_cpus: Optional[float] = None,
    **predict: Any,
) -> Any:
    """Label a ``ray.data.Dataset`` with `concurrency` actors of `threads_per_worker` threads.
    `num_cpus` is what each actor reserves from Ray (default: `threads_per_worker`, less when
    needed to leave one CPU of the cluster to Ray's read and write tasks)."""
    if num_cpus is None:
        import ray

        # Actors holding every CPU starve Ray's own read and write tasks (the job hangs):
        # keep one CPU of the cluster free for them.
        total = float(ray.cluster_resources().get("CPU", 1.0))
        num_cpus = min(float(threads_per_worker), max(0.1, (total - 1.0) / concurrency))
    return ds.map_batches(
        Predictor,
        fn_constructor_args=(model,),
        fn_constructor_kwargs=dict(text_column=text_column, threads=threads_per_worker, **predict),
        batch_format="pyarrow",
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
    )


def classify_parquet(
    input_dir: str,
    output_dir: str,
    model: str,
    concurrency: int = 1,
    text_column: Optional[str] = None,
    threads_per_worker: int = 1,
    batch_size: int = 4096,
    num_cpus: Optional[float] = None,
    **predict: Any,
) -> Dict[str, int]:
    """Read a folder of Parquet files, label them across the cluster and write Parquet files to
    `output_dir`. Returns the row counts in and out (they must be equal)."""
    import ray.data

    ds = ray.data.read_parquet(input_dir)
    rows_in = ds.count()
    files = [f for f in os.listdir(input_dir) if f.endswith(".parquet")] if os.path.isdir(input_dir) else [input_dir]
    if len(files) < 4 * concurrency:
        # Ray reads a few small files as one block, and hands an actor a whole block at a
        # time: split the input into blocks of about one batch, at least four per actor, so
        # that no actor idles while another works through a large block (this materialises
        # the input, which is small when it has this few files).
        blocks = max(4 * concurrency, -(-rows_in // max(1, batch_size)))
        ds = ds.repartition(blocks)
    out = classify_dataset(ds, model, concurrency, text_column, threads_per_worker, batch_size, num_cpus, **predict)
    out.write_parquet(output_dir)
    rows_out = ray.data.read_parquet(output_dir).count()
    if rows_in != rows_out:
        raise stancekit.StancekitError(f"row count changed: {rows_in} rows in, {rows_out} rows out")
    return {"rows_in": rows_in, "rows_out": rows_out}
