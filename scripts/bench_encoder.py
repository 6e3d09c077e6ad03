#!/usr/bin/env python3
"""Benchmark (not a test): pretrained-encoder inference, stancekit against PyTorch.

    python3 scripts/bench_encoder.py [--model CKPT] [--batch 32,64] [--repeat 3] [--threads 2]
        [--copies 3] [--st-python PYTHON]

Texts: the 1,050 PLV news sentences (../shared/datasets/plv/train.tsv, read in place), or the
embedded corpus's 1,855 statements when ../shared is absent, repeated --copies times.

stancekit: the whole `stancekit classify` process on a frozen all-MiniLM-L6-v2 checkpoint
(default checkpoints/diplomatic/model-best, trained first if missing): start, model
and encoder load with hash checks, CSV reading, tokenising, the encoder, the head, writing.
`--batch-size B` gives forward passes of B texts (sorted by length within 4,096-row windows).

PyTorch: sentence-transformers' `encode(texts, batch_size=B)` on the same model
(max_seq_length 128, also sorted by length), timed around the call only: no interpreter
start, no model load, no file I/O, after one warm-up batch. torch.set_num_threads(--threads).

Runs alternate between the tools; the table gives the median sentences/s of --repeat runs.
"""
import argparse, csv, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLV = (ROOT / ".." / "shared" / "datasets" / "plv" / "train.tsv").resolve()
OWN = ROOT / "datasets" / "diplomatic" / "statements.csv"
ENCODER = ROOT / "models" / "all-MiniLM-L6-v2"

TORCH = r'''
import csv, json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
torch.set_num_threads(int(sys.argv[3]))
from sentence_transformers import SentenceTransformer
texts = [r["text"] for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8"))]
m = SentenceTransformer(sys.argv[2], device="cpu")
m.max_seq_length = 128
bs = int(sys.argv[4])
m.encode(texts[:bs], batch_size=bs)
t = time.perf_counter()
m.encode(texts, batch_size=bs)
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(texts),
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
'''


def texts(copies):
    if PLV.exists():
        with open(PLV, newline="", encoding="utf-8") as f:
            rows = [r["sentence"] for r in csv.DictReader(f, delimiter="\t")]
        source = f"PLV train.tsv ({len(rows)} sentences)"
    else:
        with open(OWN, newline="", encoding="utf-8") as f:
            rows = [r["text"] for r in csv.DictReader(f)]
        source = f"embedded corpus ({len(rows)} statements)"
    return [t for _ in range(copies) for t in rows], source


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "checkpoints" / "diplomatic" / "model-best"))
    ap.add_argument("--batch", default="32,64")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--st-python", default=os.environ.get("ST_PYTHON", sys.executable),
                    help="a Python with sentence-transformers and torch (default $ST_PYTHON)")
    args = ap.parse_args()
    binary = os.environ.get("STANCEKIT_BIN", str(ROOT / "target" / "release" / "stancekit"))
    model = Path(args.model)
    if not (model / "manifest.json").exists():
        print(f"training {model.parent.name} first", file=sys.stderr)
        subprocess.run([binary, "train", "-q", "--config", str(ROOT / "configs" / "diplomatic.toml")],
                       check=True)
    rows, source = texts(args.copies)
    with tempfile.TemporaryDirectory(prefix="bench-encoder-") as tmp:
        tmp = Path(tmp)
        data = tmp / "texts.csv"
        with open(data, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "text"])
            w.writerows((i, t) for i, t in enumerate(rows))
        script = tmp / "torch_encode.py"
        script.write_text(TORCH)
        results = {}
        info = ""
        for bs in [int(b) for b in args.batch.split(",")]:
            sk, pt = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                subprocess.run([binary, "classify", "-q", "--threads", str(args.threads), "--text-column", "text",
                                "--batch-size", str(bs), "-m", str(model), "-i", str(data), "-o", str(tmp / "out.csv")],
                               check=True, capture_output=True)
                sk.append(len(rows) / (time.perf_counter() - t))
                out = subprocess.run([args.st_python, str(script), str(data), str(ENCODER), str(args.threads), str(bs)],
                                     check=True, capture_output=True, text=True)
                import json
                r = json.loads(out.stdout.strip().splitlines()[-1])
                info = f"torch {r['torch']}, {r['threads']} threads"
                pt.append(r["n"] / r["seconds"])
            results[bs] = (statistics.median(sk), statistics.median(pt), sk, pt)
    print(f"{len(rows)} texts: {source} x {args.copies}; {args.threads} threads; {info}; "
          f"median of {args.repeat} alternating runs")
    print("| batch | stancekit classify (whole process) sentences/s | PyTorch encode() sentences/s | ratio |")
    print("|---:|---:|---:|---:|")
    for bs, (s, p, sk, pt) in results.items():
        print(f"| {bs} | {s:,.0f} | {p:,.0f} | {s / p:.2f}x |")
    for bs, (s, p, sk, pt) in results.items():
        print(f"batch {bs}: stancekit runs {[round(x) for x in sk]}, PyTorch runs {[round(x) for x in pt]}")


if __name__ == "__main__":
    main()
