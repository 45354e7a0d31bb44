"""Recurring-theme discovery for one client, carried out by the background worker.

A therapist queues a :class:`~reverie.process.models.ThemeRun`; the worker job
``process.theme_runs`` claims it with a conditional UPDATE (so two workers never take
the same run), gathers the client's documents, runs the engine in
:mod:`reverie.process.themes`, and stores the themes for that therapist.

What goes in, and how process notes are kept out of storage:

* the client's **shared** journal entries (unshared ones are never read);
* the client's relationship episodes (narrative and formulation);
* the client's progress notes (session content and plan);
* the requesting therapist's **own** process notes about the client, decrypted with
  ``process.actions.read_process_note`` (which refuses anyone but the author and audits each
  read). They are passed to the engine with ``cacheable=False`` and live only in this
  process's memory for the length of the run: their embeddings are never stored (the
  engine leaves them out of every centroid and cache), their sentences are never stored
  (evidence keeps the note id and the character span only), and a label is stored only
  if every word of it also occurs in evidence from other documents (see
  :func:`safe_label`).

Themes belong to the therapist who ran the search, because they may rest on that
therapist's process notes; nobody else sees them.
"""

from __future__ import annotations

import datetime
import logging
import re
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.care.access import clinical_clients
from reverie.care.models import Client, ProcessNote, ProgressNote
from reverie.process.actions.notes import read_process_note
from reverie.process.embeddings import (
    NLP_INSTALL_HINT,
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    NlpUnavailable,
    OnnxMiniLMEmbedder,
    content_tokens,
    default_embedder,
    nlp_available,
)
from reverie.process.models import (
    EvidenceKind,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    RunStatus,
    ThemeEvidence,
    ThemeOrigin,
    ThemeRun,
    ThemeStatus,
)
from reverie.process.themes import Document, Theme, discover_themes, match_previous

log = logging.getLogger("reverie.process")

#: A running run whose worker has not reported for this long is declared failed.
STALE_AFTER = datetime.timedelta(minutes=15)

#: What the page says the fallback is, wherever it is offered or used.
FALLBACK_NAME = "word-overlap fallback (lower quality)"
MODEL_NAME = "sentence model all-MiniLM-L6-v2"

_model: OnnxMiniLMEmbedder | MiniLMEmbedder | None = None
_model_lock = threading.Lock()


def shared_model() -> OnnxMiniLMEmbedder | MiniLMEmbedder:
    """The sentence model, loaded once per process; :class:`NlpUnavailable` without it.

    The int8 ONNX model of the default install is preferred; the torch model of the
    optional ``nlp`` extra is used only where the ONNX packages are absent.
    """
    global _model
    with _model_lock:
        if _model is None:
            embedder = default_embedder()
            if isinstance(embedder, HashingEmbedder):  # pragma: no cover - never without opt-in
                raise NlpUnavailable()
            _model = embedder
        return _model


def formulation_embedder() -> Embedder | None:
    """The model for grouping CCRT formulations, or ``None`` (normalised-text grouping)."""
    if not nlp_available():
        return None
    try:
        return shared_model()
    except NlpUnavailable:
        return None


def embedder_for(run: ThemeRun) -> Embedder:
    if run.use_fallback:
        return HashingEmbedder()
    return shared_model()


# ------------------------------------------------------------------------- documents


def episode_text(episode: RelationshipEpisode) -> str:
    """An RE as one document: its narrative, then each formulation on its own line."""
    parts = [episode.narrative.strip()]
    for text in (episode.wish, episode.response_of_other, episode.response_of_self):
        if text.strip():
            parts.append(text.strip())
    return "\n\n".join(parts)


def progress_note_text(note: ProgressNote) -> str:
    """A progress note as one document: what happened in the session, then the plan."""
    return "\n\n".join(p.strip() for p in (note.content, note.plan) if p.strip())


@dataclass
class Collected:
    documents: list[Document]
    ids: dict[str, list[int]]
    skipped_process_notes: bool = False


