#!/usr/bin/env python3
"""Cross-domain evaluation: score models trained on the embedded diplomatic corpus on real text
they never saw, through a fixed mapping onto our stance scheme.

  PLV (../shared/datasets/plv/train.tsv, 1,044 news sentences after merging repeats): PLOVER
      ACCUSE -> condemnation; AGREE, CONSULT, COOPERATE, SUPPORT, AID -> cooperation; every
      other type -> other. Our `invitation` is counted as cooperation. Macro-F1 over the three.
  keep-it-local (../shared/datasets/keep-it-local/quadclass.tsv, UN sentences): QuadClass 3
      (verbal conflict) -> condemnation, 4 (verbal cooperation) -> cooperation; our invitation
      counts as cooperation and `other` is a miss. Macro-F1 over the two ("two-way"), and the
      condemnation F1 (condemnation against the rest).

Both corpora are for measuring only: no shipped config trains on them.

Usage:
  python3 scripts/cross_domain.py [CHECKPOINT ...] [--json out.json] [--bootstrap 1000]
Default checkpoints: checkpoints/<run>/model-best of every configs/diplomatic*.toml that has
been trained. Each is run through `stancekit classify` (the real binary, target/release).
"""
import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
BINARY = ROOT / "target" / "release" / "stancekit"


def macro_f1(gold, pred, classes):
    """Macro-F1 over `classes`; predictions outside them (a miss) count against recall."""
    f1s = []
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def class_f1(gold, pred, c):
    return macro_f1(gold, pred, [c])


def interval(gold, pred, score, resamples, seed=13):
    """95% percentile bootstrap interval of `score(gold, pred)`."""
    if resamples == 0:
        return None
    rng = random.Random(seed)
    n = len(gold)
    values = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        values.append(score([gold[i] for i in idx], [pred[i] for i in idx]))
    values.sort()
    return [values[int(0.025 * resamples)], values[int(0.975 * resamples) - 1]]


def stance(label):
    return "cooperation" if label == "invitation" else label


def run(args, **kw):
    return subprocess.run([str(BINARY), *args], check=True, capture_output=True, text=True, **kw)


def predictions(model, data, work, name):
    out = work / f"{name}-{abs(hash(str(model)))}.csv"
    run(["classify", "-m", str(model), "-i", str(data), "-o", str(out), "--tasks", "stance", "-q"])
    with open(out, newline="", encoding="utf-8") as f:
        return [stance(r["stance"]) for r in csv.DictReader(f)]


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_texts(path, rows):
    """Only id and text: the gold columns stay out of what the model sees."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="*", type=Path)
    ap.add_argument("--json", type=Path, help="write every figure here as JSON")
    ap.add_argument("--bootstrap", type=int, default=1000, help="resamples for the 95%% CIs (0: none)")
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: the real corpora are needed")
    if not BINARY.is_file():
        sys.exit(f"{BINARY} is missing: run cargo build --release first")
    models = args.checkpoints or sorted(
        ROOT / "checkpoints" / p.stem / "model-best"
        for p in (ROOT / "configs").glob("diplomatic*.toml")
        if (ROOT / "checkpoints" / p.stem / "model-best" / "manifest.json").is_file()
    )
    if not models:
        sys.exit("no trained diplomatic checkpoint: train one, or name checkpoints")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plv, kil = work / "plv.csv", work / "kil.csv"
        run(["data", "import", "plv", "--from", str(SHARED / "plv" / "train.tsv"), "--out", str(plv)])
        run(["data", "import", "kil-quadclass", "--from", str(SHARED / "keep-it-local" / "quadclass.tsv"),
             "--out", str(kil)])
        plv_rows = read(plv)
        plv_gold = [r["stance"] for r in plv_rows]
        plv_text = work / "plv-text.csv"
        write_texts(plv_text, plv_rows)
        quad = {"verbal_conflict": "condemnation", "verbal_cooperation": "cooperation"}
        kil_rows = [r for r in read(kil) if r["quad"] in quad]
        kil_two = work / "kil-two-way.csv"
        write_texts(kil_two, kil_rows)
        kil_gold = [quad[r["quad"]] for r in kil_rows]
        for m in models:
            manifest = json.loads((Path(m) / "manifest.json").read_text())
            p = predictions(m, plv_text, work, "plv")
            k = predictions(m, kil_two, work, "kil")
            three = ["condemnation", "cooperation", "other"]
            two = ["condemnation", "cooperation"]
            row = {
                "model": str(m),
                "kind": manifest.get("model_kind"),
                "plv_rows": len(p),
                "plv_macro_f1": macro_f1(plv_gold, p, three),
                "plv_macro_f1_ci": interval(plv_gold, p, lambda g, q: macro_f1(g, q, three), args.bootstrap),
                "plv_condemnation_f1": class_f1(plv_gold, p, "condemnation"),
                "kil_rows": len(k),
                "kil_two_way_macro_f1": macro_f1(kil_gold, k, two),
                "kil_two_way_macro_f1_ci": interval(kil_gold, k, lambda g, q: macro_f1(g, q, two), args.bootstrap),
                "kil_condemnation_f1": class_f1(kil_gold, k, "condemnation"),
                "kil_predicted_other": sum(1 for x in k if x == "other") / max(1, len(k)),
            }
            results.append(row)
    ci = lambda v: "" if v is None else f" [{v[0]:.3f}, {v[1]:.3f}]"
    print("| model | kind | PLV macro-F1 (3 classes) | PLV condemnation F1 | keep-it-local two-way macro-F1 | KIL condemnation F1 | KIL predicted other |")
    print("|---|---|---|---:|---|---:|---:|")
    for r in results:
        print(f"| {r['model']} | {r['kind']} | {r['plv_macro_f1']:.3f}{ci(r['plv_macro_f1_ci'])} | "
              f"{r['plv_condemnation_f1']:.3f} | {r['kil_two_way_macro_f1']:.3f}{ci(r['kil_two_way_macro_f1_ci'])} | "
              f"{r['kil_condemnation_f1']:.3f} | {r['kil_predicted_other']:.1%} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
