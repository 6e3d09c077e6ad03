"""The Python package against the CLI: the same labels and values on the same rows, for every
input kind; errors as typed exceptions; and Ray Data over Parquet partitions without losing,
duplicating or changing a row."""

import csv
import os
import subprocess
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import stancekit

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("STANCEKIT_BIN", str(ROOT / "target" / "release" / "stancekit"))

CLASSES = [
    ("condemnation", "negative", ["condemned", "denounced", "deplored"]),
    ("cooperation", "positive", ["agreed", "signed", "pledged"]),
    ("invitation", "positive", ["invited", "welcomed", "hosted"]),
]
ACTORS = ["Ghana", "Peru", "Japan", "Chile", "Kenya", "Oman"]

CONFIG = """
[run]
name = "tiny"
seed = 3
output_dir = "runs"
[data]
train = "tiny.csv"
dev = "tiny.csv"
group_column = "article"
[[tasks]]
name = "stance"
labels = ["condemnation", "cooperation", "invitation"]
[[tasks]]
name = "sentiment"
labels = ["negative", "positive"]
[text]
buckets = 5000
max_tokens = 16
[model]
kind = "bow"
dim = 16
[train]
epochs = 3
batch_size = 4
lr = 0.02
threads = 1
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    rows = ["article,text,stance,sentiment"]
    for c, (stance, sentiment, verbs) in enumerate(CLASSES):
        for i, actor in enumerate(ACTORS):
            rows.append(f"a{c}{i},{actor} {verbs[i % 3]} the move on day {i},{stance},{sentiment}")
    (d / "tiny.csv").write_text("\n".join(rows) + "\n")
    (d / "run.toml").write_text(CONFIG)
    summary = stancekit.train(str(d / "run.toml"), {"train.thresholds": "f1"})
    assert summary["steps"] > 0
    return d


@pytest.fixture(scope="module")
def model(run):
    return stancekit.load(str(run / "runs" / "tiny" / "model-best"))


def pool(path):
    """Texts with awkward values: an empty text, a missing one, quotes, unicode, a number id."""
    texts = [f"{a} {v} the plan, said the minister" for a in ACTORS for _, _, vs in CLASSES for v in vs]
    texts += ["", "Ghana \"condemned\" the move", "Perú firmó el acuerdo ✓"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "source"])
        for i, t in enumerate(texts):
            w.writerow([i, t, "wire" if i % 2 else "ministry"])
        w.writerow([len(texts), None, "wire"])
    return path


def cli_rows(model, inp, out, *extra):
    subprocess.run(
        [BIN, "classify", "-m", model.path, "-i", str(inp), "-o", str(out), "--probs", *extra],
        check=True,
        capture_output=True,
    )
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def same_value(cli, py):
    """A CSV cell against a Python value: text as is, numbers read back as the CSV reader would."""
    if py is None or (isinstance(py, float) and py != py):
        return cli == ""
    if isinstance(py, float):
        return float(cli) == py
    return cli == str(py)


def test_python_predictions_equal_the_cli_on_the_same_rows(run, model, tmp_path):
    inp = pool(tmp_path / "pool.csv")
    cli = cli_rows(model, inp, tmp_path / "cli.csv")
    with open(inp, newline="") as f:
        rows = list(csv.DictReader(f))
    table = pa.table({k: [r[k] or None if k == "text" else r[k] for r in rows] for k in ["id", "text", "source"]})
    # The CLI reads an empty csv field as an empty text: give Python the same.
    table = table.set_column(1, "text", pa.array([r["text"] for r in rows]))
    out = model.predict(table, probs=True)
    assert out.column_names == list(cli[0].keys())
    for i, row in enumerate(cli):
        for col, value in row.items():
            got = out.column(col)[i].as_py()
            assert same_value(value, got), (i, col, value, got)


def test_an_ensemble_loads_and_predicts_as_the_cli_does(run, tmp_path):
    out = tmp_path / "ens"
    subprocess.run(
        [BIN, "ensemble", "-q", "-c", str(run / "run.toml"), "--seeds", "1,2", "-o", str(out)],
        check=True,
        capture_output=True,
    )
    ens = stancekit.load(str(out / "model-best"))
    assert ens.manifest["model_kind"] == "ensemble"
    assert len(ens.manifest["ensemble"]["members"]) == 2
    inp = pool(tmp_path / "pool.csv")
    cli = cli_rows(ens, inp, tmp_path / "cli.csv")
    rows = pl.read_csv(inp, infer_schema_length=0).with_columns(pl.col("text").fill_null(""))
    got = ens.predict(rows, probs=True)
    assert got.columns == list(cli[0].keys())
    for i, row in enumerate(cli):
        for col, value in row.items():
            assert same_value(value, got[col][i]), (i, col, value, got[col][i])


def test_all_four_input_kinds_give_the_same_columns_and_values(model):
    texts = ["Kenya denounced the strike", "Oman hosted the talks", None, "Chile signed the pact"]
    ids = [10, 11, 12, 13]
    base = model.predict(pa.table({"id": ids, "text": texts}))
    kinds = {
        "list": model.predict(texts).to_pandas(),
        "arrow-batch": pa.Table.from_batches([model.predict(pa.record_batch({"id": ids, "text": texts}))]).to_pandas(),
        "pandas": model.predict(pd.DataFrame({"id": ids, "text": texts})),
        "polars": model.predict(pl.DataFrame({"id": ids, "text": texts})).to_pandas(),
    }
    expected = base.to_pandas()
    for kind, df in kinds.items():
        cols = [c for c in expected.columns if c != "id"]
        assert list(df.columns) == (cols if kind == "list" else list(expected.columns)), kind
        for c in cols:
            assert df[c].tolist() == expected[c].tolist() or df[c].equals(expected[c]), (kind, c)
    assert kinds["pandas"]["id"].tolist() == ids
    assert expected["status"].tolist() == ["ok", "ok", "empty_text", "ok"]
    # A slice of a table (Arrow offset != 0) labels exactly its own rows.
    sliced = model.predict(pa.table({"id": ids, "text": texts}).slice(1, 2)).to_pandas()
    assert sliced["stance"].tolist() == expected["stance"].tolist()[1:3]
    assert sliced["status"].tolist() == ["ok", "empty_text"]
    # A column with no text at all is still a text column.
    assert model.predict(pd.DataFrame({"text": [None, None]}))["status"].tolist() == ["empty_text"] * 2


def test_text_crosses_the_arrow_c_data_interface_in_every_string_layout(model):
    texts = ["Kenya denounced the strike", None, "Oman hosted the talks", ""]
    layouts = [pa.string(), pa.large_string(), pa.string_view()]
    outs = [model.predict(pa.table({"text": pa.array(texts, type=t)})).drop_columns(["text"]) for t in layouts]
    for t, out in zip(layouts[1:], outs[1:]):
        assert out.equals(outs[0]), t
    # The library hands each added column back as an Arrow PyCapsule pair, taken over once.
    cols = model._native.label_arrow(*pa.array(texts).__arrow_c_array__(), ["text"], "text")
    assert [c.name for c in cols] == outs[0].column_names
    assert pa.array(cols[0]).to_pylist() == outs[0].column(0).to_pylist()
    with pytest.raises(stancekit.StancekitError, match="already exported"):
        pa.array(cols[0])
    # A capsule of another kind is refused with a message, not read.
    schema, _ = pa.array(texts).__arrow_c_array__()
    with pytest.raises(stancekit.InputError, match="arrow_array"):
        model._native.label_arrow(schema, schema, ["text"], "text")


def test_stored_thresholds_apply_unless_turned_off_as_in_the_cli(model, tmp_path):
    assert model.manifest["model_kind"] == "bow"
    inp = pool(tmp_path / "pool.csv")
    cli = cli_rows(model, inp, tmp_path / "cli.csv", "--thresholds", "none")
    texts = [r["text"] for r in csv.DictReader(open(inp, newline=""))]
    out = model.predict(pa.table({"text": texts}), thresholds=False)
    assert out.column("stance").to_pylist() == [r["stance"] or None for r in cli]


def test_errors_are_typed_and_carry_the_cli_message(model, run, tmp_path):
    with pytest.raises(stancekit.InputError, match="missing column `body`"):
        model.predict(pd.DataFrame({"text": ["a"]}), text_column="body")
    with pytest.raises(stancekit.InputError, match="abstain_below"):
        model.predict(["a"], abstain_below=2.0)
    with pytest.raises(stancekit.InputError, match="expected text"):
        model.predict(pd.DataFrame({"text": [1, 2]}))
    with pytest.raises(stancekit.InputError, match="expected a list of strings"):
        model.predict({"text": ["a"]})
    with pytest.raises(stancekit.CheckpointError, match="manifest.json"):
        stancekit.load(str(tmp_path))
    with pytest.raises(stancekit.InputError, match="train.epochs"):
        stancekit.train(str(run / "run.toml"), {"train.epochs": -1, "run.output_dir": str(tmp_path)})
    assert issubclass(stancekit.InputError, stancekit.StancekitError)


def test_evaluate_returns_the_report_it_writes(model, run, tmp_path):
    report = stancekit.evaluate(model, str(run / "tiny.csv"), str(tmp_path / "report"), bootstrap=10)
    assert report["tasks"][0]["name"] == "stance"
    assert 0.0 <= report["tasks"][0]["metrics"]["macro_f1"] <= 1.0
    assert (tmp_path / "report" / "report.html").is_file()
    assert report["thresholds"][0]["task"] == "stance"


def test_ray_over_parquet_partitions_loses_duplicates_and_changes_no_row(model, tmp_path):
    ray = pytest.importorskip("ray")
    import stancekit.ray as skray

    src = tmp_path / "in"
    src.mkdir()
    n = 0
    for part in range(3):
        texts = [f"{a} {v} the deal in round {part}" for a in ACTORS for _, _, vs in CLASSES for v in vs]
        texts.append(None)
        ids = list(range(n, n + len(texts)))
        n += len(texts)
        pq.write_table(pa.table({"id": ids, "text": texts, "part": [part] * len(texts)}), src / f"part-{part}.parquet")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        counts = skray.classify_parquet(str(src), str(tmp_path / "out"), model.path, concurrency=2, batch_size=16)
    finally:
        ray.shutdown()
    assert counts == {"rows_in": n, "rows_out": n}
    got = pq.read_table(tmp_path / "out").to_pandas().sort_values("id").reset_index(drop=True)
    want = pd.concat([pq.read_table(p).to_pandas() for p in sorted(src.iterdir())]).reset_index(drop=True)
    assert got["id"].tolist() == list(range(n))
    assert got["text"].tolist() == want["text"].tolist()
    assert got["part"].tolist() == want["part"].tolist()
    direct = model.predict(pa.Table.from_pandas(want, preserve_index=False)).to_pandas()
    assert got["stance"].tolist() == direct["stance"].tolist()
    assert got["status"].tolist() == direct["status"].tolist()
