"""Trains the Python baseline and writes model.pkl.

    python train.py [--out model.pkl]

Data (paths relative to the repository root):
  models/corpus/train/*.jsonl  training samples, one JSON object per line:
                               {"id","text","pillars":[...],"themes":[...],"role","kind"}
  models/corpus/test/*.jsonl   frozen test split, only scored
  models/taxonomy.toml         label codes and names: pillars, then themes
  models/domain_dict.txt       jieba domain dictionary, "WORD FREQ TAG" lines

Features: TF-IDF over jieba words and word bigrams (see fgf_baseline.tokenize).
Model: one-vs-rest logistic regression over the pillar and theme columns.
Every sample is used, whatever its role: the baseline has no role rules.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

import fgf_baseline
from fgf_baseline import MODEL_VERSION, ROOT, decide, install_domain_dict, read_domain_dict

DEFAULT_THRESHOLD = 0.5


def load_taxonomy(path: Path) -> list[dict]:
    """Labels in model column order: pillars, then themes (with their pillar)."""
    with open(path, "rb") as f:
        tax = tomllib.load(f)
    labels = [{"code": p["code"], "name": p["name"], "pillar": ""} for p in tax["pillar"]]
    pillar_codes = {p["code"] for p in tax["pillar"]}
    for t in tax["theme"]:
        pillar = t["code"].split(".", 1)[0]
        if pillar not in pillar_codes:
            raise ValueError(f"theme {t['code']} has no pillar {pillar!r} in {path}")
        labels.append({"code": t["code"], "name": t["name"], "pillar": pillar})
    return labels


def load_split(folder: Path, hasher=None) -> list[dict]:
    samples = []
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no *.jsonl files in {folder}")
    for path in files:
        data = path.read_bytes()
        if hasher is not None:
            hasher.update(path.name.encode() + b"\0" + data)
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                samples.append(json.loads(line))
    return samples


def label_matrix(samples: list[dict], codes: list[str]) -> np.ndarray:
    """Multi-label 0/1 matrix: one row per sample, one column per label."""
    col = {c: i for i, c in enumerate(codes)}
    y = np.zeros((len(samples), len(codes)), dtype=np.int8)
    for r, s in enumerate(samples):
        for code in list(s.get("pillars", [])) + list(s.get("themes", [])):
            if code not in col:
                raise ValueError(f"sample {s.get('id')}: unknown label {code!r}")
            y[r, col[code]] = 1
    return y


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": tp + fn}


def evaluate(gold: np.ndarray, pred: np.ndarray, n_pillars: int) -> dict:
    """Per-label and micro/macro scores of 0/1 predictions."""
    tp = (gold & pred).sum(axis=0)
    fp = ((1 - gold) & pred).sum(axis=0)
    fn = (gold & (1 - pred)).sum(axis=0)
    per_label = [prf(int(a), int(b), int(c)) for a, b, c in zip(tp, fp, fn)]
    pil, th = slice(0, n_pillars), slice(n_pillars, None)
    themes = per_label[th]
    return {
        "labels": per_label,
        "pillar_micro": prf(int(tp[pil].sum()), int(fp[pil].sum()), int(fn[pil].sum())),
        "theme_micro": prf(int(tp[th].sum()), int(fp[th].sum()), int(fn[th].sum())),
        "theme_macro": {
            "precision": float(np.mean([m["precision"] for m in themes])),
            "recall": float(np.mean([m["recall"] for m in themes])),
            "f1": float(np.mean([m["f1"] for m in themes])),
            "support": int((tp[th] + fn[th]).sum()),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=fgf_baseline.MODEL_PATH)
    args = ap.parse_args()

    labels = load_taxonomy(ROOT / "models/taxonomy.toml")
    codes = [label["code"] for label in labels]
    n_pillars = sum(1 for label in labels if not label["pillar"])
    pillar_of = np.array([i if not l["pillar"] else codes.index(l["pillar"]) for i, l in enumerate(labels)])
    thresholds = [DEFAULT_THRESHOLD] * len(labels)

    dict_entries = read_domain_dict(ROOT / "models/domain_dict.txt")
    install_domain_dict(dict_entries)

    hasher = hashlib.sha256()
    train = load_split(ROOT / "models/corpus/train", hasher)
    test = load_split(ROOT / "models/corpus/test")
    y_train = label_matrix(train, codes)
    y_test = label_matrix(test, codes)

    t0 = time.perf_counter()
    vectorizer = TfidfVectorizer(
        tokenizer=fgf_baseline.tokenize,  # jieba words, normalised, numbers -> "#"
        token_pattern=None,  # the tokenizer does all the splitting
        lowercase=False,  # the tokenizer already lowercases ASCII
        ngram_range=(1, 2),  # words and word bigrams
        sublinear_tf=True,  # 1 + ln(tf), as in Rust
        min_df=2,
        max_features=8000,
    )
    x_train = vectorizer.fit_transform([s["text"] for s in train])
    classifier = OneVsRestClassifier(LogisticRegression(C=10, max_iter=1000))
    classifier.fit(x_train, y_train)
    train_seconds = time.perf_counter() - t0

    # Frozen test split, with the decision rule the server uses.
    scores = classifier.predict_proba(vectorizer.transform([s["text"] for s in test]))
    pred = np.zeros_like(y_test)
    for r, (pillars, themes) in enumerate(decide(scores, n_pillars, pillar_of, np.array(thresholds))):
        for j, _ in pillars + themes:
            pred[r, j] = 1
    metrics = evaluate(y_test, pred, n_pillars)

    bundle = {
        "format": 1,
        "version": MODEL_VERSION,
        "trained_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "corpus_fingerprint": hasher.hexdigest(),
        "vectorizer": vectorizer,
        "classifier": classifier,
        "labels": labels,
        "n_pillars": n_pillars,
        "thresholds": thresholds,
        "dict_entries": dict_entries,
        "train_samples": len(train),
        "test_samples": len(test),
        "train_support": [int(v) for v in y_train.sum(axis=0)],
        "test": metrics,
    }
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(bundle, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(args.out)

    tm, pm, mm = metrics["theme_micro"], metrics["pillar_micro"], metrics["theme_macro"]
    print(
        f"trained on {len(train)} samples in {train_seconds:.1f} s; "
        f"vocabulary {len(vectorizer.vocabulary_)} terms; {len(dict_entries)} dictionary terms"
    )
    print(f"test split ({len(test)} samples), threshold {DEFAULT_THRESHOLD}:")
    print(f"  themes  micro P {tm['precision']:.3f} R {tm['recall']:.3f} F1 {tm['f1']:.3f} (support {tm['support']})")
    print(f"  themes  macro F1 {mm['f1']:.3f}")
    print(f"  pillars micro P {pm['precision']:.3f} R {pm['recall']:.3f} F1 {pm['f1']:.3f} (support {pm['support']})")
    print(f"wrote {args.out}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
