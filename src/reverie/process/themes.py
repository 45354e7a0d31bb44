"""Recurring-theme discovery across journal entries, episodes and clinical notes.

The method, in order (see docs/themes.md for the full write-up and the evaluation):

1. **Sentences.** Every document is cut into sentences by :func:`split_sentences`, a
   small rule-based splitter. Sentences with fewer than ``min_sentence_words`` words
   ("Slept badly.") carry too little meaning to cluster and are skipped.
2. **Embeddings.** Each distinct sentence is embedded once by an :class:`Embedder`
   (normally all-MiniLM-L6-v2, a Sentence-BERT model; Reimers & Gurevych 2019).
   Embeddings of sentences from documents with ``cacheable=True`` may be read from and
   written to an optional caller-supplied cache; the others are computed in memory
   and dropped when the call returns.
3. **Theme space.** Each sentence vector is mixed half and half with its document's
   mean vector (``sentence_weight``), after centring the client's writing and the
   therapist's notes each on its own mean (see :func:`_theme_space`): without this the
   strongest similarity between two sentences is often who wrote them, not what about.
   Returned centroids are made of the raw vectors, never of these. A clustered sentence
   stays evidence only if its own (centred) vector leans towards its cluster.
4. **Clustering.** Sentences are grouped by agglomerative clustering with average
   linkage (UPGMA; Sokal & Michener 1958, University of Kansas Science Bulletin 38:
   1409-1438) on cosine distance, using ``scipy.cluster.hierarchy`` (Müllner 2011,
   "Modern hierarchical, agglomerative clustering algorithms", arXiv:1109.2378). The
   dendrogram is cut at ``distance_threshold``, so the number of themes is not fixed in
   advance: in a cluster cut at t, the average pairwise cosine distance between any two
   merged groups is at most t.
5. **Recurrence.** A cluster becomes a theme only if it holds at least
   ``min_cluster_size`` sentences taken from at least ``min_docs`` distinct documents:
   a theme must recur across entries, not merely repeat within one.
6. **Labels.** Each theme is named by its most distinctive words and two-word phrases
   under class-based TF-IDF (c-TF-IDF; Grootendorst 2022, "BERTopic: Neural topic
   modeling with a class-based TF-IDF procedure", arXiv:2203.05794), computed over the
   themes plus one pooled class of all unthemed sentences. Terms that occur in at least
   two of the theme's documents are preferred, and a term sharing a word with one
   already chosen is skipped, so labels read like "stairs, awake, backwards".

Privacy contract (tested in tests/process/test_themes.py):

* Embeddings of sentences from non-cacheable documents (process notes always are) are
  never written to the cache, never read from it, and never appear in a returned
  object. A theme's ``centroid`` is the normalised mean of its *cacheable* sentences
  only; a theme made solely of non-cacheable sentences has ``centroid=None`` and can be
  recognised again only through its ``stable_key``. (A sentence that also occurs
  verbatim in a cacheable document has the same vector there, and that copy may be
  cached.) The sentences themselves do appear
  as evidence, because they are the author's own text and the caller decides who sees
  a theme; ``Evidence.cacheable`` lets a caller filter them before storing anything.
* Process notes may be passed only when the requesting user is their author. This
  module has no notion of users, so enforcing that is the caller's duty.

This module is pure Python on numpy/scipy; it imports no Django code and no torch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from reverie.process.embeddings import STOPWORDS, Embedder

__all__ = [
    "KINDS",
    "Document",
    "EmbeddingCache",
    "Evidence",
    "ProgressCallback",
    "SeedMatch",
    "SentenceSpan",
    "Theme",
    "adjusted_rand_index",
    "discover_themes",
    "document_themes",
    "embedding_cache_key",
    "match_previous",
    "rank_by_seeds",
    "split_sentences",
]

#: The document kinds the theme finder accepts.
KINDS: tuple[str, ...] = ("journal", "episode", "progress_note", "process_note")

#: ``progress(done, total)``; see :func:`discover_themes` for the units.
ProgressCallback = Callable[[int, int], None]

#: Any mutable mapping (a dict, a cache backend adapter) from cache key to vector.
EmbeddingCache = MutableMapping[str, np.ndarray]

# How many distinct sentences are handed to the embedder per call: large enough for
# the model to batch efficiently, small enough for the progress bar to move.
_EMBED_CHUNK = 256


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Document:
    """One text to mine for themes.

    ``cacheable`` says whether embeddings of this document's sentences may be kept
    beyond the call (in the cache or in a theme centroid). Process notes must pass
    ``cacheable=False``; a ``datetime`` given as ``date`` is reduced to its date.
    """

    id: str
    kind: str
    date: dt.date
    text: str
    cacheable: bool

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Document.id must be a non-empty string, got {self.id!r}")
        if self.kind not in KINDS:
            raise ValueError(
                f"Document {self.id!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}"
            )
        if isinstance(self.date, dt.datetime):
            # Sorting mixes of date and datetime raises TypeError, so store dates only.
            object.__setattr__(self, "date", self.date.date())
        elif not isinstance(self.date, dt.date):
            raise ValueError(f"Document {self.id!r}: date must be a datetime.date")
        if not isinstance(self.text, str):
            raise ValueError(f"Document {self.id!r}: text must be a string")
        if not isinstance(self.cacheable, bool):
            raise ValueError(f"Document {self.id!r}: cacheable must be True or False")
        if self.kind == "process_note" and self.cacheable:
            raise ValueError(
                f"Document {self.id!r}: process notes are never cacheable; pass cacheable=False"
            )


class SentenceSpan(NamedTuple):
    """A sentence and its half-open character span: ``source[start:end] == text``."""

    start: int
    end: int
    text: str


# Terminal punctuation, optionally followed by closing quotes or brackets, and then
# whitespace or the end of the line.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)")
_LINE = re.compile(r"[^\n\r]+")
_LAST_WORD = re.compile(r"(\S+)$")
_ABBREVIATIONS = frozenset(
    re.findall(r"\S+", "mr mrs ms dr prof st sr jr vs etc e.g i.e cf approx no dept fig mt ca")
)
_LETTER = re.compile(r"[^\W\d_]")
_WORDS = re.compile(r"\w+(?:['\u2019]\w+)?")
_LABEL_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def split_sentences(text: str) -> list[SentenceSpan]:
    """Split ``text`` into sentences with a small, predictable rule set.

    Rules, applied in order:

    1. Line breaks always end a sentence (journal entries and free associations are
       often written one thought per line).
    2. Inside a line, a run of ``.``, ``!``, ``?`` or ``…``, optionally followed by
       closing quotes or brackets, ends a sentence when whitespace or the end of the
       line follows. Decimals ("3.5") therefore never split.
    3. A single ``.`` does not end a sentence after a one-letter word (an initial such
       as "J.") or after a common abbreviation (Dr., Mrs., e.g., etc.).
    4. Spans are trimmed of surrounding whitespace; spans without a letter are dropped.

    The rules cannot tell an initial at the end of a sentence ("plan B. Then") from one
    inside it; such sentences stay joined, which only makes one evidence line longer.

    >>> [s.text for s in split_sentences("Dr. K. was late again! I said nothing.\\nOk")]
    ['Dr. K. was late again!', 'I said nothing.', 'Ok']
    >>> split_sentences("  Price 3.5 dollars.  ")[0]
    SentenceSpan(start=2, end=20, text='Price 3.5 dollars.')
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    spans: list[SentenceSpan] = []

    def emit(start: int, end: int) -> None:
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped or not _LETTER.search(stripped):
            return
        lead = len(piece) - len(piece.lstrip())
        begin = start + lead
        spans.append(SentenceSpan(begin, begin + len(stripped), stripped))

    for line in _LINE.finditer(text):
        cursor = line.start()
        for end_match in _SENTENCE_END.finditer(text, line.start(), line.end()):
            if end_match.group() == ".":
                word = _LAST_WORD.search(text, cursor, end_match.start())
                stem = word.group(1).lower().lstrip("(\"'\u201c\u2018") if word else ""
                if (len(stem) == 1 and stem.isalpha()) or stem in _ABBREVIATIONS:
                    continue
            emit(cursor, end_match.end())
            cursor = end_match.end()
        emit(cursor, line.end())
    return spans


