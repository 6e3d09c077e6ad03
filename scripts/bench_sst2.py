#!/usr/bin/env python3
"""Benchmark (not a test): stancekit `bow` against fastText on SST-2, same settings.

Every tool trains 5 epochs with word bigrams, dim 10 and 2M hash buckets on 2 threads on
../shared/datasets/sst2/train.tsv and is scored on dev.tsv. Prints training time, whole-command
time (from the TSV to a model on disk), model size, examples/s and dev accuracy side by side
with their ratios, and writes the same as JSON. Runs alternate between the tools; medians.

    .venv-bench/bin/python scripts/bench_sst2.py [--threads 2] [--epochs 5] [--batch-size 256]
        [--repeat 3] [--json out.json]

Needs a release build (cargo build --release). Peers: the native fastText CLI (`apt-get
install fasttext`) and its Python bindings (`pip install fasttext-wheel "numpy<2"`, e.g. in
.venv-bench); a peer that is missing is skipped with a message.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SST = (ROOT / ".." / "shared" / "datasets" / "sst2").resolve()


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            rows.append((label, text))
    return rows


def stancekit(tmp, args):
    dev = tmp / "dev.tsv"
    with open(SST / "dev.tsv", encoding="utf-8") as src, open(dev, "w", encoding="utf-8") as dst:
        dst.write("label\tsentence\n")  # dev.tsv names its text column `content`
        next(src)
        dst.writelines(src)
    cfg = tmp / "sst2.toml"
    cfg.write_text(f"""
[run]
name = "sst2-bench"
seed = 1
output_dir = "{tmp}"
[data]
train = "{SST / 'train.tsv'}"
format = "tsv"
quoting = false
text_column = "sentence"
[[tasks]]
name = "sentiment"
column = "label"
labels = ["0", "1"]
[text]
word_ngrams = 2
buckets = 2000000
[model]
kind = "bow"
dim = 10
[train]
epochs = {args.epochs}
batch_size = {args.batch_size}
optimizer = "{args.optimizer}"
momentum = 0.0
schedule = "linear"
lr = {args.lr}
threads = {args.threads}
""")
    exe = ROOT / "target" / "release" / "stancekit"
    t0 = time.perf_counter()
    out = subprocess.run([str(exe), "train", "-q", "--json", "--config", str(cfg)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    s = json.loads(out.stdout)
    # No dev split in training: a fixed number of epochs, like fastText, and no model selection
    # on the set we report (dev.tsv is SST-2's test set here).
    ev = subprocess.run([str(exe), "evaluate", "--json", "--bootstrap", "0", "--model", str(tmp / "sst2-bench" / "model-last"),
                         "--data", str(dev), "--format", "tsv", "--no-quoting", "--out", str(tmp / "report")],
                        check=True, capture_output=True, text=True)
    accuracy = dev_accuracy(json.loads(ev.stdout))
    return {
        "tool": f"stancekit bow ({args.optimizer}, lr {args.lr}, batch {args.batch_size})",
        "train_seconds": s["train_seconds"],
        "wall_seconds": wall,
        "model_mb": (tmp / "sst2-bench" / "model-last" / "model.safetensors").stat().st_size / 1e6,
        "examples_per_second": s["examples_per_second"],
        "dev_accuracy": accuracy,
    }


def write_fasttext(rows, path):
    """Rows as fastText's input format: `__label__<label> <text>` per line."""
    path.write_text("".join(f"__label__{l} {t}\n" for l, t in rows), encoding="utf-8")


def dev_accuracy(out):
    """Accuracy of the `sentiment` task from `stancekit evaluate --json`."""
    for task in out["report"]["tasks"]:
        if task["name"] == "sentiment":
            return task["metrics"]["accuracy"]
    raise SystemExit("no sentiment task in the evaluate output")


def fasttext_row(tmp, args):
    try:
        import fasttext
    except ImportError:
        print("fastText row skipped: `pip install fasttext-wheel` to include it", file=sys.stderr)
        return None
    t_start = time.perf_counter()
    train = read_tsv(SST / "train.tsv")
    ft_train = tmp / "train.ft"
    write_fasttext(train, ft_train)
    t0 = time.perf_counter()
    model = fasttext.train_supervised(input=str(ft_train), epoch=args.epochs, wordNgrams=2, dim=10,
                                      bucket=2000000, thread=args.threads, verbose=0)
    seconds = time.perf_counter() - t0
    model.save_model(str(tmp / "ft-python.bin"))
    # Like for like with `stancekit train`: from the TSV to a model on disk.
    wall = time.perf_counter() - t_start
    dev = read_tsv(SST / "dev.tsv")
    ft_dev = tmp / "dev.ft"
    write_fasttext(dev, ft_dev)
    # test() gives precision@1, which is accuracy for single-label data (and avoids
    # fastText's predict(), which breaks under numpy 2).
    n, precision_at_1, _ = model.test(str(ft_dev))
    return {
        "tool": "fastText Python (sgd, lr 0.1, per-example)",
        "train_seconds": seconds,
        "wall_seconds": wall,
        "model_mb": (tmp / "ft-python.bin").stat().st_size / 1e6,
        "examples_per_second": len(train) * args.epochs / seconds,
        "dev_accuracy": precision_at_1,
    }


