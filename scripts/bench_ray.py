#!/usr/bin/env python3
"""Benchmark (not a test): labelling Parquet partitions with Ray Data, 1 and 2 workers, next to
the CLI in one process, for the fast `bow` model and the pretrained-encoder default.

    python3 scripts/bench_ray.py [--bow-rows 400000] [--encoder-rows 12000] [--partitions 4]
        [--models bow,encoder] [--json out.json]

Needs the Python package installed (as .ci/run does: build the wheel in python/ with maturin)
with pyarrow and ray[data], and the checkpoints it times:
  bow      checkpoints/diplomatic-bow/model-best  (stancekit train --config configs/diplomatic-bow.toml)
  encoder  checkpoints/diplomatic/model-best      (the README's first command)
Texts are the embedded corpus's statements, repeated to the row count, split into
`--partitions` Parquet files with an `id` column. Every configuration labels the same files;
each Ray worker runs one thread, the CLI runs with --threads 1 and 2. Ray's figures include
starting its actors and loading the model in each (not `ray.init`); the CLI's include process
start and model loading. After each Ray run the output is checked: every id once.

Two rates are given for Ray. "rows/s" is end to end: the whole `classify_parquet` call, with
Ray Data planning the job, starting the actors (a Python process each), loading the model in
each, reading and writing. "labelling rows/s" counts only the span from the first batch any
actor starts labelling to the last batch any actor finishes (each actor logs its batches):
what adding a worker buys once the workers are up, which is what a long job on a cluster
sees. On 2 cores the fixed start-up (several seconds, with two actors starting at once on
the same cores) weighs on the end-to-end rate of short runs.
"""
import argparse, csv, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("STANCEKIT_BIN", str(ROOT / "target" / "release" / "stancekit"))
MODELS = {
    "bow": ROOT / "checkpoints" / "diplomatic-bow" / "model-best",
    "encoder": ROOT / "checkpoints" / "diplomatic" / "model-best",
}


def texts():
    with open(ROOT / "datasets" / "diplomatic" / "statements.csv", newline="") as f:
        return [r["text"] for r in csv.DictReader(f)]


def write_partitions(folder, rows, parts):
    import pyarrow as pa, pyarrow.parquet as pq

    base = texts()
    folder.mkdir(parents=True)
    per = (rows + parts - 1) // parts
    for p in range(parts):
        ids = list(range(p * per, min(rows, (p + 1) * per)))
        pq.write_table(pa.table({"id": ids, "text": [base[i % len(base)] for i in ids]}), folder / f"part-{p:03}.parquet")
    whole = pa.concat_tables([pq.read_table(f) for f in sorted(folder.iterdir())])
    pq.write_table(whole, folder.parent / "all.parquet")


def cli(model, inp, out, threads):
    t = time.perf_counter()
    subprocess.run([BIN, "classify", "-m", str(model), "-i", str(inp), "-o", str(out), "--threads", str(threads), "--quiet"], check=True, capture_output=True)
    return time.perf_counter() - t


def timed_predictor(log):
    """stancekit.ray.Predictor, logging each batch's start, end and rows to `log`."""
    import stancekit.ray as skray

    class TimedPredictor(skray.Predictor):
        def __call__(self, batch):
            t = time.time()
            out = super().__call__(batch)
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {t} {time.time()} {batch.num_rows}\n")
            return out

    return TimedPredictor


def ray_run(model, inp, out, workers, batch):
    import pyarrow.parquet as pq
    import stancekit.ray as skray

    log = out.parent / f"{out.name}.batches"
    plain = skray.Predictor
    skray.Predictor = timed_predictor(log)
    try:
        t = time.perf_counter()
        skray.classify_parquet(str(inp), str(out), str(model), concurrency=workers, threads_per_worker=1, batch_size=batch)
        seconds = time.perf_counter() - t
    finally:
        skray.Predictor = plain
    ids = pq.read_table(out, columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == list(range(len(ids))), "a row was lost or duplicated"
    spans = [line.split() for line in log.read_text().splitlines()]
    assert sum(int(r[3]) for r in spans) == len(ids), "the batch log does not add up"
    labelling = max(float(r[2]) for r in spans) - min(float(r[1]) for r in spans)
    return seconds, len(ids), labelling, len({r[0] for r in spans})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bow-rows", type=int, default=400_000)
    ap.add_argument("--encoder-rows", type=int, default=12_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--models", default="bow,encoder")
    ap.add_argument("--json")
    a = ap.parse_args()
    import ray

    results = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        for name in a.models.split(","):
            model = MODELS[name]
            if not (model / "manifest.json").is_file():
                print(f"skip {name}: no checkpoint at {model}", file=sys.stderr)
                continue
            rows = a.bow_rows if name == "bow" else a.encoder_rows
            batch = 8192 if name == "bow" else 512
            d = tmp / name
            write_partitions(d / "in", rows, a.partitions)
            for threads in (1, 2):
                s = cli(model, d / "all.parquet", d / f"cli-{threads}.parquet", threads)
                results.append(dict(model=name, how=f"CLI, one process, --threads {threads}", rows=rows, seconds=s))
            for workers in (1, 2):
                s, n, busy, actors = ray_run(model, d / "in", d / f"ray-{workers}", workers, batch)
                assert n == rows
                results.append(dict(model=name, how=f"Ray Data, {workers} worker(s) x 1 thread", rows=rows, seconds=s,
                                    labelling_seconds=busy, actors=actors))
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print("| model | how | rows | seconds | rows/s | labelling s | labelling rows/s |\n|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        r["rows_per_s"] = r["rows"] / r["seconds"]
        busy = r.get("labelling_seconds")
        r["labelling_rows_per_s"] = r["rows"] / busy if busy else None
        tail = f"{busy:.1f} | {r['labelling_rows_per_s']:,.0f}" if busy else "- | -"
        print(f"| {r['model']} | {r['how']} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} | {tail} |")
    for name in ("bow", "encoder"):
        one = [r for r in results if r["model"] == name and r["how"].startswith("Ray Data, 1")]
        two = [r for r in results if r["model"] == name and r["how"].startswith("Ray Data, 2")]
        if one and two:
            r1, r2 = one[0], two[0]
            print(f"{name}: 2 Ray workers ({r2['actors']} actors labelled) = {r2['rows_per_s'] / r1['rows_per_s']:.2f}x the "
                  f"rows/s of 1 end to end, {r2['labelling_rows_per_s'] / r1['labelling_rows_per_s']:.2f}x while labelling")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
