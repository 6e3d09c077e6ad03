#!/usr/bin/env python3
"""Benchmark (not a test): stancekit against fastText and scikit-learn on real corpora.

    python3 scripts/bench_real.py [--suite plv-plover15,plv-stance,sst2,newsmtsc,kil-quadclass]
        [--tools stancekit-bow,fasttext,svm,logreg] [--folds 5] [--threads 2]
        [--json out.json] [--install] [--keep DIR] [--ensemble bow+cnn]

Suites (all read from ../shared/datasets through `stancekit data import`, never copied):
  plv-plover15  PLV news sentences, 15 PLOVER event types. 5-fold cross-validation over the
                1,044 imported rows (one row per sentence, so folds are grouped by sentence),
                stratified by PLOVER label, seed 13. Out-of-fold predictions are pooled.
  plv-stance    The same folds, scored on the 3-way stance view (condemnation/cooperation/other).
  sst2          Train on sst2/train.tsv, test on sst2/dev.tsv (872 rows).
  newsmtsc      Sentence sentiment (3 classes, `data import newsmtsc`, targets that disagree
                dropped): train on newsmtsc/train.jsonl, test on newsmtsc/devtest_mt.jsonl.
  kil-quadclass keep-it-local UN sentences, CAMEO quad class (5 classes): 5-fold cross-validation
                like PLV, grouped by the importer's group column, stratified by label, seed 13.
In every training fold a seeded 15% of the training rows (10% for SST-2 and NewsMTSC) is held out as the dev split that stancekit uses for early stopping; the
peers train on the same remaining rows, so every tool sees the same texts. The test fold is
never seen in training.

Tools:
  stancekit-bow, stancekit-cnn, stancekit-transformer
                the shipped configs/<suite>-<kind>.toml ([text], [model], [train] copied; [data]
                pointed at the fold files; train.threads = --threads). SST-2 has only bow.
                cnn and transformer are OPT-IN (not in the default --tools): on a shared 2-core
                machine 5 folds took ~6-7 min per PLV view for cnn and ~18 min per view for
                transformer (vs ~2 min for the whole default run), so all of them together do
                not fit the 30-minute budget.
  --ensemble KIND+KIND
                `stancekit ensemble` of the fold models those stancekit tools trained (mean of
                their probabilities), evaluated on the same test folds; "train s" is the
                ensemble command alone (its members' training is in their own rows).
  fasttext      fasttext-wheel train_supervised, wordNgrams=2, thread=--threads; PLV: epoch 25,
                lr 0.5; SST-2: fastText defaults (epoch 5, lr 0.1). Text is lower-cased with
                punctuation split off. Predictions use the low-level binding
                (model.f.predict) because model.predict breaks under numpy 2.
  stancekit-minilm, stancekit-minilm-finetune, stancekit-minilm-finetune-all
                configs/<suite>-minilm[-finetune[-all]].toml over all-MiniLM-L6-v2 at models/
                (run scripts/get-encoder.sh first); frozen: embeddings cached per fold, head
                only; finetune: top 2 layers + head; -all (PLV, both views, and SST-2): all 6 layers. Opt-in
                (finetune takes ~3 min per PLV fold, -all ~6 min).
  st-logreg     the same frozen encoder in Python: sentence-transformers (PyTorch) embeddings,
                max_seq_length 128, batch 32, + LogisticRegression(max_iter=1000). Needs
                sentence-transformers and torch: set ST_PYTHON to an interpreter that has them
                (not installed by --install: torch is large). Opt-in.
  svm           scikit-learn TfidfVectorizer(ngram_range=(1,2), sublinear_tf=True) + LinearSVC.
  logreg        the same features + LogisticRegression(max_iter=1000).

Columns: accuracy and macro-F1 on the pooled test predictions, with a 95% percentile bootstrap
CI for macro-F1 (1000 resamples over all pooled rows, seed 13, the same resamples for every tool);
train wall seconds summed over folds (stancekit: the whole `train` process, including data
loading and per-epoch dev evaluation; peers: vectorising + fitting); predict rows/s (stancekit:
test rows / wall time of `stancekit evaluate --bootstrap 0`, which includes loading the model and
writing the report, so it understates raw throughput; peers: test rows / (vectorise + predict)
time); peak RSS in MB (stancekit: the largest train or evaluate process, from wait4; peers: the
peak of the Python worker process running that tool, interpreter, numpy and data included).

The binary is $STANCEKIT_BIN (default target/release/stancekit). Python peers run in a worker
process using .venv-bench/bin/python when that exists, else this interpreter; if scikit-learn or
fasttext cannot be imported there, their rows are skipped with a message, unless --install is
given, which creates .venv-bench/ (python3 -m venv) and pip-installs scikit-learn fasttext-wheel
numpy into it.
"""
import argparse, csv, json, os, random, re, shutil, subprocess, sys, tempfile, time, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared" / "datasets").resolve()
VENV = ROOT / ".venv-bench"
SEED = 13
BOOTSTRAP = 1000

