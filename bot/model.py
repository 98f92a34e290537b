"""Step 4 of understanding: the learned model, fitted from the labelled examples.

Features are what a frightened texter's words share with the examples even when spelt
differently: the words, pairs of neighbouring words, and the letters in runs of 2 to 5
inside each word (so "abogdo" still shares most of "abogado"). scikit-learn fits them:
TF-IDF weights into a linear model (logistic loss, one intent against the rest). The
fitted model is then exported as a plain table, one row of weights per feature, so
reading a message is a few dictionary look-ups and one small matrix product, with no
scikit-learn on the hot path and nothing to unpickle: a cached model is a NumPy `.npz`
of numbers and strings, loaded with `allow_pickle=False`.

The same examples give the same model (a fixed seed, examples in a fixed order); its
`key` is a hash of the examples and of everything that shapes the fit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import stat
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
FEATURES_VERSION = 1  # change when features() changes: cached models then refit
CHAR_GRAMS = (2, 3, 4, 5)
# The fit's settings, part of the model's key. Chosen by leave-one-set-out measurement on
# the labelled sets (README, "Measuring understanding"); alpha is the L2 strength.
FIT = {"loss": "log_loss", "alpha": 1e-5, "max_iter": 12, "min_df": 2, "seed": 0,
       "class_weight": "balanced"}
JOBS = 2  # intents fitted two at a time: the same weights as one at a time, in half the time
WORD_CACHE = 65_536  # words whose rows are kept (texts hold anything: bounded)
_FITTED: dict[str, Model] = {}  # this process's models, by key: tests build many apps


def features(words: Sequence[str]) -> list[str]:
    """'la migra' -> w:la w:migra b:la_migra ' l' 'la' 'a ' ' la' ... 'gra '."""
    out = [f"w:{w}" for w in words]
    out.extend(f"b:{a}_{b}" for a, b in zip(words, words[1:]))
    for word in words:
        padded = f" {word} "
        size = len(padded)
        for n in CHAR_GRAMS:
            out.extend(padded[i:i + n] for i in range(size - n + 1))
    return out


def _analyse(document: str) -> list[str]:
    return features(document.split())


class Model:
    """A fitted model as a table: feature -> row of weights, one column per intent."""

    def __init__(self, intents: Sequence[str], vocabulary: Sequence[str], idf: np.ndarray,
                 weights: np.ndarray, bias: np.ndarray, key: str):
        self.intents = tuple(intents)
        self.index = {feature: i for i, feature in enumerate(vocabulary)}
        self.idf, self.weights, self.bias, self.key = idf, weights, bias, key
        self._word_rows = functools.lru_cache(maxsize=WORD_CACHE)(self._word_rows_now)

    # -- reading a message ---------------------------------------------------------------
    def rows(self, words: Sequence[str]) -> list[int]:
        """The table rows of the message's features (a feature the examples never had
        has none): each word's own rows are worked out once and kept."""
        out: list[int] = []
        for word in words:
            out.extend(self._word_rows(word))
        index = self.index
        for a, b in zip(words, words[1:]):
            row = index.get(f"b:{a}_{b}")
            if row is not None:
                out.append(row)
        return out

    def _word_rows_now(self, word: str) -> tuple[int, ...]:
        index = self.index
        return tuple(index[f] for f in features([word]) if f in index)

    def probabilities(self, words: Sequence[str]) -> np.ndarray:
        """Each intent's probability, in the order of `self.intents` (as scikit-learn's
        predict_proba for this model: a test holds them equal)."""
        rows = self.rows(words)
        if rows:
            ids, counts = np.unique(np.array(rows, dtype=np.intp), return_counts=True)
            x = (1.0 + np.log(counts)) * self.idf[ids]
            z = (x / np.sqrt(x @ x)) @ self.weights[ids] + self.bias
        else:
            z = self.bias
        p = 1.0 / (1.0 + np.exp(-z))
        return p / p.sum()

    def evidence(self, words: Sequence[str], intent: str, most: int = 6) -> list[str]:
        """The features that pushed most towards `intent`, for `classify --explain`."""
        column = self.intents.index(intent)
        found = {f for f in features(words) if f in self.index}
        ranked = sorted(found, key=lambda f: -self.weights[self.index[f], column])
        return [f for f in ranked[:most] if self.weights[self.index[f], column] > 0]

    # -- a fitted model on disk: numbers and strings, never pickles ------------------------
    def save(self, path: Path) -> None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        vocabulary = sorted(self.index, key=self.index.__getitem__)
        np.savez(tmp, intents=np.array(self.intents), vocabulary=np.array(vocabulary),
                 idf=self.idf, weights=self.weights, bias=self.bias, key=np.array(self.key))
        os.replace(tmp, path)  # whole or not at all: another worker may be reading

    @classmethod
    def load(cls, path: Path, key: str) -> Model | None:
        if not _private(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["key"]) != key:
                    return None
                return cls(data["intents"].tolist(), data["vocabulary"].tolist(),
                           data["idf"], data["weights"], data["bias"], key)
        except (OSError, ValueError, KeyError):
            return None  # unreadable or from another version: fit again


def _private(path: Path) -> bool:
    """A cached model is read only from a file, and a folder, that this user owns and no
    one else can write: anyone who can write the model can choose the bot's answers."""
    try:
        for p in (path.parent, path):
            st = p.lstat()
            if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) \
                    or stat.S_ISLNK(st.st_mode):
                return False
    except OSError:
        return False
    return True


def key_of(texts: Sequence[str], labels: Sequence[str]) -> str:
    """The examples' hash, with all that shapes the fit (scikit-learn's version too)."""
    h = hashlib.sha256(json.dumps(
        [FEATURES_VERSION, FIT, CHAR_GRAMS, version("scikit-learn"), list(texts),
         list(labels)],
        ensure_ascii=False).encode())
    return h.hexdigest()


def fit(texts: Sequence[str], labels: Sequence[str]) -> Model:
    """Fit on normalised texts ("la migra esta aqui") and their intents."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    vectorizer = TfidfVectorizer(analyzer=_analyse, sublinear_tf=True, min_df=FIT["min_df"])
    x = vectorizer.fit_transform(texts)
    classifier = SGDClassifier(loss=FIT["loss"], alpha=FIT["alpha"], max_iter=FIT["max_iter"],
                               tol=None, random_state=FIT["seed"],
                               class_weight=FIT["class_weight"], n_jobs=JOBS)
    classifier.fit(x, labels)
    return Model(classifier.classes_.tolist(), vectorizer.get_feature_names_out().tolist(),
                 vectorizer.idf_.astype(np.float64), classifier.coef_.T.copy(),
                 classifier.intercept_.copy(), key_of(texts, labels))


def fitted(texts: Sequence[str], labels: Sequence[str], cache: Path | None = None) -> Model:
    """The model for these examples: this process's copy, else a cached file keyed by the
    examples' hash (only from a private folder), else a new fit (about a second)."""
    key = key_of(texts, labels)
    if key in _FITTED:
        return _FITTED[key]
    path = cache / f"model-{key[:16]}.npz" if cache else None
    model = Model.load(path, key) if path and path.exists() else None
    if model is None:
        model = fit(texts, labels)
        if path:
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                if _private(path.parent):
                    model.save(path)
            except OSError as err:  # a read-only instance folder: fit again next time
                log.warning("could not cache the fitted model in %s: %s", path.parent,
                            type(err).__name__)
    _FITTED[key] = model
    return model
