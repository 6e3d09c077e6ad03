#!/usr/bin/env python3
"""Benchmark (not a test): simulated annotation with `stancekit select`.

    python3 scripts/bench_select.py [--suite plv-plover15,diplomatic] [--start 100] [--step 100]
        [--rounds 7] [--strategies margin,entropy,random,diverse] [--json out.json]
        [--svg docs/select-curve.svg] [--keep DIR]

For each suite a seeded 20% of the rows (grouped, so repeats stay together) is held out as the
test set and the rest is the pool. Every strategy starts from the same random `--start` rows;
each round trains the suite's fast model on the rows labelled so far, scores it on the test set
(`stancekit evaluate`, macro-F1), asks `stancekit select` for `--step` more rows of the pool
(its gold label plays the annotator) and adds them. `select` itself keeps already labelled
rows out (they are the model's training data). The reference is the same model trained on the
whole pool: the table says how many labels each strategy needed to reach it (or the best it
reached).

Suites (read through `stancekit data import` or from datasets/, never copied):
  plv-plover15  ../shared/datasets/plv/train.tsv, 15 PLOVER types, the recipe of
                configs/plv-plover15-bow.toml (linear TF-IDF bow), trained without a dev split.
  diplomatic    datasets/diplomatic/statements.csv, stance, the recipe of
                configs/diplomatic-bow.toml (the fast default), trained without a dev split.

The binary is $STANCEKIT_BIN (default target/release/stancekit).
"""
import argparse, csv, json, os, random, subprocess, sys, tempfile, time, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared" / "datasets").resolve()
sys.path.insert(0, str(ROOT / "scripts"))
from bench_real import toml_table, read_csv, write_csv  # noqa: E402

SUITES = {
    "plv-plover15": {"config": "plv-plover15-bow.toml", "task": "plover", "text": "text", "group": "group"},
    "diplomatic": {"config": "diplomatic-bow.toml", "task": "stance", "text": "text", "group": "article_id"},
}


def rows_of(suite, binary, tmp):
    if suite == "plv-plover15":
        out = tmp / "plv.csv"
        subprocess.run([binary, "data", "import", "plv", "--from", str(SHARED / "plv" / "train.tsv"),
                        "--out", str(out), "--json"], check=True, capture_output=True)
        return read_csv(out)
    return read_csv(ROOT / "datasets" / "diplomatic" / "statements.csv")


def config_text(suite, spec, data, run_dir):
    with open(ROOT / "configs" / spec["config"], "rb") as f:
        cfg = tomllib.load(f)
    task = next(t for t in cfg["tasks"] if t["name"] == spec["task"])
    t = {"name": task["name"], "labels": task["labels"]}
    if suite == "plv-plover15":
        t["column"] = "plover"
    parts = ["[run]", 'name = "r"', "seed = 13", f"output_dir = {json.dumps(str(run_dir))}", "",
             toml_table("data", {"path": str(data), "text_column": spec["text"], "format": "csv"}),
             toml_table("split", {"dev": 0.0, "test": 0.0}), toml_table("[tasks]", t)]
    for sec in ("text", "model"):
        parts.append(toml_table(sec, cfg.get(sec, {})))
    tr = {k: v for k, v in cfg.get("train", {}).items() if k not in ("early_stopping_metric", "patience")}
    tr["threads"] = 2
    parts.append(toml_table("train", tr))
    return "\n".join(parts)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return p.stdout


def train_and_score(binary, suite, spec, labelled, fields, test, work):
    data = work / "labelled.csv"
    write_csv(data, labelled, fields)
    cfg = work / "run.toml"
    cfg.write_text(config_text(suite, spec, data, work / "runs"))
    summary = json.loads(run([binary, "train", "-q", "--json", "--config", str(cfg)]))
    model = Path(summary["run_dir"]) / "model-best"
    rep = work / "eval"
    run([binary, "evaluate", "-m", str(model), "-d", str(test), "-o", str(rep), "--json", "--bootstrap", "0",
         "--label-column", f"{spec['task']}={spec['task'] if suite == 'diplomatic' else 'plover'}"])
    report = json.loads((rep / "report.json").read_text())
    return model, report["tasks"][0]["metrics"]["macro_f1"]


