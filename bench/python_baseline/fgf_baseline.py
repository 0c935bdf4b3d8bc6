"""Shared code of the Python baseline: text normalisation, the jieba
tokenizer the TF-IDF features are built from, paragraph splitting with
offsets, the label decision rule, and the variants a model can be run as.

train.py, server.py and inprocess.py all import this module. model.pkl
refers to `fgf_baseline.tokenize` by name (pickle stores functions by
reference), so this file must be importable wherever the model is loaded.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path
from typing import NamedTuple

import jieba
import numpy as np
import scipy.sparse
from scipy.special import expit

HERE = Path(__file__).resolve().parent
# The repository root (bench/python_baseline/../..).
ROOT = HERE.parent.parent
MODEL_PATH = HERE / "model.pkl"
MODEL_VERSION = "python-baseline"
# Same default as the Rust server's --max-doc-bytes.
DEFAULT_MAX_DOC_BYTES = 4 * 1024 * 1024

# jieba logs its dictionary loading at DEBUG/INFO; keep stdout and stderr quiet.
jieba.setLogLevel(logging.WARNING)

# How a model.pkl can be run (Model.load(variant=...), --variant in server.py
# and inprocess.py). The trained model is the same for all of them: only the
# word cut and the scoring code change, not the features or the weights.
#
#   jieba           as trained and committed: pure-Python jieba,
#                   OneVsRestClassifier.predict_proba (22 separate models)
#   rjieba          rjieba (the jieba-rs binding on PyPI) cuts the words
#   rjieba-stacked  rjieba, and the 22 logistic regressions stacked into one
#                   weight matrix: sigmoid(X @ W + b), one sparse-dense product
#   jieba-stacked   pure-Python jieba with the stacked scoring (separates the
#                   two changes)
VARIANTS = ("jieba", "rjieba", "rjieba-stacked", "jieba-stacked")
DEFAULT_VARIANT = "jieba"


# ---------------------------------------------------------------------------
# Normalisation (a subset of the Rust model's src/normalize.rs)
# ---------------------------------------------------------------------------


def _normalisation_table() -> dict[int, str]:
    """Char-for-char mapping as in Rust's `normalize_char`: full-width ASCII
    variants (U+FF01..U+FF5E) to ASCII, ideographic space and NBSP to a plain
    space, ASCII letters to lowercase. Every char maps to exactly one char,
    so offsets in the normalised text are offsets in the original."""
    table: dict[int, str] = {}
    for u in range(0xFF01, 0xFF5F):
        table[u] = chr(u - 0xFF01 + 0x21).lower()
    table[0x3000] = " "
    table[0x00A0] = " "
    for u in range(ord("A"), ord("Z") + 1):
        table[u] = chr(u).lower()
    return table


NORMALISE = _normalisation_table()


def normalise(text: str) -> str:
    """What jieba and the features see. Same length as `text`."""
    return text.translate(NORMALISE)


# Chars of a token that is just a number ("86", "3.5%", "1,000"): folded to
# "#" as the Rust model does, so that numbers do not fragment the vocabulary.
_NUMBER_CHARS = frozenset("0123456789.%,")


# The word cut behind `tokenize` and `cut_spans`, chosen by use_segmenter()
# when a model is loaded (pure-Python jieba until then, as train.py uses it).
# The pickled vectorizer calls `fgf_baseline.tokenize` by name, so changing
# these changes the cut it sees without retraining.
_cut = jieba.cut  # str -> iterable of words (HMM on)
_cut_spans = jieba.tokenize  # str -> iterable of (word, char_start, char_end)


def tokenize(text: str) -> list[str]:
    """Feature words of `text` (the TfidfVectorizer tokenizer).

    As in Rust's `Tokenizer::feature_words`: jieba (HMM on) over the
    normalised text, tokens without any letter or digit (punctuation,
    whitespace) dropped, number tokens folded to "#". TfidfVectorizer then
    adds the word bigrams ("a b") with ngram_range=(1, 2). Which jieba cuts
    (Python's or jieba-rs through rjieba) is set by use_segmenter(); the
    normalisation and the filtering here are the same for both.
    """
    words = []
    for w in _cut(normalise(text)):
        if not any(c.isalnum() for c in w):
            continue
        if all(c in _NUMBER_CHARS for c in w):
            w = "#"
        words.append(w)
    return words


# ---------------------------------------------------------------------------
# Domain dictionary
# ---------------------------------------------------------------------------


def read_domain_dict(path: Path) -> list[tuple[str, int]]:
    """`WORD FREQ [TAG]` lines, `#` comments. Words are normalised like the
    text jieba will see (as the Rust loader does)."""
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 2:
            raise ValueError(f"{path}:{n}: {fields[0]!r} has no frequency")
        entries.append((normalise(fields[0]), int(fields[1])))
    return entries


def install_domain_dict(entries: list[tuple[str, int]]) -> None:
    """Loads jieba's main dictionary now (rather than on the first cut) and
    adds the domain words with their frequencies."""
    jieba.initialize()
    for word, freq in entries:
        jieba.add_word(word, freq)


# Segmenters that already have the domain words. Python jieba's add_word adds
# the frequency to its total again on every call, so adding the words twice
# (two Model.load calls in one process) would shift the cut slightly.
_installed: set[str] = set()


def use_segmenter(name: str, entries: list[tuple[str, int]]) -> None:
    """Makes `tokenize` and `cut_spans` cut with `name` ("jieba" or
    "rjieba"), with the domain words added to its dictionary.

    rjieba 0.2.2 (jieba-rs 0.11.0 inside, the version the Rust server uses)
    ships jieba's main dictionary and HMM model and has add_word(word, freq,
    tag), so the domain dictionary goes in the same way. It is imported only
    here: importing it builds its dictionary, which the jieba variant should
    not pay for at start-up.
    """
    global _cut, _cut_spans
    if name == "jieba":
        if name not in _installed:
            install_domain_dict(entries)
        _cut, _cut_spans = jieba.cut, jieba.tokenize
    elif name == "rjieba":
        import rjieba

        if name not in _installed:
            for word, freq in entries:
                rjieba.add_word(word, freq, None)
        _cut, _cut_spans = rjieba.cut, rjieba.tokenize
    else:
        raise ValueError(f"unknown segmenter {name!r}; use jieba or rjieba")
    _installed.add(name)


def cut_spans(text: str) -> list[tuple[str, int, int]]:
    """(word, char_start, char_end) of every token of `text`, whitespace and
    punctuation included, from the segmenter use_segmenter() chose."""
    return list(_cut_spans(text))


# ---------------------------------------------------------------------------
# Paragraphs and offsets
# ---------------------------------------------------------------------------


class Paragraph(NamedTuple):
    start: int  # UTF-8 byte offset into the original text
    end: int
    char_start: int  # code point offset into the original text
    char_end: int
    text: str


class ByteOffsets:
    """UTF-8 byte offsets of increasing code point offsets into `text`,
    counted incrementally (cheap when asked in order)."""

    def __init__(self, text: str):
        self._text = text
        self._ascii = text.isascii()
        self._char = 0
        self._byte = 0

    def at(self, char: int) -> int:
        if self._ascii:
            return char
        if char < self._char:
            self._char = self._byte = 0
        self._byte += len(self._text[self._char : char].encode("utf-8"))
        self._char = char
        return self._byte


# A line: a maximal run of chars other than \r and \n (so \n, \r\n and \r all
# end lines, and the empty "lines" between \r and \n never match).
_LINE = re.compile(r"[^\r\n]+")


def split_paragraphs(text: str) -> list[Paragraph]:
    """One paragraph per non-empty line, surrounding whitespace stripped,
    with byte and char offsets into `text`. (The Rust server's default
    LINE_MODE_REFLOW also rejoins hard-wrapped lines; the baseline does not.)"""
    out = []
    bytes_at = ByteOffsets(text)
    for m in _LINE.finditer(text):
        line = m.group()
        stripped = line.strip()
        if not stripped:
            continue
        cs = m.start() + (len(line) - len(line.lstrip()))
        ce = cs + len(stripped)
        out.append(Paragraph(bytes_at.at(cs), bytes_at.at(ce), cs, ce, stripped))
    return out


# ---------------------------------------------------------------------------
# The trained model
# ---------------------------------------------------------------------------


class StackedLogistic:
    """The fitted OneVsRestClassifier(LogisticRegression) as one linear layer:
    the positive-class probabilities of all labels as sigmoid(X @ W + b), one
    sparse-dense product, instead of predict_proba's 22 estimator calls (each
    with its own input validation, product and two-column output).

    LogisticRegression.predict_proba on a binary problem is
    expit(X @ coef_.T + intercept_) in its positive column, so this equals
    OneVsRestClassifier.predict_proba up to rounding (check_variants.py checks
    1e-9). W stays float64 for that; float32 would halve its size (8000 x 22
    here, 1.4 MB) at the cost of about 1e-7 in the scores.
    """

    def __init__(self, classifier):
        # A multi-class (not multi-label) OneVsRestClassifier normalises each
        # row of predict_proba to sum 1; the baseline is always multi-label.
        if not getattr(classifier, "multilabel_", False):
            raise ValueError("stacked scoring needs a multi-label OneVsRestClassifier")
        n_features = classifier.n_features_in_
        n_labels = len(classifier.estimators_)
        self.W = np.zeros((n_features, n_labels), dtype=np.float64)  # C order: rows of X add rows of W
        self.b = np.zeros(n_labels, dtype=np.float64)
        # Labels that were all 0 or all 1 in training get sklearn's
        # _ConstantPredictor instead of a regression (with a warning at fit
        # time): their column is that constant, whatever the input.
        self.constant_cols: list[int] = []
        self.constant_vals: list[float] = []
        no_features = scipy.sparse.csr_matrix((1, n_features))
        for k, est in enumerate(classifier.estimators_):
            if type(est).__name__ == "_ConstantPredictor":
                self.constant_cols.append(k)
                self.constant_vals.append(float(est.predict_proba(no_features)[0, 1]))
                continue
            if list(est.classes_) != [0, 1] or est.coef_.shape != (1, n_features):
                raise ValueError(f"estimator {k} is not a binary 0/1 linear model: {est!r}")
            self.W[:, k] = est.coef_[0]
            self.b[k] = est.intercept_[0]

    def __call__(self, x) -> np.ndarray:
        """Probabilities, one row per row of the sparse matrix `x`."""
        z = x @ self.W  # sparse (n x features) @ dense -> dense (n x labels)
        z += self.b
        p = expit(z, out=z)  # the sigmoid sklearn uses
        if self.constant_cols:
            p[:, self.constant_cols] = self.constant_vals
        return p


class Model:
    """model.pkl loaded: the fitted vectorizer and classifier plus the label
    table and the decision rule, run as one of VARIANTS.

    The segmenter is module state (the pickled vectorizer calls
    `fgf_baseline.tokenize` by name): building a Model sets it for the whole
    process, so a process runs one variant at a time.
    """

    def __init__(self, bundle: dict, variant: str = DEFAULT_VARIANT):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
        self.variant = variant
        # What Tag responses and GetModelInfo report, e.g.
        # "python-baseline+rjieba-stacked".
        self.version = f"{bundle['version']}+{variant}"
        self.bundle = bundle
        self.vectorizer = bundle["vectorizer"]
        self.classifier = bundle["classifier"]
        self.labels: list[dict] = bundle["labels"]  # pillars then themes
        self.codes = [label["code"] for label in self.labels]
        self.names = [label["name"] for label in self.labels]
        self.n_pillars: int = bundle["n_pillars"]
        self.thresholds = np.asarray(bundle["thresholds"], dtype=np.float64)
        # Column of each theme's pillar (pillar columns map to themselves).
        self.pillar_of = np.array(
            [
                i if not label["pillar"] else self.codes.index(label["pillar"])
                for i, label in enumerate(self.labels)
            ]
        )
        self.domain_words = {word for word, _ in bundle["dict_entries"]}
        segmenter, _, scoring = variant.partition("-")
        use_segmenter(segmenter, bundle["dict_entries"])
        # Built once here; None scores with predict_proba.
        self.stacked = StackedLogistic(self.classifier) if scoring == "stacked" else None

    @classmethod
    def load(cls, path: Path = MODEL_PATH, variant: str = DEFAULT_VARIANT) -> "Model":
        with open(path, "rb") as f:
            bundle = pickle.load(f)
        return cls(bundle, variant)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text, one column per label: ONE
        vectorizer.transform and ONE predict_proba (or one stacked product)
        for all the texts."""
        x = self.vectorizer.transform(texts)
        if self.stacked is not None:
            return self.stacked(x)
        return self.classifier.predict_proba(x)

    def decide(
        self, scores: np.ndarray, threshold: float = 0.0
    ) -> list[tuple[list[tuple[int, float]], list[tuple[int, float]]]]:
        """Labels per row of `scores`: (pillars, themes) as (column, score)
        lists sorted by score, highest first.

        The Rust model's rule: a theme is returned when its score reaches the
        threshold (`threshold` if > 0, else the per-label default, 0.5 here);
        a pillar is returned exactly when one of its themes is, scored as the
        larger of its own probability and its best theme's.
        """
        return decide(scores, self.n_pillars, self.pillar_of, self.thresholds, threshold)


def decide(scores, n_pillars, pillar_of, thresholds, threshold=0.0):
    """See Model.decide (a function so train.py can use it before a Model exists)."""
    thr = thresholds[n_pillars:] if threshold <= 0 else threshold
    hits = scores[:, n_pillars:] >= thr
    out = []
    for row, row_hits in zip(scores, hits):
        themes = []
        pillars: dict[int, float] = {}
        for k in np.flatnonzero(row_hits):
            j = n_pillars + int(k)
            s = float(row[j])
            themes.append((j, s))
            p = int(pillar_of[j])
            pillars[p] = max(pillars.get(p, float(row[p])), s)
        # Stable sorts on score: ties keep taxonomy order.
        themes.sort(key=lambda t: -t[1])
        out.append((sorted(pillars.items(), key=lambda t: -t[1]), themes))
    return out