def collect_documents(ctx: trail.Context, run: ThemeRun) -> Collected:
    """Everything the run may read, as engine documents (process notes only in memory)."""
    return collect_client_documents(ctx, run.client, run.requested_by)


def collect_client_documents(ctx: trail.Context, client: Client, therapist: User) -> Collected:
    """What ``therapist`` may mine for ``client``: shared journal entries, relationship
    episodes, progress notes and the therapist's **own** process notes (decrypted through
    ``process.actions.read_process_note``, which audits each read; in memory only)."""
    docs: list[Document] = []
    ids: dict[str, list[int]] = {
        "journal": [],
        "episode": [],
        "progress_note": [],
        "process_note": [],
    }
    for entry in JournalEntry.objects.filter(client=client, shared_at__isnull=False).order_by("pk"):
        if entry.text.strip():
            docs.append(
                Document(f"journal:{entry.pk}", "journal", entry.entry_date, entry.text, True)
            )
            ids["journal"].append(entry.pk)
    for episode in RelationshipEpisode.objects.filter(client=client).order_by("pk"):
        docs.append(
            Document(
                f"episode:{episode.pk}", "episode", episode.occurred_on, episode_text(episode), True
            )
        )
        ids["episode"].append(episode.pk)
    for note in ProgressNote.objects.filter(episode__client=client).order_by("pk"):
        text = progress_note_text(note)
        if text:
            docs.append(
                Document(f"progress_note:{note.pk}", "progress_note", note.session_date, text, True)
            )
            ids["progress_note"].append(note.pk)
    skipped = False
    notes = ProcessNote.objects.filter(episode__client=client, author=therapist)
    notes = notes.select_related("episode", "appointment").order_by("pk")
    for process_note in notes:
        try:
            text = read_process_note(ctx, process_note)
        except crypto.EncryptionUnavailable:
            skipped = True
            break
        if text.strip():
            docs.append(
                Document(
                    f"process_note:{process_note.pk}",
                    "process_note",
                    process_note_date(process_note),
                    text,
                    False,
                )
            )
            ids["process_note"].append(process_note.pk)
    return Collected(docs, ids, skipped)


def process_note_date(note: ProcessNote) -> datetime.date:
    if note.appointment is not None:
        return timezone.localtime(note.appointment.starts_at).date()
    return timezone.localtime(note.created_at).date()


# ----------------------------------------------------------------------------- labels

_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'"})


def label_from_sentences(sentences: Iterable[str], terms: int = 3) -> str:
    """The words that occur in most of ``sentences``, most frequent first (ties in
    alphabetical order). Words found in two or more sentences are preferred; a word that
    occurs once is used only when no word recurs.

    >>> label_from_sentences(["The locked door again.", "A locked door, a key.", "Key lost."])
    'door, key, locked'
    >>> label_from_sentences(["A lamp at dusk.", "The lamp again."])
    'lamp'
    """
    counts: Counter[str] = Counter()
    for sentence in sentences:
        counts.update({w for w in content_tokens(sentence) if len(w) > 2})
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    recurring = [w for w in ranked if counts[w] >= 2]
    return ", ".join((recurring or ranked)[:terms])


def safe_label(theme: Theme) -> tuple[str, list[str]]:
    """A label and terms that quote nothing found only in process notes.

    The engine names a theme from all its sentences. A term is kept only if it occurs,
    as a whole phrase, in the theme's evidence from other documents; if none is left,
    the label is built from those sentences alone. A theme with no such evidence gets
    an empty label: it is a private theme, named when its owner opens it.
    """
    open_sentences = [e.sentence for e in theme.evidence if e.cacheable]
    if not open_sentences:
        return "", []
    text = " ".join(s.lower().translate(_FOLD) for s in open_sentences)
    kept = [t for t in theme.terms if re.search(rf"\b{re.escape(t)}\b", text)]
    if kept:
        return ", ".join(kept)[:200], kept
    fallback = label_from_sentences(open_sentences)
    return fallback[:200], fallback.split(", ") if fallback else []


