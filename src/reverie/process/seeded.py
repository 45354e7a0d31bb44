"""Seeded themes: the therapist marks a few sentences, Reverie ranks the others.

The glue between the pages and :func:`reverie.process.themes.rank_by_seeds`: which
sentences the therapist may pick from and be shown (exactly what a theme search for this
client by this therapist would read; see ``theme_runs.collect_client_documents``), which
model ranks them, and a small in-process cache of vectors of cacheable sentences so that
judging one suggestion after another does not embed the whole record each time. Nothing
here writes to the database: seeding and judging go through ``process.actions``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass

import numpy as np

from reverie.accounts.models import User
from reverie.audit import trail
from reverie.care.models import Client
from reverie.process import theme_runs
from reverie.process.embeddings import Embedder, HashingEmbedder, NlpUnavailable, nlp_available
from reverie.process.models import EvidenceKind, EvidenceRole, RecurringTheme, ThemeEvidence
from reverie.process.themes import Document, Evidence, SeedMatch, rank_by_seeds, split_sentences

#: At most this many seed sentences per theme (a seed is a few examples, not a list).
MAX_SEEDS = 12
#: How many ranked suggestions the theme page shows.
SHOWN = 10
#: Sentences shorter than this are neither offered as seeds nor ranked.
MIN_WORDS = 4


class VectorCache(MutableMapping[str, np.ndarray]):
    """A bounded, thread-safe LRU mapping for embeddings of *cacheable* sentences only.

    Keys are ``themes.embedding_cache_key`` digests (model name and text hashed), so the
    cache holds no text. The engine never offers it a process-note sentence.
    """

    def __init__(self, maxsize: int = 50_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> np.ndarray:
        with self._lock:
            value = self._data[key]
            self._data.move_to_end(key)
            return value

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._data[key]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)


CACHE = VectorCache()


def embedder() -> tuple[Embedder, bool]:
    """The sentence model, or the labelled word-overlap fallback; ``(embedder, fallback)``."""
    if nlp_available():
        try:
            return theme_runs.shared_model(), False
        except NlpUnavailable:
            pass
    return HashingEmbedder(), True


def sentence_key(document_id: str, start: int, end: int) -> str:
    """The form value naming one sentence: ``kind:pk:start:end``."""
    return f"{document_id}:{start}:{end}"


def parse_key(value: str) -> tuple[str, int, int] | None:
    """``(document_id, start, end)`` from :func:`sentence_key`, or ``None`` if malformed."""
    parts = value.split(":")
    if len(parts) != 4 or parts[0] not in {k.value for k in EvidenceKind}:
        return None
    if not all(p.isdigit() and len(p) < 10 for p in parts[1:]):
        return None
    return f"{parts[0]}:{int(parts[1])}", int(parts[2]), int(parts[3])


@dataclass(frozen=True)
class Pickable:
    """A sentence the therapist may mark as a seed, with where it comes from."""

    key: str
    evidence: Evidence


def sentences(documents: list[Document]) -> dict[str, Evidence]:
    """Every sentence of ``documents`` long enough to seed or rank, by :func:`sentence_key`."""
    out: dict[str, Evidence] = {}
    for doc in sorted(documents, key=lambda d: (d.date, d.id), reverse=True):
        for span in split_sentences(doc.text):
            if len(span.text.split()) < MIN_WORDS:
                continue
            out[sentence_key(doc.id, span.start, span.end)] = Evidence(
                document_id=doc.id,
                kind=doc.kind,
                date=doc.date,
                sentence=span.text,
                start=span.start,
                end=span.end,
                cacheable=doc.cacheable,
            )
    return out


def documents_for(ctx: trail.Context, client: Client, therapist: User) -> list[Document]:
    """What this therapist may read of this client, as engine documents (audited)."""
    return theme_runs.collect_client_documents(ctx, client, therapist).documents


def _document_id(row: ThemeEvidence) -> str:
    pk = row.journal_entry_id or row.relationship_episode_id or row.progress_note_id
    pk = pk or row.process_note_id or 0
    return f"{row.kind}:{pk}"


def theme_spans(theme: RecurringTheme) -> dict[str, list[tuple[str, int, int]]]:
    """The theme's sentences by role: seeds and accepted ones (both steer the ranking),
    and everything already judged (never suggested again)."""
    out: dict[str, list[tuple[str, int, int]]] = {"positive": [], "judged": []}
    for row in theme.evidence.all():
        span = (_document_id(row), row.start, row.end)
        if row.role in (EvidenceRole.SEED, EvidenceRole.ACCEPTED) and not row.withdrawn:
            out["positive"].append(span)
        out["judged"].append(span)
    return out


def rank(
    theme: RecurringTheme, documents: list[Document], limit: int = SHOWN
) -> tuple[list[SeedMatch], bool, str]:
    """Ranked suggestions for a seeded theme: ``(matches, fallback, model name)``."""
    model, fallback = embedder()
    spans = theme_spans(theme)
    matches = rank_by_seeds(
        documents,
        spans["positive"],
        model,
        exclude=spans["judged"],
        limit=limit,
        min_sentence_words=MIN_WORDS,
        cache=CACHE,
    )
    return matches, fallback, model.name
