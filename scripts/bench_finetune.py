#!/usr/bin/env python3
"""Benchmark (not a test): fine-tuning all-MiniLM-L6-v2, stancekit against a plain PyTorch loop.

    python3 scripts/bench_finetune.py [--config configs/plv-plover15-minilm-finetune.toml]
        [--layers 2,0] [--kernels exact,fast] [--repeat 3] [--threads 2] [--torch-python PYTHON]

Both sides train the same model with the same settings, read from the stancekit config:
as many rows of its data file as stancekit's training split holds (PyTorch takes a seeded
sample of that size from the same file, so the lengths are alike; the split itself is
stancekit's), batch size, max_seq_len, pooling (mean, L2
normalised), head (one hidden layer of `model.hidden` units, ReLU, dropout), AdamW with the
encoder's and the head's learning rates, balanced class weights, and the top `--layers`
layers tuned (0 = all six), the rest frozen. Texts are padded to the longest in each batch.

stancekit: `stancekit train --config C --set train.epochs=1 --set train.threads=N`
(evaluation on dev after the epoch only); the figure is the training rows divided by the
`elapsed` seconds its log (`train-log.jsonl`) records at the end of the epoch, which is measured before the dev evaluation: every step's
batching, forward, backward and AdamW update, nothing else.

PyTorch: transformers' `AutoModel` from the same folder, in a plain loop (`torch.optim.AdamW`,
`zero_grad`, `backward`, `step`) over one shuffled epoch, timed around the loop after one
warm-up step; frozen layers run under the same autograd graph with `requires_grad=False`.
torch.set_num_threads(--threads). Tokenising happens before the clock starts for PyTorch;
stancekit tokenises before its loop too.

`--kernels` lists the `model.kernels` settings to time stancekit with (one column each):
`exact` runs layer norm and softmax as candle's chains of element-wise ops, `fast` as our
fused kernels with backward passes (and the vectorised GELU).

Runs alternate between the tools; the table gives the median examples/s of --repeat runs.
"""
import argparse, csv, json, os, random, statistics, subprocess, sys, tempfile, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TORCH = r'''
import csv, json, os, random, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from transformers import AutoModel, AutoTokenizer
data, enc_dir, threads, spec = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = list(csv.DictReader(open(data, newline="", encoding="utf-8")))
labels = spec["labels"]
texts = [r[spec["text"]] for r in rows]
ys = [labels.index(r[spec["label"]]) for r in rows]
tok = AutoTokenizer.from_pretrained(enc_dir)
enc = AutoModel.from_pretrained(enc_dir)
n_layers = enc.config.num_hidden_layers
tuned = n_layers if spec["layers"] == 0 else spec["layers"]
for p in enc.parameters():
    p.requires_grad = False
for layer in enc.encoder.layer[n_layers - tuned:]:
    for p in layer.parameters():
        p.requires_grad = True
h = enc.config.hidden_size
head = torch.nn.Sequential(torch.nn.Dropout(spec["dropout"]), torch.nn.Linear(h, spec["hidden"]), torch.nn.ReLU(),
                           torch.nn.Dropout(spec["dropout"]), torch.nn.Linear(spec["hidden"], len(labels)))
counts = torch.bincount(torch.tensor(ys), minlength=len(labels)).float()
weights = torch.where(counts > 0, len(ys) / (len(labels) * counts.clamp(min=1)), torch.zeros_like(counts))
opt = torch.optim.AdamW([
    {"params": [p for p in enc.parameters() if p.requires_grad], "lr": spec["encoder_lr"]},
    {"params": head.parameters(), "lr": spec["lr"]}])
enc.train(); head.train()
order = list(range(len(texts)))
random.Random(0).shuffle(order)
bs = spec["batch"]
batches = []
for s in range(0, len(order), bs):
    idx = order[s:s + bs]
    t = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=spec["max_len"], return_tensors="pt")
    batches.append((t, torch.tensor([ys[i] for i in idx])))
loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
def step(t, y):
    out = enc(**t).last_hidden_state
    m = t["attention_mask"].unsqueeze(-1).float()
    pooled = (out * m).sum(1) / m.sum(1).clamp(min=1e-9)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    loss = loss_fn(head(pooled), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
step(*batches[0])
start = time.perf_counter()
for t, y in batches:
    step(t, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "n": len(texts), "torch": torch.__version__, "threads": torch.get_num_threads()}))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "plv-plover15-minilm-finetune.toml"))
    ap.add_argument("--layers", default="2,0", help="tuned layers per row, comma-separated (0 = all)")
    ap.add_argument("--kernels", default="exact,fast", help="model.kernels settings to time, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-python", default=str(ROOT / ".venv-bench" / "bin" / "python"),
                    help="a Python with torch and transformers (default .venv-bench)")
    args = ap.parse_args()
    kernels = args.kernels.split(",")
    config_path = Path(args.config).resolve()
    cfg = tomllib.loads(config_path.read_text())
    if cfg["model"].get("kind") != "pretrained" or cfg["model"].get("mode") != "finetune":
        sys.exit(f"{config_path}: expected a pretrained encoder in finetune mode")
    try:
        have_torch = subprocess.run([args.torch_python, "-c", "import torch, transformers"],
                                    capture_output=True).returncode == 0
    except FileNotFoundError:
        have_torch = False
    if not have_torch:
        print(f"skipping PyTorch: {args.torch_python} lacks torch or transformers", file=sys.stderr)
    binary = os.environ.get("STANCEKIT_BIN", str(ROOT / "target" / "release" / "stancekit"))
    task = cfg["tasks"][0]
    encoder = (config_path.parent / cfg["model"]["path"]).resolve()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        tmp = Path(tmp)
        (tmp / "torch_finetune.py").write_text(TORCH)
        for layers in [int(x) for x in args.layers.split(",")]:
            runs = {f"stancekit ({k})": [] for k in kernels}
            runs["torch"] = []
            for r in range(args.repeat):
                for k in kernels:
                    name = f"bench-finetune-{layers}-{k}-{r}"
                    out = subprocess.run([binary, "train", "--json", "--config", str(config_path),
                                          "--set", f"train.threads={args.threads}", "--set", "train.epochs=1",
                                          "--set", f"model.finetune_layers={layers}", "--set", f'model.kernels="{k}"',
                                          "--set", f'run.name="{name}"', "--set", f'run.output_dir="{tmp}"'],
                                         check=True, capture_output=True, text=True)
                    n = json.loads(out.stdout)["train_examples"]
                    run_dir = tmp / name
                    records = [json.loads(l) for l in (run_dir / "train-log.jsonl").read_text().splitlines() if l.strip()]
                    runs[f"stancekit ({k})"].append(n / records[-1]["elapsed"])
                train_csv = tmp / "torch-train.csv"
                data_path = (config_path.parent / cfg["data"]["path"]).resolve()
                with open(data_path, newline="", encoding="utf-8") as f:
                    all_rows = list(csv.DictReader(f, delimiter="\t" if data_path.suffix == ".tsv" else ","))
                label = task.get("column", task["name"])
                all_rows = [r for r in all_rows if r.get(label) in task["labels"]]
                with open(train_csv, "w", newline="", encoding="utf-8") as f:
                    w = csv.DictWriter(f, fieldnames=[cfg["data"]["text_column"], label], extrasaction="ignore")
                    w.writeheader()
                    w.writerows(random.Random(0).sample(all_rows, n))
                if have_torch:
                    spec = {"labels": task["labels"], "text": cfg["data"]["text_column"],
                            "label": task.get("column", task["name"]), "layers": layers,
                            "dropout": cfg["model"].get("dropout", 0.1), "hidden": cfg["model"].get("hidden", 0),
                            "lr": cfg["train"]["lr"], "encoder_lr": cfg["train"]["encoder_lr"],
                            "batch": cfg["train"]["batch_size"], "max_len": cfg["model"]["max_seq_len"]}
                    out = subprocess.run([args.torch_python, str(tmp / "torch_finetune.py"), str(train_csv), str(encoder),
                                          str(args.threads), json.dumps(spec)], check=True, capture_output=True, text=True)
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    runs["torch"].append(res["n"] / res["seconds"])
                    torch_version = res["torch"]
            results[layers] = (runs, n)
    med = lambda xs: statistics.median(xs) if xs else None
    print(f"{config_path.name}: batch {cfg['train']['batch_size']}, max_seq_len {cfg['model']['max_seq_len']}, "
          f"{args.threads} threads; PyTorch {torch_version if have_torch else 'skipped'}; median of {args.repeat} alternating runs")
    print("| tuned layers | training rows | " + " | ".join(f"stancekit train, kernels {k}, examples/s" for k in kernels)
          + " | PyTorch loop, examples/s | " + " | ".join(f"{k} / PyTorch" for k in kernels) + " |")
    print("|---|---:|" + "---:|" * (2 * len(kernels) + 1))
    for layers, (runs, n) in results.items():
        p = med(runs["torch"])
        ss = [med(runs[f"stancekit ({k})"]) for k in kernels]
        ratios = [f"{s / p:.2f}x" if p else "-" for s in ss]
        print(f"| {'all 6' if layers == 0 else layers} | {n} | " + " | ".join(f"{s:.1f}" for s in ss)
              + f" | {f'{p:.1f}' if p else 'skipped'} | " + " | ".join(ratios) + " |")
    for layers, (runs, _) in results.items():
        print(f"layers {layers}: " + "; ".join(f"{k} {[round(x, 1) for x in v]}" for k, v in runs.items() if v))


if __name__ == "__main__":
    main()