# ---------------------------------------------------------------------------- saving


def _evidence_source(document_id: str) -> tuple[str, int]:
    kind, _, pk = document_id.partition(":")
    return kind, int(pk)


def _root(theme: RecurringTheme, by_pk: dict[int, RecurringTheme]) -> RecurringTheme:
    seen = set()
    while theme.status == ThemeStatus.MERGED and theme.merged_into_id and theme.pk not in seen:
        seen.add(theme.pk)
        theme = by_pk.get(theme.merged_into_id, theme)
    return theme


def _stats(evidence: Sequence[ThemeEvidence]) -> dict[str, object]:
    docs: dict[tuple[str, int], datetime.date] = {}
    for ev in evidence:
        ref = (
            ev.journal_entry_id
            or ev.relationship_episode_id
            or ev.progress_note_id
            or ev.process_note_id
            or 0
        )
        key = (ev.kind, ref)
        docs[key] = min(docs.get(key, ev.date), ev.date)
    months: Counter[str] = Counter(f"{day:%Y-%m}" for day in docs.values())
    kinds: Counter[str] = Counter(kind for kind, _ in docs)
    return {
        "first_seen": min(ev.date for ev in evidence),
        "last_seen": max(ev.date for ev in evidence),
        "count_by_month": dict(sorted(months.items())),
        "document_count": len(docs),
        "kind_counts": dict(kinds),
        "private": set(kinds) == {"process_note"},
    }


def _evidence_rows(theme: Theme, owner: RecurringTheme, offset: int) -> list[ThemeEvidence]:
    rows = []
    for position, ev in enumerate(theme.evidence):
        kind, pk = _evidence_source(ev.document_id)
        row = ThemeEvidence(
            theme=owner,
            kind=kind,
            date=ev.date,
            start=ev.start,
            end=ev.end,
            # Only the span of a process-note sentence is kept, never its words.
            sentence=ev.sentence if ev.cacheable and kind != EvidenceKind.PROCESS_NOTE else "",
            position=offset + position,
        )
        if kind == EvidenceKind.JOURNAL:
            row.journal_entry_id = pk
        elif kind == EvidenceKind.EPISODE:
            row.relationship_episode_id = pk
        elif kind == EvidenceKind.PROGRESS_NOTE:
            row.progress_note_id = pk
        else:
            row.process_note_id = pk
        rows.append(row)
    return rows


