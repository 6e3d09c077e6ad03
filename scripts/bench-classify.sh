#!/usr/bin/env bash
# Throughput and peak memory of `stancekit classify` on a large generated file, and of
# fastText on the same texts: the native CLI (`fasttext predict-prob`, Debian package
# `fasttext`) and the Python bindings, each when available (skipped with a message otherwise).
#
#   scripts/bench-classify.sh                 # 1,000,000 rows, 1 thread
#   ROWS=200000 THREADS=2 scripts/bench-classify.sh
#   CONFIG=configs/diplomatic-bow-linear.toml scripts/bench-classify.sh   # another bow config
#
# The texts are random words (~200 characters a row), generated here; no corpus is copied.
# Every tool labels one task (stance) with one thread by default: fastText's predict is
# single-threaded, so THREADS=1 is the like-for-like comparison. Times are wall clock for the
# whole process (reading, labelling, writing), from /usr/bin/time -v. stancekit reads the CSV
# and writes every column back; the fastText CLI reads bare text lines (written beforehand,
# not timed) and writes only labels, so it does less work per row.
set -euo pipefail

ROWS=${ROWS:-1000000}
THREADS=${THREADS:-1}
WORK=${WORK:-/tmp/stancekit-bench}
cd "$(dirname "$0")/.."
BIN=./target/release/stancekit
CONFIG=${CONFIG:-configs/diplomatic-bow.toml}
MODEL=checkpoints/$(basename "$CONFIG" .toml)/model-best
mkdir -p "$WORK"
DATA="$WORK/texts-$ROWS.csv"

if [ ! -f "$DATA" ]; then
  echo "generating $ROWS rows in $DATA" >&2
  python3 - "$ROWS" "$DATA" <<'PY'
import csv, random, string, sys
rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
common = ("the minister said talks government agreed condemned invited welcomed rejected "
          "on with for and of in to a by security border trade deal summit officials").split()
made = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10)))
        for _ in range(20000)]
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "text"])
    for i in range(rows):
        words, n = [], 0
        while n < 200:
            word = rng.choice(common) if rng.random() < 0.4 else rng.choice(made)
            words.append(word)
            n += len(word) + 1
        w.writerow([i, " ".join(words).capitalize() + "."])
PY
fi

[ -x "$BIN" ] || cargo build --release
[ -f "$MODEL/manifest.json" ] || "$BIN" train -q --config "$CONFIG"

# Prints "seconds peak_rss_mb" from a /usr/bin/time -v log.
measure() {
  python3 - "$1" <<'PY'
import re, sys
log = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", log).group(1)
secs = 0.0
for part in wall.split(":"):
    secs = secs * 60 + float(part)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", log).group(1))
print(f"{secs:.2f} {rss / 1024:.0f}")
PY
}

echo "stancekit classify: $ROWS rows, $THREADS thread(s), $MODEL" >&2
/usr/bin/time -v "$BIN" classify -q -m "$MODEL" -i "$DATA" -o "$WORK/stancekit-out.csv" \
  --tasks stance --threads "$THREADS" >"$WORK/stancekit-summary.txt" 2>"$WORK/stancekit-time.txt"
read -r SK_SECS SK_RSS < <(measure "$WORK/stancekit-time.txt")
SK_RATE=$(python3 -c "print(round($ROWS / $SK_SECS))")
grep -E "rows in" "$WORK/stancekit-summary.txt"
echo "stancekit: ${SK_SECS} s, ${SK_RATE} rows/s, peak RSS ${SK_RSS} MB"

if ! python3 -c "import fasttext" 2>/dev/null; then
  pip install -q fasttext-wheel 2>/dev/null || true
fi
if ! python3 -c "import fasttext" 2>/dev/null; then
  echo "fastText: python module not available (pip install fasttext-wheel failed); skipped"
  exit 0
fi

FT_MODEL="$WORK/fasttext-stance.bin"
if [ ! -f "$FT_MODEL" ]; then
  python3 - "$FT_MODEL" <<'PY'
import csv, sys, tempfile, fasttext
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    for r in csv.DictReader(open("datasets/diplomatic/statements.csv", newline="")):
        text = " ".join(r["text"].lower().split())
        f.write(f"__label__{r['stance']} {text}\n")
m = fasttext.train_supervised(f.name, epoch=30, lr=0.5, wordNgrams=2, minn=3, maxn=5,
                              dim=64, bucket=200000, thread=1, verbose=0, seed=42)
m.save_model(sys.argv[1])
PY
fi

cat >"$WORK/fasttext-predict.py" <<'PY'
import csv, sys, fasttext
model = fasttext.load_model(sys.argv[1])
with open(sys.argv[2], newline="") as src, open(sys.argv[3], "w", newline="") as dst:
    r, w = csv.reader(src), csv.writer(dst)
    header = next(r)
    w.writerow(header + ["stance", "stance_score"])
    chunk = []
    def flush():
        labels, probs = model.predict([" ".join(row[1].split()) for row in chunk], k=1)
        for row, l, p in zip(chunk, labels, probs):
            w.writerow(row + [l[0].replace("__label__", ""), f"{p[0]:.6f}"])
        chunk.clear()
    for row in r:
        chunk.append(row)
        if len(chunk) == 10000:
            flush()
    if chunk:
        flush()
PY
ratio() { python3 -c "print(f'ratio stancekit/$1 rows/s: {$SK_RATE / $2:.2f}; peak RSS: {$SK_RSS / $3:.2f}')"; }

if command -v fasttext >/dev/null; then
  TXT="$WORK/texts-$ROWS.txt"
  [ -f "$TXT" ] || python3 - "$DATA" "$TXT" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as src, open(sys.argv[2], "w") as dst:
    r = csv.reader(src)
    next(r)
    for row in r:
        dst.write(" ".join(row[1].lower().split()) + "\n")
PY
  echo "fastText CLI predict-prob: $ROWS rows (native, single-threaded)" >&2
  /usr/bin/time -v fasttext predict-prob "$FT_MODEL" "$TXT" 1 >"$WORK/fasttext-cli-out.txt" \
    2>"$WORK/fasttext-cli-time.txt"
  read -r FC_SECS FC_RSS < <(measure "$WORK/fasttext-cli-time.txt")
  FC_RATE=$(python3 -c "print(round($ROWS / $FC_SECS))")
  echo "fastText CLI: ${FC_SECS} s, ${FC_RATE} rows/s, peak RSS ${FC_RSS} MB"
  ratio "fastText CLI" "$FC_RATE" "$FC_RSS"
else
  echo "fastText CLI: not installed (apt-get install fasttext); skipped"
fi

echo "fastText predict: $ROWS rows (python bindings, single-threaded predict)" >&2
/usr/bin/time -v python3 "$WORK/fasttext-predict.py" "$FT_MODEL" "$DATA" "$WORK/fasttext-out.csv" \
  2>"$WORK/fasttext-time.txt"
read -r FT_SECS FT_RSS < <(measure "$WORK/fasttext-time.txt")
FT_RATE=$(python3 -c "print(round($ROWS / $FT_SECS))")
echo "fastText:  ${FT_SECS} s, ${FT_RATE} rows/s, peak RSS ${FT_RSS} MB"
ratio "fastText Python" "$FT_RATE" "$FT_RSS"