SUITES = {
    "plv-plover15": {"task": "plover", "config": "plv-plover15-{kind}.toml",
                     "kinds": ["bow", "cnn", "transformer", "minilm", "minilm-finetune", "minilm-finetune-all",
                               "distill-bow", "distill-bow-augment"],
                     "ft": {"epoch": 25, "lr": 0.5}},
    "plv-stance": {"task": "stance", "config": "plv-stance-{kind}.toml",
                   "kinds": ["bow", "cnn", "transformer", "minilm-finetune-all"],
                   "ft": {"epoch": 25, "lr": 0.5}},
    "sst2": {"task": "sentiment", "config": "sst2-{kind}.toml", "kinds": ["bow", "minilm", "minilm-finetune", "minilm-finetune-all"], "ft": {"epoch": 5, "lr": 0.1}},
    "newsmtsc": {"task": "sentiment", "config": "newsmtsc-{kind}.toml", "kinds": ["bow"],
                 "ft": {"epoch": 25, "lr": 0.5}},
    "kil-quadclass": {"task": "quad", "config": "kil-quadclass-{kind}.toml", "kinds": ["bow"],
                      "ft": {"epoch": 25, "lr": 0.5}},
}
# How each suite is split: k-fold over one imported file, or a fixed train file and test file.
CV_SOURCES = {"plv": ("plv", "plv/train.tsv", "plover", 0.15),
              "kil-quadclass": ("kil-quadclass", "keep-it-local/quadclass.tsv", "quad", 0.15)}
FIXED_SOURCES = {"sst2": ("sst2", "sst2/train.tsv", "sst2/dev.tsv", 0.10),
                 "newsmtsc": ("newsmtsc", "newsmtsc/train.jsonl", "newsmtsc/devtest_mt.jsonl", 0.10)}
ALL_TOOLS = ["stancekit-bow", "stancekit-cnn", "stancekit-transformer", "stancekit-minilm",
             "stancekit-minilm-finetune", "stancekit-minilm-finetune-all", "stancekit-distill-bow",
             "stancekit-distill-bow-augment",
             "fasttext", "svm", "logreg", "st-logreg"]
# Rows of the distillation pool that `classify` labels to time a student against its teacher.
SPEED_ROWS = 20000
DEFAULT_TOOLS = ["stancekit-bow", "fasttext", "svm", "logreg"]
PEER_MODULES = {"fasttext": ["fasttext", "numpy"], "svm": ["sklearn", "numpy"], "logreg": ["sklearn", "numpy"],
                "st-logreg": ["sentence_transformers", "sklearn", "torch"]}
# The encoder the minilm configs and st-logreg use (scripts/get-encoder.sh links it here).
ENCODER = ROOT / "models" / "all-MiniLM-L6-v2"


# ---------------------------------------------------------------- data and splits

def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path, rows, fields):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def run_import(binary, corpus, src, out):
    subprocess.run([binary, "data", "import", corpus, "--from", str(src), "--out", str(out), "--json"],
                   check=True, capture_output=True, text=True)
    return read_csv(out)


def stratified_group_folds(rows, k, label_key, seed):
    """Fold index per row: groups are dealt round-robin into k folds within each label, shuffled."""
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], r[label_key])
    by_label = {}
    for g, lab in sorted(groups.items()):
        by_label.setdefault(lab, []).append(g)
    rng = random.Random(seed)
    fold_of, i = {}, 0
    for lab in sorted(by_label):
        gs = by_label[lab]
        rng.shuffle(gs)
        for g in gs:
            fold_of[g] = i % k
            i += 1
    return [fold_of[r["group"]] for r in rows]


def carve_dev(rows, frac, seed):
    groups = sorted({r["group"] for r in rows})
    rng = random.Random(seed)
    rng.shuffle(groups)
    dev_groups = set(groups[: max(1, round(frac * len(groups)))])
    return [r for r in rows if r["group"] not in dev_groups], [r for r in rows if r["group"] in dev_groups]