# ------------------------------------------------------------------------------ themes


@dataclass(frozen=True)
class Evidence:
    """One sentence supporting a theme, quoted exactly from its document."""

    document_id: str
    kind: str
    date: dt.date
    sentence: str
    start: int
    end: int
    cacheable: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "document_id": self.document_id,
            "kind": self.kind,
            "date": self.date.isoformat(),
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "cacheable": self.cacheable,
        }


@dataclass(frozen=True)
class Theme:
    """A recurring theme and everything needed to show and remember it.

    ``centroid`` is a read-only unit vector built from cacheable sentences only (or
    ``None`` when the theme has none); ``centroid_sentences`` says how many went into
    it. ``count_by_month`` maps ``"YYYY-MM"`` to the number of distinct documents of
    that month that contribute evidence. ``cohesion`` is the mean cosine similarity of
    the theme's sentences to their common mean, a number in [-1, 1].
    """

    stable_key: str
    label: str
    terms: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    representative: Evidence
    document_ids: tuple[str, ...]
    first_seen: dt.date
    last_seen: dt.date
    count_by_month: dict[str, int]
    centroid: np.ndarray | None = field(repr=False, compare=False)
    centroid_sentences: int
    cohesion: float
    embedder: str

    @property
    def includes_non_cacheable(self) -> bool:
        """Whether any evidence comes from a document whose embeddings may not be kept."""
        return any(not e.cacheable for e in self.evidence)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary; the centroid is a list of floats or ``None``."""
        return {
            "stable_key": self.stable_key,
            "label": self.label,
            "terms": list(self.terms),
            "evidence": [e.to_dict() for e in self.evidence],
            "representative": self.representative.to_dict(),
            "document_ids": list(self.document_ids),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "count_by_month": dict(self.count_by_month),
            "centroid": None if self.centroid is None else [float(x) for x in self.centroid],
            "centroid_sentences": self.centroid_sentences,
            "cohesion": self.cohesion,
            "embedder": self.embedder,
        }


def embedding_cache_key(embedder_name: str, sentence: str) -> str:
    """Cache key for one sentence's embedding under one model.

    It is a BLAKE2b digest, so a cache listing reveals neither the text nor, beyond
    equality, anything about it; the model name is mixed in so that vectors of two
    models never collide.

    >>> len(embedding_cache_key("m", "I was falling."))
    32
    """
    payload = f"{embedder_name}\x00{sentence}".encode()
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class _Sentence(NamedTuple):
    doc: Document
    span: SentenceSpan
    unique: int  # row of the distinct-text embedding matrix


def _check_positive_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return value


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 16:
        raise ValueError(f"{name} must be an integer from 0 to 16, got {value!r}")
    return value


def _check_weight(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _validated_matrix(vectors: object, rows: int, who: str) -> np.ndarray:
    """Hold an embedder to its protocol: a finite (rows, dim) matrix of unit rows."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != rows or matrix.shape[1] < 1:
        raise ValueError(f"{who}.embed returned shape {matrix.shape}, expected ({rows}, dim)")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{who}.embed returned non-finite values")
    if not np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3):
        raise ValueError(f"{who}.embed must return L2-normalised rows")
    return matrix