def simulate(binary, suite, spec, args, tmp):
    rows = rows_of(suite, binary, tmp)
    for i, r in enumerate(rows):
        r["_row"] = str(i)
    fields = list(rows[0].keys())
    label_col = spec["task"] if suite == "diplomatic" else "plover"
    groups = sorted({r[spec["group"]] for r in rows})
    rng = random.Random(args.seed)
    rng.shuffle(groups)
    test_groups = set(groups[: round(0.2 * len(groups))])
    test = [r for r in rows if r[spec["group"]] in test_groups]
    pool = [r for r in rows if r[spec["group"]] not in test_groups]
    test_csv, pool_csv = tmp / f"{suite}-test.csv", tmp / f"{suite}-pool.csv"
    write_csv(test_csv, test, fields)
    write_csv(pool_csv, pool, fields)
    by_row = {r["_row"]: r for r in pool}
    start = random.Random(args.seed + 1).sample(pool, args.start)
    work = tmp / f"{suite}-full"
    work.mkdir(exist_ok=True)
    _, full = train_and_score(binary, suite, spec, pool, fields, test_csv, work)
    print(f"{suite}: test {len(test)} rows, pool {len(pool)}; all of the pool: macro-F1 {full:.4f}",
          file=sys.stderr, flush=True)
    curves = {}
    for strategy in args.strategies.split(","):
        labelled = list(start)
        work = tmp / f"{suite}-{strategy}"
        work.mkdir(exist_ok=True)
        points = []
        for rnd in range(args.rounds + 1):
            model, f1 = train_and_score(binary, suite, spec, labelled, fields, test_csv, work)
            points.append([len(labelled), f1])
            print(f"  {strategy:8} {len(labelled):5} labels: macro-F1 {f1:.4f}", file=sys.stderr, flush=True)
            if rnd == args.rounds or len(labelled) >= len(pool):
                break
            nxt = work / "next.csv"
            run([binary, "select", "-m", str(model), "-i", str(pool_csv), "-o", str(nxt), "-n", str(args.step),
                 "--strategy", strategy, "--seed", str(args.seed + rnd), "--text-column", spec["text"]])
            picked = read_csv(nxt)
            labelled.extend(by_row[r["_row"]] for r in picked)
        curves[strategy] = points
    return {"pool": len(pool), "test": len(test), "full_pool_macro_f1": full, "curves": curves,
            "label_column": label_col}


def needed(points, target):
    for n, f1 in points:
        if f1 >= target:
            return n
    return None


def svg(results, path):
    """A small line chart per suite, macro-F1 against labels, one line per strategy."""
    colours = {"margin": "#1f77b4", "entropy": "#ff7f0e", "random": "#7f7f7f", "diverse": "#2ca02c"}
    w, h, pad = 420, 260, 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * len(results)}" height="{h}" '
             'font-family="sans-serif" font-size="11">']
    for k, (suite, res) in enumerate(results.items()):
        x0 = k * w
        pts = [p for c in res["curves"].values() for p in c]
        xmax = max(n for n, _ in pts)
        ys = [f for _, f in pts] + [res["full_pool_macro_f1"]]
        ymin, ymax = min(ys) - 0.02, max(ys) + 0.02
        sx = lambda n: x0 + pad + (w - 2 * pad) * n / xmax
        sy = lambda f: h - pad - (h - 2 * pad) * (f - ymin) / (ymax - ymin)
        parts.append(f'<text x="{x0 + pad}" y="16">{suite}: macro-F1 against labels</text>')
        parts.append(f'<line x1="{x0 + pad}" y1="{h - pad}" x2="{x0 + w - pad}" y2="{h - pad}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + pad}" y1="{pad}" x2="{x0 + pad}" y2="{h - pad}" stroke="black"/>')
        for v in (ymin + 0.02, ymax - 0.02):
            parts.append(f'<text x="{x0 + 2}" y="{sy(v):.1f}">{v:.2f}</text>')
        parts.append(f'<text x="{x0 + w - pad - 20}" y="{h - pad + 14}">{xmax}</text>')
        full = sy(res["full_pool_macro_f1"])
        parts.append(f'<line x1="{x0 + pad}" y1="{full:.1f}" x2="{x0 + w - pad}" y2="{full:.1f}" '
                     'stroke="black" stroke-dasharray="4,3"/>')
        for i, (strategy, points) in enumerate(res["curves"].items()):
            c = colours.get(strategy, "black")
            line = " ".join(f"{sx(n):.1f},{sy(f):.1f}" for n, f in points)
            parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{line}"/>')
            parts.append(f'<text x="{x0 + w - pad - 60}" y="{h - pad - 12 - 12 * i}" fill="{c}">{strategy}</text>')
    parts.append("</svg>")
    Path(path).write_text("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="plv-plover15,diplomatic")
    ap.add_argument("--start", type=int, default=100)
    ap.add_argument("--step", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--strategies", default="margin,entropy,random,diverse")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--json")
    ap.add_argument("--svg")
    ap.add_argument("--keep")
    args = ap.parse_args()
    binary = str(Path(os.environ.get("STANCEKIT_BIN", ROOT / "target" / "release" / "stancekit")).resolve())
    tmpdir = None if args.keep else tempfile.TemporaryDirectory(prefix="bench-select-")
    tmp = Path(args.keep or tmpdir.name)
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {s: simulate(binary, s, SUITES[s], args, tmp) for s in args.suite.split(",")}
    print("| suite | strategy | " + " | ".join(f"{n} labels" for n, _ in next(iter(results.values()))["curves"]
                                                 [args.strategies.split(",")[0]]) + " | labels to reach all-pool F1 |")
    for suite, res in results.items():
        for strategy, points in res["curves"].items():
            n = needed(points, res["full_pool_macro_f1"])
            best = max(f for _, f in points)
            reach = f"{n}" if n else f"not within {points[-1][0]} (best {best:.3f})"
            print(f"| {suite} (pool {res['pool']}, all-pool F1 {res['full_pool_macro_f1']:.3f}) | {strategy} | "
                  + " | ".join(f"{f:.3f}" for _, f in points) + f" | {reach} |")
    print(f"\n{time.perf_counter() - t0:.0f}s total")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    if args.svg:
        svg(results, args.svg)
    if tmpdir:
        tmpdir.cleanup()


if __name__ == "__main__":
    main()
