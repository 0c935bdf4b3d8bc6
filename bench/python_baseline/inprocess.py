"""In-process throughput of the Python pipeline alone (no gRPC).

    python inprocess.py DOCS.jsonl [--model model.pkl] [--variant VARIANT]

DOCS.jsonl holds one {"id", "text"} object per line. For every document, as
the server does for a Tag call: split into paragraphs (with offsets), one
vectorizer.transform and one predict_proba (or stacked product) over all its
paragraphs, then the label decision (threshold 0.5, pillars follow their
themes). Building protobuf messages is left out. One process, one core.
--variant picks the segmenter and scoring as in server.py (default jieba, as
committed).

Prints one JSON object: {"variant", "docs", "bytes", "seconds", "docs_per_s",
"mb_per_s"} where bytes are the UTF-8 bytes of the texts and MB is 10^6 bytes.
The clock covers only the loop over documents: loading the model and reading
the file are outside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import fgf_baseline
from fgf_baseline import Model, split_paragraphs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("docs", type=Path, help="JSONL file of {id, text} documents")
    ap.add_argument("--model", type=Path, default=fgf_baseline.MODEL_PATH)
    ap.add_argument(
        "--variant",
        choices=fgf_baseline.VARIANTS,
        default=fgf_baseline.DEFAULT_VARIANT,
        help="segmenter and scoring (default: %(default)s, as committed)",
    )
    args = ap.parse_args()

    model = Model.load(args.model, args.variant)
    with open(args.docs, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    total_bytes = sum(len(t.encode("utf-8")) for t in texts)

    labels = 0  # consumed so that no step can be skipped
    t0 = time.perf_counter()
    for text in texts:
        paragraphs = split_paragraphs(text)
        if not paragraphs:
            continue
        scores = model.scores([p.text for p in paragraphs])
        for pillars, themes in model.decide(scores):
            labels += len(pillars) + len(themes)
    seconds = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "variant": model.variant,
                "docs": len(texts),
                "bytes": total_bytes,
                "seconds": round(seconds, 4),
                "docs_per_s": round(len(texts) / seconds, 2) if seconds else None,
                "mb_per_s": round(total_bytes / 1e6 / seconds, 4) if seconds else None,
            }
        )
    )


if __name__ == "__main__":
    main()
