#!/usr/bin/env python3
"""Benchmark (not a test): how closely `--quantize int8` follows the f32 model it comes from.

    python3 scripts/bench_int8.py [CHECKPOINT ...]

Default checkpoints: the default model (checkpoints/diplomatic/model-best) and the fine-tuned
encoder (checkpoints/diplomatic-minilm-finetune/model-best), where trained. For each:

- the diplomatic test split (the rows of the run's `report-test/predictions.csv`, gold
  included): `stancekit evaluate` with and without `--quantize int8`; the share of rows whose
  stance and sentiment labels agree, and each macro-F1;
- PLV (../shared/datasets/plv/train.tsv, imported with `stancekit data import plv`):
  `stancekit classify` both ways; agreement of the stance labels, and the three-way stance
  macro-F1 through the mapping of scripts/cross_domain.py (skipped when ../shared is absent).

Issue 17's bar: at least 99% of labels agree, and macro-F1 moves by at most 0.005.
"""
import argparse, csv, json, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from cross_domain import BINARY, SHARED, macro_f1, stance, write_texts, read  # noqa: E402


def run(*args):
    return subprocess.run([str(BINARY), *map(str, args)], check=True, capture_output=True, text=True)


def agreement(a, b):
    return sum(x == y for x, y in zip(a, b)) / max(1, len(a))


def test_split(model, work):
    preds = Path(model).parent / "report-test" / "predictions.csv"
    if not preds.is_file():
        return None
    rows = read(preds)
    tasks = [c[:-5] for c in rows[0] if c.endswith("_gold")]
    data = work / "test.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", *tasks])
        w.writerows([r["id"], r["text"], *(r[f"{t}_gold"] for t in tasks)] for r in rows)
    out = {}
    for mode in ["none", "int8"]:
        rep = work / f"test-{mode}"
        run("evaluate", "-m", model, "-d", data, "-o", rep, "--text-column", "text", "--bootstrap", "0",
            "--quantize", mode, *[a for t in tasks for a in ("--label-column", f"{t}={t}")])
        report = json.loads((rep / "report.json").read_text())
        out[mode] = ({t["name"]: t["metrics"]["macro_f1"] for t in report["tasks"]},
                     {t: [r[f"{t}_pred"] for r in read(rep / "predictions.csv")] for t in tasks})
    return {t: {"rows": len(rows), "agreement": agreement(out["none"][1][t], out["int8"][1][t]),
                "f32_macro_f1": out["none"][0][t], "int8_macro_f1": out["int8"][0][t]} for t in tasks}


def plv(model, work):
    if not SHARED.is_dir():
        print(f"skipping PLV: {SHARED} is absent", file=sys.stderr)
        return None
    data = work / "plv.csv"
    if not data.exists():
        run("data", "import", "plv", "--from", SHARED / "plv" / "train.tsv", "--out", data)
        write_texts(work / "plv-text.csv", read(data))
    gold = [r["stance"] for r in read(data)]
    labels = {}
    for mode in ["none", "int8"]:
        out = work / f"plv-{mode}.csv"
        run("classify", "-m", model, "-i", work / "plv-text.csv", "-o", out, "--tasks", "stance", "-q",
            "--quantize", mode)
        labels[mode] = [r["stance"] for r in read(out)]
    three = ["condemnation", "cooperation", "other"]
    f1 = {m: macro_f1(gold, [stance(x) for x in v], three) for m, v in labels.items()}
    return {"rows": len(gold), "agreement": agreement(labels["none"], labels["int8"]),
            "f32_macro_f1": f1["none"], "int8_macro_f1": f1["int8"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="*", type=Path)
    args = ap.parse_args()
    models = args.checkpoints or [m for m in (ROOT / "checkpoints" / n / "model-best"
                                              for n in ["diplomatic", "diplomatic-minilm-finetune"])
                                  if (m / "manifest.json").is_file()]
    if not models:
        sys.exit("no checkpoint: train configs/diplomatic.toml first, or name one")
    print("| model | data | task | rows | labels agreeing | f32 macro-F1 | int8 macro-F1 | change |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-int8-") as tmp:
        work = Path(tmp)
        for m in models:
            results = []
            for task, r in (test_split(m, work) or {}).items():
                results.append(("diplomatic test", task, r))
            p = plv(m, work)
            if p:
                results.append(("PLV (mapped)", "stance", p))
            for data, task, r in results:
                d = r["int8_macro_f1"] - r["f32_macro_f1"]
                print(f"| {m} | {data} | {task} | {r['rows']} | {r['agreement']:.2%} | {r['f32_macro_f1']:.4f} | "
                      f"{r['int8_macro_f1']:.4f} | {d:+.4f} |")


if __name__ == "__main__":
    main()