def make_splits(suite, binary, tmp, folds):
    """[(train_csv, dev_csv, test_csv)], test rows in pooled order."""
    d = tmp / "data"
    d.mkdir(exist_ok=True)
    source = "plv" if suite.startswith("plv") else suite
    if source in CV_SOURCES:
        corpus, path, strat, dev_frac = CV_SOURCES[source]
        cache = d / f"{source}.csv"
        rows = read_csv(cache) if cache.exists() else run_import(binary, corpus, SHARED / path, cache)
        fields = list(rows[0].keys())
        fold_ix = stratified_group_folds(rows, folds, strat, SEED)  # same folds for both PLV views
        splits, pooled = [], []
        for f in range(folds):
            fd = d / f"{source}-fold{f}"
            fd.mkdir(exist_ok=True)
            train = [r for r, fi in zip(rows, fold_ix) if fi != f]
            test = [r for r, fi in zip(rows, fold_ix) if fi == f]
            tr, dv = carve_dev(train, dev_frac, SEED + f)
            for name, part in (("train", tr), ("dev", dv), ("test", test)):
                if not (fd / f"{name}.csv").exists():
                    write_csv(fd / f"{name}.csv", part, fields)
            splits.append((fd / "train.csv", fd / "dev.csv", fd / "test.csv"))
            pooled.extend(test)
        return splits, pooled
    corpus, train_path, test_path, dev_frac = FIXED_SOURCES[source]
    fd = d / source
    fd.mkdir(exist_ok=True)
    if not (fd / "test.csv").exists():
        train = run_import(binary, corpus, SHARED / train_path, fd / "all-train.csv")
        run_import(binary, corpus, SHARED / test_path, fd / "test.csv")
        tr, dv = carve_dev(train, dev_frac, SEED)
        fields = list(train[0].keys())
        write_csv(fd / "train.csv", tr, fields)
        write_csv(fd / "dev.csv", dv, fields)
    return [(fd / "train.csv", fd / "dev.csv", fd / "test.csv")], read_csv(fd / "test.csv")


# ---------------------------------------------------------------- metrics

def metrics(gold, pred):
    import numpy as np
    labels = sorted(set(gold) | set(pred))
    ix = {l: i for i, l in enumerate(labels)}
    g = np.array([ix[x] for x in gold])
    p = np.array([ix[x] for x in pred])
    n, L = len(g), len(labels)

    def macro_f1(gi, pi):
        cm = np.bincount(gi * L + pi, minlength=L * L).reshape(L, L)
        tp = np.diag(cm).astype(float)
        denom = cm.sum(0) + cm.sum(1)  # 2TP + FP + FN
        present = denom > 0
        return float((2 * tp[present] / denom[present]).mean())

    rng = np.random.default_rng(SEED)
    boots = [macro_f1(g[idx], p[idx]) for idx in (rng.integers(0, n, n) for _ in range(BOOTSTRAP))]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"n": n, "accuracy": float((g == p).mean()), "macro_f1": macro_f1(g, p),
            "macro_f1_ci95": [float(lo), float(hi)]}


# ---------------------------------------------------------------- process accounting

def run_measured(cmd, stdout_path, env=None):
    """Run cmd; return (returncode, wall seconds, peak RSS MB of that process tree's largest member)."""
    with open(stdout_path, "w") as out, open(str(stdout_path) + ".err", "w") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_maxrss / 1024.0