def fasttext_cli_row(tmp, args):
    """The native fastText CLI (Debian package `fasttext`): conversion, training and the model
    written to disk, timed as one, with its own `test` for accuracy (not timed)."""
    exe = shutil.which("fasttext")
    if not exe:
        print("fastText CLI row skipped: `apt-get install fasttext` to include it", file=sys.stderr)
        return None
    t_start = time.perf_counter()
    train = read_tsv(SST / "train.tsv")
    ft_train = tmp / "train-cli.ft"
    write_fasttext(train, ft_train)
    t0 = time.perf_counter()
    subprocess.run([exe, "supervised", "-input", str(ft_train), "-output", str(tmp / "ft-cli"),
                    "-epoch", str(args.epochs), "-wordNgrams", "2", "-dim", "10", "-bucket", "2000000",
                    "-thread", str(args.threads), "-verbose", "0"], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    wall = time.perf_counter() - t_start
    dev = read_tsv(SST / "dev.tsv")
    ft_dev = tmp / "dev-cli.ft"
    write_fasttext(dev, ft_dev)
    out = subprocess.run([exe, "test", str(tmp / "ft-cli.bin"), str(ft_dev)], check=True,
                         capture_output=True, text=True).stdout
    precision_at_1 = float(next(l for l in out.splitlines() if l.startswith("P@1")).split()[1])
    return {
        "tool": "fastText CLI (sgd, lr 0.1, per-example)",
        "train_seconds": seconds,
        "wall_seconds": wall,
        "model_mb": (tmp / "ft-cli.bin").stat().st_size / 1e6,
        "examples_per_second": len(train) * args.epochs / seconds,
        "dev_accuracy": precision_at_1,
    }


def median_row(runs):
    """Per numeric field, the median over runs (the tool name from the first)."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            out[key] = statistics.median(r[key] for r in runs)
    out["runs"] = len(runs)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=4.0)
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    p.add_argument("--repeat", type=int, default=3, help="runs per tool; the table shows medians")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    if not SST.is_dir():
        print(f"SKIPPED: {SST} is absent", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # Several runs per tool, alternating, medians reported: the first process after a pause
        # runs measurably slower on this machine, whichever tool it is.
        runs = {"stancekit": [], "fasttext-cli": [], "fasttext": []}
        for _ in range(max(1, args.repeat)):
            runs["stancekit"].append(stancekit(tmp, args))
            for name, row in (("fasttext-cli", fasttext_cli_row), ("fasttext", fasttext_row)):
                r = row(tmp, args)
                if r:
                    runs[name].append(r)
        rows = [median_row(r) for r in runs.values() if r]
    print(f"SST-2, {args.epochs} epochs, bigrams, dim 10, 2M buckets, {args.threads} threads, {os.cpu_count()} cores; "
          f"medians of {args.repeat} runs per tool")
    print("wall s: from the TSV to a model on disk (stancekit: the whole `train` process)")
    print(f"{'tool':<44} {'train s':>8} {'wall s':>8} {'model MB':>9} {'ex/s':>10} {'dev acc':>8}")
    for r in rows:
        print(f"{r['tool']:<44} {r['train_seconds']:>8.2f} {r['wall_seconds']:>8.2f} {r['model_mb']:>9.1f} "
              f"{r['examples_per_second']:>10.0f} {r['dev_accuracy']:>8.4f}")
    a = rows[0]
    for b in rows[1:]:
        print(f"ratio stancekit/{b['tool'].split(' (')[0]}: train time {a['train_seconds'] / b['train_seconds']:.2f}x, "
              f"wall {a['wall_seconds'] / b['wall_seconds']:.2f}x, model size {a['model_mb'] / b['model_mb']:.3f}x, "
              f"dev accuracy {a['dev_accuracy'] / b['dev_accuracy']:.3f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