def _condensed_cosine_distances(x: np.ndarray, block: int = 512) -> np.ndarray:
    """Condensed upper-triangle cosine distances of unit rows, in row blocks.

    Equivalent to ``scipy.spatial.distance.pdist(x, "cosine")`` for unit rows, but uses
    BLAS matrix products and never materialises the full n-by-n matrix, which keeps
    memory at n(n-1)/2 doubles.
    """
    n = x.shape[0]
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    x64 = x.astype(np.float64)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        sims = x64[lo:hi] @ x64.T
        for i in range(lo, hi):
            offset = i * n - i * (i + 1) // 2
            out[offset : offset + n - i - 1] = 1.0 - sims[i - lo, i + 1 :]
    # Rounding can push identical vectors a hair below zero; linkage needs d >= 0.
    np.clip(out, 0.0, 2.0, out=out)
    return out


def _label_terms(sentence: str) -> list[str]:
    """Unigrams and adjacent-word bigrams of content words, as they read in the text."""
    words = _LABEL_WORD.findall(sentence.lower().replace("\u2019", "'"))
    keep = [len(w) > 2 and w not in STOPWORDS for w in words]
    terms = [w for w, k in zip(words, keep, strict=True) if k]
    for i in range(len(words) - 1):
        if keep[i] and keep[i + 1]:
            terms.append(f"{words[i]} {words[i + 1]}")
    return terms