def stderr_tail(path, n=15):
    try:
        return "\n".join(Path(str(path) + ".err").read_text().splitlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- stancekit

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def toml_table(name, d):
    lines = [f"[{name}]"]
    for k, v in d.items():
        if isinstance(v, dict):
            continue
        lines.append(f"{k} = {toml_value(v)}")
    return "\n".join(lines) + "\n"


def fold_config(shipped, task_col, run_name, out_dir, train, dev, threads):
    with open(shipped, "rb") as f:
        cfg = tomllib.load(f)
    task = dict(cfg["tasks"][0])
    labels = task.get("labels")
    if task.get("label_map"):
        # The canonical CSV already holds mapped labels: keep the target side, in config order.
        labels = labels or sorted(set(task["label_map"].values()))
    text = ["[run]", f"name = {json.dumps(run_name)}", f"seed = {cfg.get('run', {}).get('seed', SEED)}",
            f"output_dir = {json.dumps(str(out_dir))}", ""]
    text.append(toml_table("data", {"train": str(train), "dev": str(dev), "format": "csv",
                                    "text_column": "text", "group_column": "group", "id_column": "id"}))
    t = {"name": task["name"], "column": task_col}
    if labels:
        t["labels"] = labels
    text.append(toml_table("[tasks]", t))
    if "path" in cfg.get("model", {}):
        # The encoder folder is relative to the shipped config, not to the fold config.
        cfg["model"]["path"] = str((Path(shipped).parent / cfg["model"]["path"]).resolve())
    for sec in ("text", "model"):
        if sec in cfg:
            text.append(toml_table(sec, cfg[sec]))
    tr = dict(cfg.get("train", {}))
    tr["threads"] = threads
    text.append(toml_table("train", tr))
    if "distill" in cfg:
        text.append(distill_tables(cfg["distill"], shipped, out_dir, run_name, task_col, train, dev, threads))
    return "\n".join(text)


def teacher_kind(shipped):
    """The bench kind of a student's teacher (plv-plover15-minilm-finetune.toml -> minilm-finetune)."""
    with open(shipped, "rb") as f:
        name = Path(tomllib.load(f)["distill"]["teacher_config"]).stem
    suite = next(s for s in SUITES if name.startswith(s + "-"))
    return suite, name[len(suite) + 1:]


def distill_tables(d, shipped, out_dir, run_name, task_col, train, dev, threads):
    """[distill] for one fold: the teacher is the same fold's run of the teacher's own tool (sk-<suite>-<kind>),
    trained by the student's `train` when that tool has not run; pool paths made absolute."""
    suite, kind = teacher_kind(shipped)
    work = out_dir.parent.parent / f"sk-{suite}-{kind}"
    work.mkdir(exist_ok=True)
    teacher_shipped = Path(shipped).parent / d["teacher_config"]
    teacher_cfg = work / f"{run_name}.toml"
    if not teacher_cfg.exists():
        teacher_cfg.write_text(fold_config(teacher_shipped, task_col, run_name, work / "runs", train, dev, threads))
    keys = {k: v for k, v in d.items() if k not in ("teacher", "teacher_config", "pool", "cache_dir")}
    keys.update({"teacher": str(work / "runs" / run_name / "model-best"), "teacher_config": str(teacher_cfg),
                 "cache_dir": str(out_dir.parent.parent / "teacher-cache")})
    text = [toml_table("distill", keys)]
    for p in d.get("pool", []):
        p = dict(p, path=str((Path(shipped).parent / p["path"]).resolve()))
        text.append(toml_table("[distill.pool]", p))
    return "\n".join(text)


def pool_sample(shipped, tmp, n):
    """A CSV of the first n texts of a student's pool files (for timing classify)."""
    with open(shipped, "rb") as f:
        pools = tomllib.load(f)["distill"].get("pool", [])
    out = tmp / "speed-input.csv"
    texts = []
    for p in pools:
        path = (Path(shipped).parent / p["path"]).resolve()
        col = p.get("text_column", "text")
        with open(path, newline="") as f:
            if path.suffix == ".jsonl":
                texts.extend(json.loads(line)[col] for line in f if line.strip())
            else:
                texts.extend(r[col] for r in csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))
    texts = [t for t in texts if t and t.strip()][:n]
    write_csv(out, [{"id": str(i), "text": t} for i, t in enumerate(texts)], ["id", "text"])
    return out, len(texts)


def classify_speed(binary, model, data, rows, out, threads):
    """Rows/s of `stancekit classify` over data (whole process: load, read, label, write), and peak RSS MB."""
    rc, wall, mb = run_measured([binary, "classify", "--model", str(model), "--input", str(data), "--output",
                                 str(out), "--threads", str(threads), "-q"], str(out) + ".log")
    if rc != 0:
        return None, None
    return rows / wall, mb


def evaluate_fold(binary, model, test, work, f, task):
    """Predictions of `model` for fold f's test rows, in file order, with evaluate's wall time and RSS."""
    rep = work / f"eval{f}"
    shutil.rmtree(rep, ignore_errors=True)
    rc, wall, mb = run_measured([binary, "evaluate", "--model", str(model), "--data", str(test), "--out", str(rep),
                                 "--json", "--bootstrap", "0"], work / f"eval{f}.json")
    if rc != 0:
        return None, wall, mb, f"evaluate failed on fold {f} (exit {rc}): {stderr_tail(work / f'eval{f}.json')}"
    by_id = {r["id"]: r[f"{task}_pred"] for r in read_csv(rep / "predictions.csv")}
    test_rows = read_csv(test)
    missing = [r["id"] for r in test_rows if r["id"] not in by_id]
    if missing:
        return None, wall, mb, f"evaluate gave no prediction for {len(missing)} test rows on fold {f}"
    return [by_id[r["id"]] for r in test_rows], wall, mb, None