def save_results(
    ctx: trail.Context, run: ThemeRun, themes: Sequence[Theme]
) -> dict[str, list[int]]:
    """Store this run's themes for its therapist, keeping their earlier decisions.

    A theme found again (same key, or a centroid close to a remembered one, compared
    only between themes of the same embedder) updates the remembered theme: a dismissed
    theme stays dismissed, a merged one feeds the theme it was merged into, an accepted
    or renamed one keeps its name. Suggestions not found again are removed; accepted
    and dismissed themes are kept and marked as not found in this run.
    """
    previous = list(
        RecurringTheme.objects.filter(
            client=run.client, owner=run.requested_by, origin=ThemeOrigin.FOUND
        )
    )
    by_pk = {t.pk: t for t in previous}
    by_key = {t.stable_key: t for t in previous}
    matched: dict[str, RecurringTheme] = {}
    for theme in themes:
        if theme.stable_key in by_key:
            matched[theme.stable_key] = by_key[theme.stable_key]
    embedder_name = themes[0].embedder if themes else run.embedder
    centroids = {
        t.stable_key: np.frombuffer(bytes(t.centroid), dtype=np.float32)
        for t in previous
        if t.centroid and t.embedder == embedder_name and t not in matched.values()
    }
    remaining = [t for t in themes if t.stable_key not in matched]
    for current_key, earlier_key in match_previous(remaining, centroids).items():
        matched[current_key] = by_key[earlier_key]

    created: list[int] = []
    updated: list[int] = []
    now = timezone.now()
    filled: dict[int, list[ThemeEvidence]] = {}
    touched: set[int] = set()
    for theme in themes:
        label, terms = safe_label(theme)
        earlier = matched.get(theme.stable_key)
        target = _root(earlier, by_pk) if earlier is not None else None
        if target is None:
            target = RecurringTheme(
                client=run.client,
                owner=run.requested_by,
                stable_key=theme.stable_key,
                label=label,
                terms=terms,
                first_seen=theme.first_seen,
                last_seen=theme.last_seen,
            )
            created_now = True
        else:
            created_now = False
            if (target.status == ThemeStatus.SUGGESTED and not target.renamed) or not target.label:
                target.label = label
                target.terms = terms
        if target.pk is None or target.pk not in filled:
            target.centroid = theme.centroid.tobytes() if theme.centroid is not None else None
        elif theme.centroid is not None and not target.centroid:
            target.centroid = theme.centroid.tobytes()
        target.embedder = theme.embedder
        target.fallback = bool(run.use_fallback)
        target.last_run = run
        target.in_last_run = True
        target.updated_at = now
        target.save()
        if target.pk not in filled:
            ThemeEvidence.objects.filter(theme=target).delete()
            filled[target.pk] = []
        rows = ThemeEvidence.objects.bulk_create(
            _evidence_rows(theme, target, len(filled[target.pk]))
        )
        filled[target.pk].extend(rows)
        touched.add(target.pk)
        (created if created_now else updated).append(target.pk)
        by_pk[target.pk] = target
    for pk, rows in filled.items():
        theme_row = by_pk[pk]
        for name, value in _stats(rows).items():
            setattr(theme_row, name, value)
        if theme_row.private:
            theme_row.label = "" if not theme_row.renamed else theme_row.label
            theme_row.terms = []
        theme_row.save()

    removed: list[int] = []
    for theme_row in previous:
        if theme_row.pk in touched or _root(theme_row, by_pk).pk in touched:
            continue
        if theme_row.status == ThemeStatus.SUGGESTED:
            # A suggestion that did not recur is withdrawn, with anything merged into it.
            doomed = [theme_row.pk, *(t.pk for t in previous if t.merged_into_id == theme_row.pk)]
            RecurringTheme.objects.filter(pk__in=doomed).delete()
            removed.extend(doomed)
        elif theme_row.in_last_run:
            theme_row.in_last_run = False
            theme_row.save(update_fields=["in_last_run"])
    return {"created": created, "updated": sorted(set(updated)), "removed": removed}


# --------------------------------------------------------------------------- running


class RunCancelled(Exception):
    """Raised from the progress callback when the therapist cancelled the run."""


def claim_next(me: str) -> ThemeRun | None:
    """Take the oldest queued run, if another worker has not taken it first."""
    now = timezone.now()
    for pk in (
        ThemeRun.objects.filter(status=RunStatus.QUEUED)
        .order_by("created_at", "pk")[:10]
        .values_list("pk", flat=True)
    ):
        taken = ThemeRun.objects.filter(pk=pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            locked_by=me,
            started_at=now,
            heartbeat_at=now,
            stage="Starting",
        )
        if taken:
            return ThemeRun.objects.select_related("client", "requested_by").get(pk=pk)
    return None


def fail_stale(now: datetime.datetime | None = None) -> int:
    """Runs whose worker went silent (crashed, killed) are marked failed."""
    now = now or timezone.now()
    return ThemeRun.objects.filter(
        status=RunStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        stage="Stopped",
        message="The worker stopped during the search. Start it again.",
    )


def _finish(run: ThemeRun, status: str, message: str, **fields: object) -> None:
    ThemeRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=status, message=message[:300], finished_at=timezone.now(), **fields
    )


def _stage_for(done: int, total: int) -> str:
    if done >= total:
        return "Naming themes"
    if done == total - 1:
        return "Grouping sentences"
    return "Reading sentences with the model"


