"""Shared code of the Python baseline: text normalisation, the jieba
tokenizer the TF-IDF features are built from, paragraph splitting with
offsets, and the label decision rule.

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

HERE = Path(__file__).resolve().parent
# The repository root (bench/python_baseline/../..).
ROOT = HERE.parent.parent
MODEL_PATH = HERE / "model.pkl"
MODEL_VERSION = "python-baseline"
# Same default as the Rust server's --max-doc-bytes.
DEFAULT_MAX_DOC_BYTES = 4 * 1024 * 1024

# jieba logs its dictionary loading at DEBUG/INFO; keep stdout and stderr quiet.
jieba.setLogLevel(logging.WARNING)


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


def tokenize(text: str) -> list[str]:
    """Feature words of `text` (the TfidfVectorizer tokenizer).

    As in Rust's `Tokenizer::feature_words`: jieba (HMM on) over the
    normalised text, tokens without any letter or digit (punctuation,
    whitespace) dropped, number tokens folded to "#". TfidfVectorizer then
    adds the word bigrams ("a b") with ngram_range=(1, 2).
    """
    words = []
    for w in jieba.cut(normalise(text)):
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


class Model:
    """model.pkl loaded: the fitted vectorizer and classifier plus the label
    table and the decision rule."""

    def __init__(self, bundle: dict):
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

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "Model":
        with open(path, "rb") as f:
            bundle = pickle.load(f)
        install_domain_dict(bundle["dict_entries"])
        return cls(bundle)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text, one column per label: ONE
        vectorizer.transform and ONE predict_proba for all the texts."""
        return self.classifier.predict_proba(self.vectorizer.transform(texts))

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