def run_ensemble(kinds, suite, spec, splits, binary, tmp):
    """`stancekit ensemble` of the fold models that the stancekit tools `kinds` trained in this run (or that
    --keep kept), evaluated on the same test folds. Its train s is the ensemble command alone."""
    work = tmp / f"sk-{suite}-ensemble-{'+'.join(kinds)}"
    work.mkdir(exist_ok=True)
    preds, build_wall, pred_wall, n_test, rss = [], 0.0, 0.0, 0, 0.0
    for f, (_, _, test) in enumerate(splits):
        members = [tmp / f"sk-{suite}-{k}" / "runs" / f"fold{f}" / "model-best" for k in kinds]
        absent = [str(m) for m in members if not (m / "manifest.json").is_file()]
        if absent:
            return None, f"no member model {absent[0]}: run its tool in the same invocation (or --keep)"
        out = work / f"fold{f}"
        shutil.rmtree(out, ignore_errors=True)
        rc, wall, mb = run_measured([binary, "ensemble", "-q", "--json", "-o", str(out), *map(str, members)],
                                    work / f"ensemble{f}.json")
        if rc != 0:
            return None, f"ensemble failed on fold {f} (exit {rc}): {stderr_tail(work / f'ensemble{f}.json')}"
        build_wall += wall
        fold_preds, wall, mb2, err = evaluate_fold(binary, out / "model-best", test, work, f, spec["task"])
        if err:
            return None, err
        pred_wall += wall
        rss = max(rss, mb, mb2)
        n_test += len(fold_preds)
        preds.extend(fold_preds)
    return {"preds": preds, "train_seconds": build_wall, "predict_rows_per_s": n_test / pred_wall,
            "peak_rss_mb": rss, "rss_note": "largest stancekit process",
            "settings": "mean of the fold models of " + ", ".join(f"stancekit-{k}" for k in kinds)}, None


def run_stancekit(kind, suite, spec, splits, binary, tmp, threads, configs):
    shipped = configs / spec["config"].format(kind=kind)
    if not shipped.exists():
        return None, f"no shipped config {shipped.name}"
    work = tmp / f"sk-{suite}-{kind}"
    work.mkdir(exist_ok=True)
    preds, train_wall, train_inner, pred_wall, n_test, rss = [], 0.0, 0.0, 0.0, 0, 0.0
    task = spec["task"]
    for f, (train, dev, test) in enumerate(splits):
        cfg = work / f"fold{f}.toml"
        cfg.write_text(fold_config(shipped, task, f"fold{f}", work / "runs", train, dev, threads))
        shutil.rmtree(work / "runs" / f"fold{f}", ignore_errors=True)  # a --keep folder may hold an old run
        rc, wall, mb = run_measured([binary, "train", "--json", "-q", "--config", str(cfg)], work / f"train{f}.json")
        if rc != 0:
            return None, f"train failed on fold {f} (exit {rc}): {stderr_tail(work / f'train{f}.json')}"
        summary = json.loads((work / f"train{f}.json").read_text())
        train_wall += wall
        train_inner += summary.get("train_seconds", 0.0)
        rss = max(rss, mb)
        fold_preds, wall, mb, err = evaluate_fold(binary, Path(summary["run_dir"]) / "model-best", test, work, f, task)
        if err:
            return None, err
        pred_wall += wall
        rss = max(rss, mb)
        n_test += len(fold_preds)
        preds.extend(fold_preds)
    speed = {}
    data, n = pool_sample(shipped, tmp, SPEED_ROWS) if kind.startswith("distill-") else (None, 0)
    if n:
        # Student and teacher of fold 0 label the same pool rows, one after the other, in this run.
        suite_t, kind_t = teacher_kind(shipped)
        teacher = tmp / f"sk-{suite_t}-{kind_t}" / "runs" / "fold0" / "model-best"
        student = work / "runs" / "fold0" / "model-best"
        s_rate, s_mb = classify_speed(binary, student, data, n, work / "speed-student.csv", threads)
        t_rate, t_mb = classify_speed(binary, teacher, data, n, work / "speed-teacher.csv", threads)
        speed = {"classify_rows": n, "student_classify_rows_per_s": s_rate, "teacher_classify_rows_per_s": t_rate,
                 "student_classify_rss_mb": s_mb, "teacher_classify_rss_mb": t_mb}
    return {**speed, "preds": preds, "train_seconds": train_wall, "train_seconds_inner": train_inner,
            "predict_rows_per_s": n_test / pred_wall, "peak_rss_mb": rss, "rss_note": "largest stancekit process",
            "settings": str(shipped.relative_to(ROOT)) if shipped.is_relative_to(ROOT) else str(shipped)}, None