def execute(run: ThemeRun, make_embedder: Callable[[ThemeRun], Embedder] = embedder_for) -> str:
    """Carry out one claimed run; returns its final status. Never raises for a bad run:
    the reason is kept on the run (without clinical text) and the worker carries on."""
    ctx = trail.Context(user=run.requested_by, label="system:process.themes")
    try:
        if not clinical_clients(run.requested_by).filter(pk=run.client_id).exists():
            _finish(run, RunStatus.FAILED, "You no longer have access to this client.")
            return RunStatus.FAILED
        try:
            embedder = make_embedder(run)
        except NlpUnavailable:
            _finish(
                run,
                RunStatus.FAILED,
                f"The theme model is not installed on the worker; {NLP_INSTALL_HINT}.",
            )
            return RunStatus.FAILED
        ThemeRun.objects.filter(pk=run.pk).update(
            stage="Reading entries and notes", embedder=embedder.name[:200]
        )
        collected = collect_documents(ctx, run)
        counts = {kind: len(pks) for kind, pks in collected.ids.items()}
        trail.record(
            ctx,
            Action.LIST,
            run,
            client_id=run.client_id,
            detail={"via": "worker", **collected.ids},
        )
        ThemeRun.objects.filter(pk=run.pk).update(
            document_counts=counts, heartbeat_at=timezone.now()
        )

        def progress(done: int, total: int) -> None:
            ThemeRun.objects.filter(pk=run.pk).update(
                progress_done=done,
                progress_total=total,
                stage=_stage_for(done, total),
                heartbeat_at=timezone.now(),
            )
            if ThemeRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
                raise RunCancelled

        themes = discover_themes(collected.documents, embedder, progress=progress)
        # Drop the documents, and with them every decrypted process note, before saving.
        collected.documents = []
        ThemeRun.objects.filter(pk=run.pk).update(stage="Saving themes")
        with transaction.atomic():
            result = save_results(ctx, run, themes)
            message = (
                f"Found {len(themes)} recurring theme{'s' if len(themes) != 1 else ''}."
                if themes
                else "No recurring themes yet: a theme needs similar sentences in at least "
                "two different entries or notes."
            )
            if collected.skipped_process_notes:
                message += " Your process notes were left out: no encryption key is set."
            ThemeRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                status=RunStatus.DONE,
                theme_count=len(themes),
                message=message,
                stage="Finished",
                finished_at=timezone.now(),
            )
            # The documents were read for the therapist who asked (process notes are
            # readable by their author only); the themes are written by the worker, as
            # the system, on their behalf.
            trail.record(
                trail.system("process.themes", practice=run.client.practice),
                Action.UPDATE,
                run,
                client_id=run.client_id,
                detail={
                    "via": "worker",
                    "for": run.requested_by_id,
                    "status": "done",
                    **result,
                },
            )
        return RunStatus.DONE
    except RunCancelled:
        _finish(run, RunStatus.CANCELLED, "Cancelled.", stage="Cancelled")
        return RunStatus.CANCELLED
    except ValueError as exc:
        # The engine's own errors name limits and ids, never text.
        _finish(run, RunStatus.FAILED, f"The search could not run: {exc}")
        return RunStatus.FAILED
    except Exception as exc:
        # Only the exception type and the stack are logged: a message could quote text.
        log.error(
            "theme run %s failed with %s\n%s",
            run.pk,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        _finish(
            run,
            RunStatus.FAILED,
            f"The search failed ({type(exc).__name__}). The worker log has the details.",
        )
        return RunStatus.FAILED


def process_queued(
    me: str = "worker",
    max_runs: int = 3,
    make_embedder: Callable[[ThemeRun], Embedder] = embedder_for,
) -> list[int]:
    """The worker job's body: fail silent runs, then carry out up to ``max_runs``."""
    fail_stale()
    done: list[int] = []
    for _ in range(max_runs):
        run = claim_next(me)
        if run is None:
            break
        execute(run, make_embedder)
        done.append(run.pk)
    return done
