"""Checks the variants of fgf_baseline.VARIANTS against the committed one.

    python check_variants.py [--model model.pkl]

1. Stacked scoring: StackedLogistic equals OneVsRestClassifier.predict_proba
   (positive-class columns) within 1e-9 on the same TF-IDF rows of the test
   and training splits, and on a small synthetic model with labels that were
   constant in training (sklearn's _ConstantPredictor).
2. Agreement on the frozen test split (models/corpus/test, one paragraph per
   sample, scored as train.py scores it): for each variant, the share of
   paragraphs whose token list and whose predicted label set (threshold 0.5,
   pillars following their themes) equal the jieba variant's, the largest
   score difference to it, and micro P/R/F1 against the gold labels as
   train.py computes them. The jieba variant must reproduce the scores stored
   in model.pkl.

Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import scipy.sparse
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

import fgf_baseline
from fgf_baseline import ROOT, VARIANTS, Model, StackedLogistic
from train import evaluate, label_matrix, load_split

TOLERANCE = 1e-9


def max_diff_to_predict_proba(model: Model, x) -> float:
    """Largest |stacked - predict_proba| over the rows of `x`."""
    stacked = StackedLogistic(model.classifier)(x)
    return float(np.abs(stacked - model.classifier.predict_proba(x)).max())


def check_constant_labels() -> float:
    """A synthetic multi-label model whose label 1 is never present and label
    2 always: OneVsRestClassifier fits _ConstantPredictor for both."""
    rng = np.random.default_rng(7)
    x = scipy.sparse.random(60, 30, density=0.2, format="csr", random_state=rng)
    y = np.zeros((60, 4), dtype=np.int8)
    y[:, 0] = rng.integers(0, 2, 60)
    y[:, 2] = 1
    y[:, 3] = (x[:, :3].sum(axis=1).A1 > 0.3).astype(np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Label not present / present in all ..."
        clf = OneVsRestClassifier(LogisticRegression()).fit(x, y)
    stacked = StackedLogistic(clf)
    assert stacked.constant_cols == [1, 2], stacked.constant_cols
    assert stacked.constant_vals == [0.0, 1.0], stacked.constant_vals
    return float(np.abs(stacked(x) - clf.predict_proba(x)).max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=fgf_baseline.MODEL_PATH)
    args = ap.parse_args()
    failed = False

    test = load_split(ROOT / "models/corpus/test")
    texts = [s["text"] for s in test]

    # 1. Stacked scoring vs predict_proba, on the committed features.
    model = Model.load(args.model, "jieba")
    n_constant = len(StackedLogistic(model.classifier).constant_cols)
    x_test = model.vectorizer.transform(texts)
    x_train = model.vectorizer.transform([s["text"] for s in load_split(ROOT / "models/corpus/train")])
    print(f"stacked vs predict_proba, max |difference| (tolerance {TOLERANCE:g}):")
    for name, diff in [
        (f"test split ({x_test.shape[0]} rows)", max_diff_to_predict_proba(model, x_test)),
        (f"train split ({x_train.shape[0]} rows)", max_diff_to_predict_proba(model, x_train)),
        ("synthetic, 2 constant labels", check_constant_labels()),
    ]:
        ok = diff <= TOLERANCE
        failed |= not ok
        print(f"  {name:<30} {diff:.3g} {'ok' if ok else 'FAILED'}")
    print(f"  (model.pkl has {n_constant} constant labels)")

    # 2. Agreement and scores per variant on the test split.
    y_test = label_matrix(test, model.codes)
    stored = model.bundle["test"]
    base_tokens = base_pred = base_scores = None
    print(f"\ntest split, {len(test)} paragraphs, threshold 0.5; agreement with the jieba variant:")
    print(
        f"  {'variant':<16} {'same tokens':>11} {'same labels':>11} {'max |dscore|':>12}"
        "   themes micro P / R / F1   pillars micro F1"
    )
    for variant in VARIANTS:
        model = Model.load(args.model, variant)
        tokens = [fgf_baseline.tokenize(t) for t in texts]
        scores = model.scores(texts)
        pred = np.zeros_like(y_test)
        for r, (pillars, themes) in enumerate(model.decide(scores)):
            for j, _ in pillars + themes:
                pred[r, j] = 1
        if base_pred is None:  # VARIANTS[0] is the committed jieba variant
            base_tokens, base_pred, base_scores = tokens, pred, scores
        metrics = evaluate(y_test, pred, model.n_pillars)
        if variant == "jieba" and metrics != stored:
            print("  jieba variant does not reproduce the test scores stored in model.pkl: FAILED")
            failed = True
        same_tokens = np.mean([a == b for a, b in zip(tokens, base_tokens)])
        same_labels = np.mean((pred == base_pred).all(axis=1))
        score_diff = np.abs(scores - base_scores).max()
        tm, pm = metrics["theme_micro"], metrics["pillar_micro"]
        print(
            f"  {variant:<16} {same_tokens:>11.4f} {same_labels:>11.4f} {score_diff:>12.3g}   "
            f"{tm['precision']:.3f} / {tm['recall']:.3f} / {tm['f1']:.4f}    {pm['f1']:.4f}"
        )

    print("FAILED" if failed else "variant checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