# ---------------------------------------------------------------- Python peers (worker process)

TOKEN = re.compile(r"\w+|[^\w\s]")


def ft_text(s):
    return " ".join(TOKEN.findall(s.lower()))


def worker(args):
    """Runs one peer tool over all folds; writes predictions and timings as JSON."""
    job = json.loads(Path(args.worker).read_text())
    tool, task = job["tool"], job["task"]
    os.environ.setdefault("OMP_NUM_THREADS", str(job["threads"]))
    preds, train_s, pred_s, n_test = [], 0.0, 0.0, 0
    if tool == "st-logreg":
        import torch
        from sentence_transformers import SentenceTransformer
        torch.set_num_threads(job["threads"])
        t0 = time.perf_counter()
        st = SentenceTransformer(job["encoder"], device="cpu")
        st.max_seq_length = 128
        train_s += time.perf_counter() - t0
    for f, (train, _dev, test) in enumerate(job["splits"]):
        tr, te = read_csv(train), read_csv(test)
        X, y = [r["text"] for r in tr], [r[task] for r in tr]
        Xt = [r["text"] for r in te]
        n_test += len(te)
        if tool == "fasttext":
            import fasttext
            path = Path(job["tmp"]) / f"ft-{job['suite']}-{f}.txt"
            t0 = time.perf_counter()
            with open(path, "w", encoding="utf-8") as out:
                for text, lab in zip(X, y):
                    out.write(f"__label__{lab} {ft_text(text)}\n")
            model = fasttext.train_supervised(str(path), wordNgrams=2, thread=job["threads"], verbose=0,
                                              **job["ft"])
            train_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            # model.predict() breaks under numpy 2 (np.array(copy=False)); use the binding directly.
            out = [model.f.predict(ft_text(t) + "\n", 1, 0.0, "strict")[0][1] for t in Xt]
            pred_s += time.perf_counter() - t0
            preds.extend(p[len("__label__"):] for p in out)
            del model  # free this fold's model (2M buckets x 100 dims) before the next one is built
        elif tool == "st-logreg":
            from sklearn.linear_model import LogisticRegression
            t0 = time.perf_counter()
            clf = LogisticRegression(max_iter=1000)
            clf.fit(st.encode(X, batch_size=32), y)
            train_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            out = clf.predict(st.encode(Xt, batch_size=32))
            pred_s += time.perf_counter() - t0
            preds.extend(str(p) for p in out)
        else:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.svm import LinearSVC
            from sklearn.linear_model import LogisticRegression
            t0 = time.perf_counter()
            vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            Xv = vec.fit_transform(X)
            clf = LinearSVC() if tool == "svm" else LogisticRegression(max_iter=1000)
            clf.fit(Xv, y)
            train_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            out = clf.predict(vec.transform(Xt))
            pred_s += time.perf_counter() - t0
            preds.extend(str(p) for p in out)
    Path(job["out"]).write_text(json.dumps({"preds": preds, "train_seconds": train_s,
                                            "predict_rows_per_s": n_test / pred_s}))


def peer_python(tool=None):
    if tool == "st-logreg" and os.environ.get("ST_PYTHON"):
        return os.environ["ST_PYTHON"]
    py = VENV / "bin" / "python"
    return str(py) if py.exists() else sys.executable


def can_import(python, modules):
    code = "import " + ", ".join(modules)
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def install_peers():
    if not (VENV / "bin" / "python").exists():
        print(f"creating {VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        (VENV / ".gitignore").write_text("*\n")  # keep the venv out of git status
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "scikit-learn", "fasttext-wheel",
                    "numpy"], check=True)