def _c_tf_idf_labels(
    clusters: Sequence[Sequence[_Sentence]],
    rest: Sequence[_Sentence],
    n_terms: int,
) -> list[tuple[str, ...]]:
    """Top distinctive terms per cluster under c-TF-IDF (Grootendorst 2022).

    For term t and class c, ``W = tf(t, c) / |c| * log(1 + A / f(t))`` where |c| is the
    number of term occurrences in c, f(t) the occurrences of t over all classes and A
    the mean occurrences per class. The pooled unthemed sentences form one extra class
    so that words common everywhere ("felt", "work") are damped.
    """
    classes: list[Counter[str]] = []
    support: list[dict[str, set[str]]] = []
    for members in [*clusters, rest]:
        counts: Counter[str] = Counter()
        docs: dict[str, set[str]] = defaultdict(set)
        for member in members:
            for term in _label_terms(member.span.text):
                counts[term] += 1
                docs[term].add(member.doc.id)
        classes.append(counts)
        support.append(docs)
    if not rest:
        classes.pop()
        support.pop()
    totals = Counter[str]()
    for counts in classes:
        totals.update(counts)
    mean_size = sum(totals.values()) / max(1, len(classes))

    labels: list[tuple[str, ...]] = []
    for index in range(len(clusters)):
        counts, docs = classes[index], support[index]
        size = sum(counts.values()) or 1
        scores = {t: (c / size) * math.log(1.0 + mean_size / totals[t]) for t, c in counts.items()}
        recurring = [t for t in scores if len(docs[t]) >= 2]
        pool = recurring or list(scores)
        # Ties are broken alphabetically so the label is reproducible.
        ranked = sorted(pool, key=lambda t: (-scores[t], t))
        chosen: list[str] = []
        used: set[str] = set()
        for term in ranked:
            words = set(term.split())
            if words & used:
                continue
            chosen.append(term)
            used |= words
            if len(chosen) == n_terms:
                break
        labels.append(tuple(chosen))
    return labels


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _embed_texts(
    texts: Sequence[str],
    cacheable: Sequence[bool],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[int, np.ndarray]:
    """The vector of each distinct text, by index. Only texts that occur in a cacheable
    document may touch the cache; the rest are embedded afresh and live in this call only.
    ``on_progress`` hears how many texts have a vector after the cache and each chunk."""
    rows: dict[int, np.ndarray] = {}
    missing: list[int] = []
    for row, text in enumerate(texts):
        hit = None
        if cache is not None and cacheable[row]:
            hit = cache.get(embedding_cache_key(embedder.name, text))
        if hit is not None:
            rows[row] = np.asarray(hit, dtype=np.float32)
        else:
            missing.append(row)
    if on_progress is not None:
        on_progress(len(rows))
    # Embedding chunks of similar length wastes less padding inside the model's batches;
    # the index breaks ties so the order, and hence every float, is reproducible.
    missing.sort(key=lambda r: (len(texts[r]), r))
    for lo in range(0, len(missing), _EMBED_CHUNK):
        chunk = missing[lo : lo + _EMBED_CHUNK]
        vectors = _validated_matrix(
            embedder.embed([texts[r] for r in chunk]), len(chunk), type(embedder).__name__
        )
        for offset, row in enumerate(chunk):
            rows[row] = vectors[offset]
            if cache is not None and cacheable[row]:
                stored = vectors[offset].copy()
                stored.setflags(write=False)
                cache[embedding_cache_key(embedder.name, texts[row])] = stored
        if on_progress is not None:
            on_progress(len(rows))
    return rows


#: Whose voice each kind of document is in. A client's journal and the episodes she tells
#: are first-person narrative; progress and process notes are the therapist's third-person
#: prose. :func:`_theme_space` centres each voice on its own mean.
VOICE: dict[str, str] = {
    "journal": "client",
    "episode": "client",
    "progress_note": "therapist",
    "process_note": "therapist",
}
#: Pseudo-count of the centring means: a mean of n sentences is shrunk by n / (n + this)
#: (a voice's mean towards the common mean); see :func:`_theme_space`.
CENTRING_PRIOR = 10
#: Leading principal directions removed after centring (0: none); see :func:`_theme_space`.
COMMON_COMPONENTS = 0
#: Share of a sentence's own vector (the rest is its document's) in the vectors that
#: :func:`discover_themes` clusters; chosen on the dev half of theme_eval.json.
THEME_SENTENCE_WEIGHT = 1.0


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.asarray(x / np.where(norms == 0.0, 1.0, norms))


def _theme_space(
    x: np.ndarray,
    groups: Sequence[Hashable],
    reference: Sequence[int],
    components: int,
    voices: Sequence[Hashable] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence and document-context vectors with what the sentences share removed.

    ``x`` holds unit sentence vectors, ``groups[i]`` names the document of row i, and
    ``reference`` lists the rows whose statistics are used. Each document's context is
    the normalised mean of its rows. Both kinds of vector are then centred and
    re-normalised: embedding spaces are anisotropic (every sentence of one writer shares
    a large common direction; Ethayarajh 2019, "How Contextual are Contextualized Word
    Representations?", EMNLP), and removing the common mean lets the theme's own
    direction count (the first step of Mu & Viswanath 2018, "All-but-the-Top", ICLR).

    With ``voices`` (``voices[i]`` says who wrote row i; see :data:`VOICE`) each voice is
    centred on the mean of its own reference rows, so that a therapist's third-person
    notes and a client's first-person journal about the same thing meet, instead of
    every note resembling every other note more than the journal entry on its theme. A
    voice without reference rows is centred on the mean of all of them.

    Every mean is shrunk towards zero (the common mean) or towards the common mean (a
    voice's mean) as if :data:`CENTRING_PRIOR` further sentences sat there: a record of
    a handful of sentences, or a voice with only a few, would otherwise have its one
    topic subtracted away. With hundreds of sentences the shrinkage is negligible.

    ``components`` > 0 also removes that many leading principal directions of the
    centred, normalised reference rows (the second step of Mu & Viswanath); it is skipped
    when there are fewer than ``4 * (components + 1)`` reference rows. Returns
    ``(sentences, contexts)``, unit rows (a zero row stays zero).
    """
    by_group: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    context = np.empty_like(x)
    for positions in by_group.values():
        context[positions] = _unit_rows(x[positions].mean(axis=0))
    rows = list(reference)
    prior = CENTRING_PRIOR
    common = x[rows].sum(axis=0) / (len(rows) + prior) if rows else np.zeros(x.shape[1])
    means = np.broadcast_to(common, x.shape).copy()
    if voices is not None:
        by_voice: dict[Hashable, list[int]] = defaultdict(list)
        for i, voice in enumerate(voices):
            by_voice[voice].append(i)
        for voice, positions in by_voice.items():
            own = [i for i in rows if voices[i] == voice]
            means[positions] = (x[own].sum(axis=0) + prior * common) / (len(own) + prior)
    xs = x - means
    cs = context - means
    if components > 0 and len(rows) >= 4 * (components + 1):
        centred = _unit_rows(xs[rows])
        # The leading eigenvectors of the d-by-d second-moment matrix are the leading
        # right singular vectors of the centred rows; d is small (384), n may be large.
        _, vectors = np.linalg.eigh(centred.T @ centred)
        top = vectors[:, ::-1][:, :components]
        xs = xs - (xs @ top) @ top.T
        cs = cs - (cs @ top) @ top.T
    return _unit_rows(xs), _unit_rows(cs)


def discover_themes(
    documents: Sequence[Document],
    embedder: Embedder,
    *,
    min_cluster_size: int = 3,
    min_docs: int = 2,
    distance_threshold: float | None = None,
    min_sentence_words: int = 3,
    label_terms: int = 3,
    cache: EmbeddingCache | None = None,
    progress: ProgressCallback | None = None,
    max_sentences: int = 12_000,
    sentence_weight: float = THEME_SENTENCE_WEIGHT,
    components: int = COMMON_COMPONENTS,
    by_voice: bool = True,
) -> list[Theme]:
    """Find themes that recur across ``documents``; the method is in the module docstring.

    Parameters:
        documents: the texts; ids must be unique.
        embedder: any :class:`Embedder`; its ``name`` is recorded on each theme.
        min_cluster_size: fewest sentences a theme may have (at least 2).
        min_docs: fewest distinct documents a theme must span (at least 2).
        distance_threshold: cosine distance in (0, 2) at which the average-linkage tree
            is cut; ``None`` uses ``embedder.suggested_distance_threshold``.
        min_sentence_words: sentences with fewer words are not clustered.
        label_terms: how many terms make up a label.
        cache: optional mapping for embeddings of cacheable sentences only, keyed by
            :func:`embedding_cache_key`.
        progress: optional ``progress(done, total)``. ``total`` is the number of
            distinct sentences plus 2: ``done`` first reports the cache hits, rises as
            chunks are embedded, gains 1 when the tree is built and reaches ``total``
            when the themes are assembled. An exception raised by the callback aborts
            the run, which is how a caller cancels.
        max_sentences: guard against quadratic memory (n(n-1)/2 distances).
        sentence_weight: share of each sentence's own vector in what is clustered; the
            rest is its document's mean vector (1.0 clusters sentences alone).
        components: leading principal directions removed after centring (0 only
            centres); see :func:`_theme_space`.
        by_voice: centre the client's writing and the therapist's notes each on its own
            mean (:data:`VOICE`) rather than on one common mean.

    Returns themes ordered by the number of documents (most first), then first seen.

    >>> from reverie.process.embeddings import HashingEmbedder
    >>> day = dt.date(2025, 1, 6)
    >>> docs = [
    ...     Document(f"d{i}", "journal", day + dt.timedelta(days=7 * i), text, True)
    ...     for i, text in enumerate([
    ...         "I dreamt I was falling from a tower. Work was fine.",
    ...         "Again I was falling from a tower in my dream.",
    ...         "That dream of falling from a tower came back.",
    ...     ])
    ... ]
    >>> [t.label for t in discover_themes(docs, HashingEmbedder())]
    ['falling, tower, dream']
    """
    docs = list(documents)
    for index, doc in enumerate(docs):
        if not isinstance(doc, Document):
            raise ValueError(f"documents[{index}] is not a Document")
    seen_ids: set[str] = set()
    for doc in docs:
        if doc.id in seen_ids:
            raise ValueError(f"duplicate document id {doc.id!r}")
        seen_ids.add(doc.id)
    if not callable(getattr(embedder, "embed", None)) or not isinstance(
        getattr(embedder, "name", None), str
    ):
        raise ValueError("embedder must provide a string 'name' and an 'embed' method")
    _check_positive_int("min_cluster_size", min_cluster_size, 2)
    _check_positive_int("min_docs", min_docs, 2)
    _check_positive_int("min_sentence_words", min_sentence_words, 1)
    _check_positive_int("label_terms", label_terms, 1)
    _check_positive_int("max_sentences", max_sentences, 2)
    _check_weight("sentence_weight", sentence_weight)
    _check_count("components", components)
    if distance_threshold is None:
        distance_threshold = float(getattr(embedder, "suggested_distance_threshold", 0.7))
    if (
        isinstance(distance_threshold, bool)
        or not isinstance(distance_threshold, int | float)
        or not 0.0 < distance_threshold < 2.0
    ):
        raise ValueError(f"distance_threshold must be in (0, 2), got {distance_threshold!r}")
    if progress is not None and not callable(progress):
        raise ValueError("progress must be a callable taking (done, total)")

    # 1. Sentences, in a fixed order (date, id, position) so results are reproducible.
    docs.sort(key=lambda d: (d.date, d.id))
    texts: list[str] = []
    text_index: dict[str, int] = {}
    text_cacheable: list[bool] = []
    sentences: list[_Sentence] = []
    for doc in docs:
        for span in split_sentences(doc.text):
            if len(_WORDS.findall(span.text)) < min_sentence_words:
                continue
            row = text_index.get(span.text)
            if row is None:
                row = text_index[span.text] = len(texts)
                texts.append(span.text)
                text_cacheable.append(False)
            text_cacheable[row] = text_cacheable[row] or doc.cacheable
            sentences.append(_Sentence(doc, span, row))
    if len(sentences) > max_sentences:
        raise ValueError(
            f"{len(sentences)} sentences exceed max_sentences={max_sentences}; "
            "narrow the date range or raise the limit knowingly (memory grows as n²)"
        )

    # 2. Embeddings of distinct texts (cacheable ones through the cache).
    total = len(texts) + 2
    rows = _embed_texts(
        texts, text_cacheable, embedder, cache, lambda done: _report(progress, done, total)
    )

    if len(sentences) < min_cluster_size:
        _report(progress, total, total)
        return []
    unique = _validated_matrix(
        np.stack([rows[r] for r in range(len(texts))]), len(texts), type(embedder).__name__
    )
    x = unique[[s.unique for s in sentences]]

    # 3. What is clustered: each sentence mixed with its document's mean, after removing
    #    what all of this record's sentences share (the returned centroids stay raw).
    own, around = _theme_space(
        x.astype(np.float64),
        [s.doc.id for s in sentences],
        range(len(sentences)),
        components,
        [VOICE[s.doc.kind] for s in sentences] if by_voice else None,
    )
    space = _unit_rows(sentence_weight * own + (1.0 - sentence_weight) * around)
    # 4. Average-linkage clustering on cosine distance, cut at the threshold.
    tree = linkage(_condensed_cosine_distances(space), method="average")
    assignment = fcluster(tree, t=float(distance_threshold), criterion="distance")
    _report(progress, total - 1, total)

    # 5. Keep clusters that recur across enough documents. A sentence joined its cluster
    #    partly through its entry; it stays evidence only if, on its own, it leans towards
    #    the cluster (positive cosine to the mean of the members' own vectors), so an
    #    aside about the weather in an entry on the theme is not quoted as evidence.
    members: dict[int, list[int]] = defaultdict(list)
    for position, cluster_id in enumerate(assignment):
        members[int(cluster_id)].append(position)
    kept: list[list[int]] = []
    for cluster_id in sorted(members):
        positions = members[cluster_id]
        if sentence_weight < 1.0 and len(positions) > 1:
            leaning = own[positions] @ own[positions].mean(axis=0)
            positions = [p for p, lean in zip(positions, leaning, strict=True) if lean > 0.0]
        distinct = {sentences[p].doc.id for p in positions}
        if len(positions) >= min_cluster_size and len(distinct) >= min_docs:
            kept.append(positions)
    kept_set = {p for positions in kept for p in positions}
    rest = [sentences[p] for p in range(len(sentences)) if p not in kept_set]

    # 6. Labels and theme records.
    labels = _c_tf_idf_labels([[sentences[p] for p in ps] for ps in kept], rest, label_terms)
    themes = [
        _build_theme(positions, sentences, x, terms, embedder.name)
        for positions, terms in zip(kept, labels, strict=True)
    ]
    themes.sort(key=lambda t: (-len(t.document_ids), t.first_seen, t.stable_key))
    _report(progress, total, total)
    return themes


def _build_theme(
    positions: Sequence[int],
    sentences: Sequence[_Sentence],
    x: np.ndarray,
    terms: tuple[str, ...],
    embedder_name: str,
) -> Theme:
    """Assemble one :class:`Theme`; the only vector it keeps is the cacheable centroid."""
    ordered = sorted(positions, key=lambda p: (sentences[p].doc.date, sentences[p].doc.id, p))
    evidence = tuple(
        Evidence(
            document_id=sentences[p].doc.id,
            kind=sentences[p].doc.kind,
            date=sentences[p].doc.date,
            sentence=sentences[p].span.text,
            start=sentences[p].span.start,
            end=sentences[p].span.end,
            cacheable=sentences[p].doc.cacheable,
        )
        for p in ordered
    )
    vectors = x[ordered].astype(np.float64)
    mean = vectors.mean(axis=0)
    mean /= np.linalg.norm(mean) or 1.0
    similarity = vectors @ mean
    central = int(np.argmax(similarity))

    # The centroid must not carry non-cacheable embeddings, so it averages only the
    # cacheable rows; with none left the theme keeps no vector at all.
    cacheable_rows = [i for i, e in enumerate(evidence) if e.cacheable]
    centroid: np.ndarray | None = None
    if cacheable_rows:
        summed = vectors[cacheable_rows].mean(axis=0)
        norm = float(np.linalg.norm(summed))
        if norm > 0.0:
            centroid = (summed / norm).astype(np.float32)
            centroid.setflags(write=False)

    doc_ids: list[str] = []
    months: Counter[str] = Counter()
    for e in evidence:
        if e.document_id not in doc_ids:
            doc_ids.append(e.document_id)
            months[f"{e.date:%Y-%m}"] += 1
    first = evidence[0]
    key_source = f"{first.document_id}\x1f{first.start}".encode()
    stable_key = "th-" + hashlib.blake2b(key_source, digest_size=8).hexdigest()
    label = ", ".join(terms) if terms else first.sentence[:60]
    return Theme(
        stable_key=stable_key,
        label=label,
        terms=terms,
        evidence=evidence,
        representative=evidence[central],
        document_ids=tuple(doc_ids),
        first_seen=evidence[0].date,
        last_seen=max(e.date for e in evidence),
        count_by_month=dict(sorted(months.items())),
        centroid=centroid,
        centroid_sentences=len(cacheable_rows) if centroid is not None else 0,
        cohesion=float(similarity.mean()),
        embedder=embedder_name,
    )


# -------------------------------------------------------------------- seeded themes

#: Weights of the seeded ranking, chosen on the dev half of theme_eval.json only (seeds
#: and candidates both from dev; bench/eval_themes.py --tune-seeded reprints the grid).
SEED_SENTENCE_WEIGHT = 0.2
SEED_CONTEXT_WEIGHT = 1.0
#: Pseudo-relevance feedback of the seeded ranking (Rocchio 1971): the weight of the
#: centroid of the ``SEED_FEEDBACK_COUNT`` best first-pass matches added to the query
#: (0 turns it off). The best cell of a 4 x 6 grid on the dev half, for MiniLM and for
#: the hashing baseline alike (bench/eval_themes.py --tune-feedback).
SEED_FEEDBACK_WEIGHT = 1.0
SEED_FEEDBACK_COUNT = 3


@dataclass(frozen=True)
class SeedMatch:
    """One sentence ranked by its likeness to a seeded theme, with the evidence for it.

    ``score`` is what the ranking sorts by; ``sentence_similarity`` is the sentence's own
    cosine to the theme (after centring) and ``context_similarity`` that of the mean of
    its document's sentences, so a reader can see whether the sentence or its
    surroundings carried the match.
    """

    evidence: Evidence
    score: float
    sentence_similarity: float
    context_similarity: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "evidence": self.evidence.to_dict(),
            "score": self.score,
            "sentence_similarity": self.sentence_similarity,
            "context_similarity": self.context_similarity,
        }


def rank_by_seeds(
    documents: Sequence[Document],
    seeds: Sequence[tuple[str, int, int]],
    embedder: Embedder,
    *,
    exclude: Sequence[tuple[str, int, int]] = (),
    limit: int = 10,
    min_sentence_words: int = 4,
    sentence_weight: float = SEED_SENTENCE_WEIGHT,
    context_weight: float = SEED_CONTEXT_WEIGHT,
    feedback_weight: float = SEED_FEEDBACK_WEIGHT,
    feedback_count: int = SEED_FEEDBACK_COUNT,
    components: int = COMMON_COMPONENTS,
    by_voice: bool = True,
    cache: EmbeddingCache | None = None,
) -> list[SeedMatch]:
    """Rank the sentences of ``documents`` by their likeness to a few seed sentences.

    The therapist marks a few sentences as one theme; each seed is given as
    ``(document_id, start, end)`` and must be a sentence :func:`split_sentences` finds in
    that document (seeds that are not, for example because the document changed or is
    no longer shared, are ignored). Every other sentence with at least
    ``min_sentence_words`` words, except those in ``exclude`` (already accepted or
    rejected), is a candidate.

    Method. All vectors are first centred and re-normalised (:func:`_theme_space`):
    sentence-embedding spaces are anisotropic (every sentence of one writer shares a
    large common direction; Ethayarajh 2019, "How Contextual are Contextualized Word
    Representations?", EMNLP), and removing the common mean lets the theme's own
    direction dominate (the first step of the "all-but-the-top" post-processing of Mu &
    Viswanath 2018, ICLR). With ``by_voice`` (the default) the client's writing and the
    therapist's notes are each centred on the mean of their own candidate sentences, so
    that a note and a journal entry about the same thing are not kept apart by who wrote
    them. The query is the mean of the centred seed vectors plus ``context_weight``
    times the mean of the seeds' document vectors (each the normalised mean of that
    document's sentence vectors), a Rocchio
    style expansion of the query by the seeds' surroundings (Rocchio 1971, "Relevance
    feedback in information retrieval", The SMART Retrieval System). A candidate scores
    ``sentence_weight`` times its own cosine to the query plus ``1 - sentence_weight``
    times its document's cosine: a sentence that belongs to an entry about the theme
    ranks above an isolated look-alike. With ``feedback_weight`` > 0 the ranking is then
    done once more with a widened query (pseudo-relevance feedback: Rocchio 1971; Manning,
    Raghavan & Schütze 2008, "Introduction to Information Retrieval", ch. 9): the
    ``feedback_count`` best first-pass candidates are combined as the seeds were (mean of
    their sentence vectors plus ``context_weight`` times the mean of their documents'),
    normalised, and added to the normalised query with weight ``feedback_weight``. In
    plain words: sentences like the therapist's examples, and like the closest matches to
    them. ``feedback_weight=0`` gives the first-pass ranking unchanged. The returned
    scores and similarities are those of the final query. The weights were chosen on the
    development half of the evaluation set only (bench/eval_themes.py); precision at 10
    on the held-out half is reported in bench/RESULTS.md.

    Embeddings of non-cacheable documents (process notes) are computed in memory and
    never touch ``cache``, as in :func:`discover_themes`. Returns at most ``limit``
    matches, best first (ties: earlier document, then earlier position).

    >>> from reverie.process.embeddings import HashingEmbedder
    >>> day = dt.date(2025, 1, 6)
    >>> docs = [
    ...     Document("a", "journal", day, "I dreamt I was falling from a tower.", True),
    ...     Document("b", "journal", day, "Again I was falling from the tower in a dream.", True),
    ...     Document("c", "journal", day, "We bought apples and pears at the market.", True),
    ... ]
    >>> [m.evidence.document_id for m in rank_by_seeds(docs, [("a", 0, 36)], HashingEmbedder())]
    ['b', 'c']
    """
    docs = list(documents)
    for index, doc in enumerate(docs):
        if not isinstance(doc, Document):
            raise ValueError(f"documents[{index}] is not a Document")
    if len({d.id for d in docs}) != len(docs):
        raise ValueError("document ids must be unique")
    if not callable(getattr(embedder, "embed", None)) or not isinstance(
        getattr(embedder, "name", None), str
    ):
        raise ValueError("embedder must provide a string 'name' and an 'embed' method")
    _check_positive_int("limit", limit, 1)
    _check_positive_int("min_sentence_words", min_sentence_words, 1)
    _check_count("components", components)
    _check_weight("sentence_weight", sentence_weight)
    _check_weight("context_weight", context_weight)
    _check_weight("feedback_weight", feedback_weight)
    _check_positive_int("feedback_count", feedback_count, 1)
    seed_keys = {(str(d), int(s), int(e)) for d, s, e in seeds}
    excluded = {(str(d), int(s), int(e)) for d, s, e in exclude} | seed_keys

    docs.sort(key=lambda d: (d.date, d.id))
    sentences: list[_Sentence] = []
    is_seed: list[bool] = []
    texts: list[str] = []
    text_index: dict[str, int] = {}
    text_cacheable: list[bool] = []
    for doc in docs:
        for span in split_sentences(doc.text):
            key = (doc.id, span.start, span.end)
            seed = key in seed_keys
            if not seed and len(_WORDS.findall(span.text)) < min_sentence_words:
                continue
            row = text_index.get(span.text)
            if row is None:
                row = text_index[span.text] = len(texts)
                texts.append(span.text)
                text_cacheable.append(False)
            text_cacheable[row] = text_cacheable[row] or doc.cacheable
            sentences.append(_Sentence(doc, span, row))
            is_seed.append(seed)
    if not any(is_seed):
        return []
    candidates = [
        i
        for i, s in enumerate(sentences)
        if not is_seed[i] and (s.doc.id, s.span.start, s.span.end) not in excluded
    ]
    if not candidates:
        return []

    vectors = _embed_texts(texts, text_cacheable, embedder, cache)
    x = np.stack([vectors[s.unique] for s in sentences]).astype(np.float64)
    xc, cc = _theme_space(
        x,
        [s.doc.id for s in sentences],
        candidates,
        components,
        [VOICE[s.doc.kind] for s in sentences] if by_voice else None,
    )
    seed_rows = [i for i, flag in enumerate(is_seed) if flag]
    query = xc[seed_rows].mean(axis=0) + context_weight * cc[seed_rows].mean(axis=0)
    query = _unit_rows(query)
    own = xc[candidates] @ query
    around = cc[candidates] @ query
    scores = sentence_weight * own + (1.0 - sentence_weight) * around
    order = sorted(range(len(candidates)), key=lambda j: (-scores[j], candidates[j]))
    if feedback_weight > 0.0:
        # Pseudo-relevance feedback: the best first-pass matches join the query, built
        # from them as the seeds' part was, then every candidate is scored again.
        top = [candidates[j] for j in order[:feedback_count]]
        closest = _unit_rows(xc[top].mean(axis=0) + context_weight * cc[top].mean(axis=0))
        query = _unit_rows(query + feedback_weight * closest)
        own = xc[candidates] @ query
        around = cc[candidates] @ query
        scores = sentence_weight * own + (1.0 - sentence_weight) * around
        order = sorted(range(len(candidates)), key=lambda j: (-scores[j], candidates[j]))
    out = []
    for j in order[:limit]:
        s = sentences[candidates[j]]
        out.append(
            SeedMatch(
                evidence=Evidence(
                    document_id=s.doc.id,
                    kind=s.doc.kind,
                    date=s.doc.date,
                    sentence=s.span.text,
                    start=s.span.start,
                    end=s.span.end,
                    cacheable=s.doc.cacheable,
                ),
                score=float(scores[j]),
                sentence_similarity=float(own[j]),
                context_similarity=float(around[j]),
            )
        )
    return out


# ------------------------------------------------------------------- across reruns


def match_previous(
    themes: Sequence[Theme],
    previous_centroids: Mapping[str, Any],
    threshold: float = 0.8,
) -> dict[str, str]:
    """Pair this run's themes with remembered ones, e.g. those a therapist dismissed.

    ``previous_centroids`` maps an earlier theme's ``stable_key`` to its stored centroid
    (any array-like of the same dimension). A theme whose own ``stable_key`` is a key of
    the mapping is matched to it outright. The remaining themes with a centroid are
    paired greedily, most similar pair first, one-to-one, when their cosine similarity
    is at least ``threshold``. Returns ``{current stable_key: previous stable_key}``.

    >>> match_previous([], {})
    {}
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(f"threshold must be a number, got {threshold!r}")
    if not -1.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (-1, 1], got {threshold!r}")
    previous: dict[str, np.ndarray] = {}
    for key, vector in previous_centroids.items():
        arr = np.asarray(vector, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"previous centroid {key!r} must be a finite 1-D vector")
        norm = float(np.linalg.norm(arr))
        if norm == 0.0:
            raise ValueError(f"previous centroid {key!r} is the zero vector")
        previous[key] = arr / norm

    matches: dict[str, str] = {}
    for theme in themes:
        if theme.stable_key in previous:
            matches[theme.stable_key] = theme.stable_key
    free_prev = [k for k in previous if k not in matches.values()]
    candidates: list[tuple[float, str, str]] = []
    for theme in themes:
        if theme.stable_key in matches or theme.centroid is None:
            continue
        current = theme.centroid.astype(np.float64)
        for key in free_prev:
            if previous[key].shape != current.shape:
                raise ValueError(
                    f"previous centroid {key!r} has dimension {previous[key].size}, "
                    f"theme centroids have {current.size}; were they made by another model?"
                )
            similarity = float(previous[key] @ current)
            if similarity >= threshold:
                candidates.append((similarity, theme.stable_key, key))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    taken: set[str] = set()
    for _, current_key, previous_key in candidates:
        if current_key in matches or previous_key in taken:
            continue
        matches[current_key] = previous_key
        taken.add(previous_key)
    return matches


def document_themes(themes: Sequence[Theme]) -> dict[str, str]:
    """Each document's dominant theme: the one citing most of its sentences.

    Ties go to the theme listed first. Documents without evidence are absent.

    >>> document_themes([])
    {}
    """
    best: dict[str, tuple[int, int, str]] = {}
    for order, theme in enumerate(themes):
        counts = Counter(e.document_id for e in theme.evidence)
        for doc_id, count in counts.items():
            current = best.get(doc_id)
            if current is None or (count, -order) > (current[0], current[1]):
                best[doc_id] = (count, -order, theme.stable_key)
    return {doc_id: value[2] for doc_id, value in best.items()}


# ---------------------------------------------------------------------- evaluation


def adjusted_rand_index(labels_true: Sequence[Hashable], labels_pred: Sequence[Hashable]) -> float:
    """Adjusted Rand index between two partitions of the same items.

    This is the Rand index corrected for chance under the permutation model of Hubert
    & Arabie (1985, "Comparing partitions", Journal of Classification 2:193-218):

        ARI = (Σij C(nij, 2) - E) / (½ [Σi C(ai, 2) + Σj C(bj, 2)] - E),
        E   = Σi C(ai, 2) · Σj C(bj, 2) / C(n, 2),

    where nij counts items in true class i and predicted cluster j, ai and bj are the
    row and column sums, and C(m, 2) = m(m-1)/2. It is 1 for identical partitions,
    0 in expectation for random ones and can be negative. When both partitions are
    trivial in the same way (everything together, or everything apart) the formula is
    0/0 and the partitions agree, so 1.0 is returned.

    >>> round(adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) * 33, 9)  # 8/33
    8.0
    """
    true_list, pred_list = list(labels_true), list(labels_pred)
    if len(true_list) != len(pred_list):
        raise ValueError(f"label sequences differ in length: {len(true_list)} vs {len(pred_list)}")
    n = len(true_list)
    if n < 2:
        raise ValueError("the adjusted Rand index needs at least two items")
    true_ids = _codes(true_list)
    pred_ids = _codes(pred_list)
    table = np.zeros((int(true_ids.max()) + 1, int(pred_ids.max()) + 1), dtype=np.int64)
    np.add.at(table, (true_ids, pred_ids), 1)

    def pairs(counts: np.ndarray) -> float:
        counts = counts.astype(np.float64)
        return float(np.sum(counts * (counts - 1.0) / 2.0))

    index = pairs(table)
    rows = pairs(table.sum(axis=1))
    cols = pairs(table.sum(axis=0))
    expected = rows * cols / (n * (n - 1) / 2.0)
    maximum = (rows + cols) / 2.0
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def _codes(labels: list[Hashable]) -> np.ndarray:
    """Map arbitrary hashable labels to 0..k-1 in order of first appearance."""
    mapping: dict[Hashable, int] = {}
    return np.fromiter((mapping.setdefault(v, len(mapping)) for v in labels), dtype=np.int64)
