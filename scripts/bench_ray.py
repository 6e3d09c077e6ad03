#!/usr/bin/env python3
"""Benchmark (not a test): labelling Parquet partitions with Ray Data, 1 and 2 workers, next to
the CLI in one process, for the fast `bow` model and the pretrained-encoder default.

    python3 scripts/bench_ray.py [--bow-rows 400000] [--encoder-rows 4000] [--partitions 4]
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


def ray_run(model, inp, out, workers, batch):
    import pyarrow.parquet as pq
    import stancekit.ray as skray

    t = time.perf_counter()
    skray.classify_parquet(str(inp), str(out), str(model), concurrency=workers, threads_per_worker=1, batch_size=batch)
    seconds = time.perf_counter() - t
    ids = pq.read_table(out, columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == list(range(len(ids))), "a row was lost or duplicated"
    return seconds, len(ids)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bow-rows", type=int, default=400_000)
    ap.add_argument("--encoder-rows", type=int, default=4_000)
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
            batch = 8192 if name == "bow" else 256
            d = tmp / name
            write_partitions(d / "in", rows, a.partitions)
            for threads in (1, 2):
                s = cli(model, d / "all.parquet", d / f"cli-{threads}.parquet", threads)
                results.append(dict(model=name, how=f"CLI, one process, --threads {threads}", rows=rows, seconds=s))
            for workers in (1, 2):
                s, n = ray_run(model, d / "in", d / f"ray-{workers}", workers, batch)
                assert n == rows
                results.append(dict(model=name, how=f"Ray Data, {workers} worker(s) x 1 thread", rows=rows, seconds=s))
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print("| model | how | rows | seconds | rows/s |\n|---|---|---:|---:|---:|")
    for r in results:
        r["rows_per_s"] = r["rows"] / r["seconds"]
        print(f"| {r['model']} | {r['how']} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} |")
    for name in ("bow", "encoder"):
        one = [r for r in results if r["model"] == name and r["how"].startswith("Ray Data, 1")]
        two = [r for r in results if r["model"] == name and r["how"].startswith("Ray Data, 2")]
        if one and two:
            print(f"{name}: 2 Ray workers = {two[0]['rows_per_s'] / one[0]['rows_per_s']:.2f}x the rows/s of 1")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