def run_peer(tool, suite, spec, splits, tmp, threads, python):
    job = tmp / f"job-{suite}-{tool}.json"
    out = tmp / f"out-{suite}-{tool}.json"
    job.write_text(json.dumps({"tool": tool, "task": spec["task"], "suite": suite, "threads": threads,
                               "ft": spec["ft"], "tmp": str(tmp), "out": str(out), "encoder": str(ENCODER),
                               "splits": [[str(p) for p in s] for s in splits]}))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    rc, _wall, mb = run_measured([python, str(Path(__file__).resolve()), "--worker", str(job)],
                                 tmp / f"log-{suite}-{tool}", env=env)
    if rc != 0:
        return None, f"worker failed (exit {rc}): {stderr_tail(tmp / f'log-{suite}-{tool}')}"
    res = json.loads(out.read_text())
    res["peak_rss_mb"] = mb
    res["rss_note"] = "Python worker process peak"
    res["settings"] = {"fasttext": "wordNgrams=2, epoch {epoch}, lr {lr}".format(**spec["ft"]),
                       "svm": "tfidf 1-2gram sublinear + LinearSVC",
                       "logreg": "tfidf 1-2gram sublinear + LogisticRegression(max_iter=1000)",
                       "st-logreg": "sentence-transformers all-MiniLM-L6-v2 (PyTorch, max_seq_length 128, "
                                    "batch 32) + LogisticRegression(max_iter=1000)"}[tool]
    return res, None


# ---------------------------------------------------------------- main

def fmt_table(rows):
    head = ["corpus/task", "tool", "settings", "n", "accuracy", "macro-F1 [95% CI]", "train s", "predict rows/s",
            "peak RSS MB"]
    body = []
    for r in rows:
        ci = r["macro_f1_ci95"]
        body.append([r["suite"], r["tool"], r["settings"], str(r["n"]), f"{r['accuracy']:.4f}",
                     f"{r['macro_f1']:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]", f"{r['train_seconds']:.1f}",
                     f"{r['predict_rows_per_s']:,.0f}", f"{r['peak_rss_mb']:.0f}"])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(b) for b in body])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default=",".join(SUITES), help="comma-separated: " + ",".join(SUITES))
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                    help="comma-separated: " + ",".join(ALL_TOOLS) + " (default: " + ",".join(DEFAULT_TOOLS) +
                    "; stancekit-cnn and stancekit-transformer are opt-in: too slow for the 30-minute budget on 2 cores)")
    ap.add_argument("--folds", type=int, default=5, help="cross-validation folds for PLV (default 5)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every tool (default 2)")
    ap.add_argument("--json", help="also write the table as JSON here")
    ap.add_argument("--install", action="store_true", help="create .venv-bench/ and pip-install missing peers")
    ap.add_argument("--configs", default=str(ROOT / "configs"),
                    help="folder of the stancekit configs to run (default: configs/, the shipped ones)")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed)")
    ap.add_argument("--ensemble", action="append", default=[], metavar="KIND+KIND",
                    help="also score `stancekit ensemble` of these stancekit tools' fold models, e.g. bow+cnn "
                         "(their tools run in the same invocation, or their folds are in --keep; repeatable)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    suites = [s for s in args.suite.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    for s in suites:
        if s not in SUITES:
            ap.error(f"unknown suite {s}")
    for t in tools:
        if t not in ALL_TOOLS:
            ap.error(f"unknown tool {t}")
    binary = os.environ.get("STANCEKIT_BIN", str(ROOT / "target" / "release" / "stancekit"))
    binary = str(Path(binary).resolve())
    if not Path(binary).exists():  # needed by every tool: `data import` builds the splits
        sys.exit(f"no stancekit binary at {binary} (cargo build --release, or set STANCEKIT_BIN)")

    peers = [t for t in tools if t in PEER_MODULES]
    if peers and args.install:
        python = peer_python()
        if not all(can_import(python, PEER_MODULES[t]) for t in peers if t != "st-logreg"):
            install_peers()
    available = {t: can_import(peer_python(t), PEER_MODULES[t]) for t in peers}
    for t, ok in available.items():
        if not ok:
            print(f"skipping {t}: cannot import {', '.join(PEER_MODULES[t])} with {peer_python(t)} "
                  f"(pass --install to create .venv-bench/)", file=sys.stderr)

    if args.keep:
        tmp = Path(args.keep).resolve()
        tmp.mkdir(parents=True, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="bench-real-")
        tmp = Path(cleanup.name)

    t_start = time.perf_counter()
    rows, skipped = [], []
    for suite in suites:
        spec = SUITES[suite]
        splits, pooled = make_splits(suite, binary, tmp, args.folds)
        gold = [r[spec["task"]] for r in pooled]
        for tool in tools:
            t0 = time.perf_counter()
            if tool.startswith("stancekit-"):
                kind = tool.split("-", 1)[1]
                if kind not in spec["kinds"]:
                    skipped.append((suite, tool, f"no {kind} config for {suite}"))
                    continue
                res, err = run_stancekit(kind, suite, spec, splits, binary, tmp, args.threads, Path(args.configs))
            else:
                if not available[tool]:
                    skipped.append((suite, tool, "not installed"))
                    continue
                res, err = run_peer(tool, suite, spec, splits, tmp, args.threads, peer_python(tool))
            if err:
                print(f"{suite} {tool}: {err}", file=sys.stderr)
                skipped.append((suite, tool, err))
                continue
            m = metrics(gold, res["preds"])
            row = {"suite": suite, "tool": tool, "settings": res["settings"], **m,
                   "train_seconds": res["train_seconds"], "predict_rows_per_s": res["predict_rows_per_s"],
                   "peak_rss_mb": res["peak_rss_mb"], "rss_note": res["rss_note"],
                   "folds": len(splits), "threads": args.threads}
            if "train_seconds_inner" in res:
                row["train_seconds_reported"] = res["train_seconds_inner"]
            row.update({k: v for k, v in res.items() if k.startswith(("classify_", "student_", "teacher_"))})
            rows.append(row)
            print(f"done {suite} {tool} in {time.perf_counter() - t0:.1f}s: acc {m['accuracy']:.4f} "
                  f"macro-F1 {m['macro_f1']:.4f}", file=sys.stderr, flush=True)

        for combo in args.ensemble:
            t0 = time.perf_counter()
            tool = "stancekit-ensemble-" + combo
            res, err = run_ensemble(combo.split("+"), suite, spec, splits, binary, tmp)
            if err:
                print(f"{suite} {tool}: {err}", file=sys.stderr)
                skipped.append((suite, tool, err))
                continue
            m = metrics(gold, res["preds"])
            rows.append({"suite": suite, "tool": tool, "settings": res["settings"], **m,
                         "train_seconds": res["train_seconds"], "predict_rows_per_s": res["predict_rows_per_s"],
                         "peak_rss_mb": res["peak_rss_mb"], "rss_note": res["rss_note"],
                         "folds": len(splits), "threads": args.threads})
            print(f"done {suite} {tool} in {time.perf_counter() - t0:.1f}s: acc {m['accuracy']:.4f} "
                  f"macro-F1 {m['macro_f1']:.4f}", file=sys.stderr, flush=True)

    total = time.perf_counter() - t_start
    print(fmt_table(rows))
    print(f"\n{len(rows)} rows, {total:.0f}s total, {args.threads} threads, {os.cpu_count()} cores. "
          "PLV: pooled out-of-fold predictions over {0} folds; train s = sum over folds. "
          "Peak RSS: stancekit = largest train/evaluate process; peers = their Python worker's peak "
          "(interpreter and data included).".format(args.folds))
    for r in rows:
        if r.get("student_classify_rows_per_s") and r.get("teacher_classify_rows_per_s"):
            ratio = r["student_classify_rows_per_s"] / r["teacher_classify_rows_per_s"]
            print(f"\n{r['suite']} {r['tool']}: classify {r['classify_rows']:,} pool rows (fold 0 models, whole "
                  f"process, {args.threads} threads): student {r['student_classify_rows_per_s']:,.0f} rows/s, "
                  f"{r['student_classify_rss_mb']:.0f} MB; teacher {r['teacher_classify_rows_per_s']:,.0f} rows/s, "
                  f"{r['teacher_classify_rss_mb']:.0f} MB; student/teacher {ratio:.1f}x")
    for s, t, why in skipped:
        print(f"skipped {s} {t}: {why.splitlines()[0] if why else ''}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cores": os.cpu_count(),
            "threads": args.threads, "folds": args.folds, "bootstrap": BOOTSTRAP, "seed": SEED,
            "binary": binary, "total_seconds": total, "rows": rows,
            "skipped": [{"suite": s, "tool": t, "reason": w} for s, t, w in skipped]}, indent=2))
    if cleanup:
        cleanup.cleanup()


if __name__ == "__main__":
    main()
