"""Keeping the per-episode outcome summary (``EpisodeOutcome``) and the expected-recovery
curves (``ExpectedCurves``) up to date.

The practice dashboard never reads administrations: it reads one summary row per episode.
:func:`refresh` brings those rows up to date and is run by the ``outcomes.refresh`` worker
job every minute and by ``reverie outcomes recompute``:

* **What is stale.** Episodes with an administration newer than the stored watermark (with a
  small overlap, because a transaction that started earlier can commit a lower id later), and
  episodes whose status, dates, therapist, modality or end reason no longer match their
  summary row (one join over the two tables). A full recomputation takes every episode.
* **Claiming.** The single ``RefreshState`` row is claimed with a conditional UPDATE on
  ``locked_until``; a second worker or command finds it taken and does nothing. The lock is
  renewed after every chunk, and a crashed process's lock simply expires.
* **Progress.** ``done`` / ``total`` are written after every chunk of episodes, so the
  dashboard and the command can show how far a long recomputation has got.
* **Alerts.** New in-treatment PHQ-9 / GAD-7 administrations of open episodes, completed in
  the last :data:`ALERT_WINDOW`, are checked against the dose curves at the sessions
  attended before each (:class:`.recovery.LiveRule`, the rule whose cross-validated accuracy
  the dashboard reports); an administration past the line raises a ``not_on_track`` alert through
  :func:`reverie.care.actions.raise_alert`, which is idempotent per administration.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, DateField, F, Max, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from reverie.accounts.models import Practice
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import (
    Alert,
    AlertKind,
    Appointment,
    Episode,
    EpisodeStatus,
    Modality,
)
from reverie.core.worker import worker_id
from reverie.measures.models import Administration, Timepoint
from reverie.measures.registry import definition
from reverie.outcomes import recovery
from reverie.outcomes.models import EpisodeOutcome, ExpectedCurves, RefreshState

log = logging.getLogger("reverie.outcomes")

#: Instruments summarised per episode, and the column prefix each uses.
SUMMARY_INSTRUMENTS: dict[str, str] = {"phq-9": "phq9", "gad-7": "gad7"}
IN_TREATMENT = (Timepoint.INTAKE, Timepoint.SESSION)
FOLLOWUP_COLUMNS: dict[str, str] = {
    Timepoint.FOLLOWUP_1M: "fu1",
    Timepoint.FOLLOWUP_3M: "fu3",
    Timepoint.FOLLOWUP_6M: "fu6",
    Timepoint.FOLLOWUP_12M: "fu12",
}
CHUNK = 2000
#: Ids re-read below the watermark on each run (late-committing transactions).
WATERMARK_OVERLAP = 500
#: Ids re-checked for alerts below the watermark (alerts are idempotent per administration).
ALERT_OVERLAP = 50
LOCK_FOR = datetime.timedelta(minutes=10)
#: Only administrations this recent raise alerts: importing years of history must not.
ALERT_WINDOW = datetime.timedelta(days=14)
_EPOCH = datetime.date(1900, 1, 1)


# --------------------------------------------------------------------------------------------
# the refresh state row and its claim
# --------------------------------------------------------------------------------------------


def state() -> RefreshState:
    row, _ = RefreshState.objects.get_or_create(pk=1)
    return row


def _claim(me: str, now: datetime.datetime) -> bool:
    state()
    return (
        RefreshState.objects.filter(pk=1)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_by=me, locked_until=now + LOCK_FOR, started_at=now, done=0, total=0)
        == 1
    )


def _renew(me: str, **fields: Any) -> None:
    updated = RefreshState.objects.filter(pk=1, locked_by=me).update(
        locked_until=timezone.now() + LOCK_FOR, **fields
    )
    if not updated:
        raise RuntimeError("the outcome refresh lock was taken over by another process")


def request_full_recompute() -> None:
    """Ask the next refresh to rebuild every summary row and refit the curves."""
    state()
    RefreshState.objects.filter(pk=1).update(full_requested=True)


# --------------------------------------------------------------------------------------------
# summarising episodes
# --------------------------------------------------------------------------------------------


def _instrument_ids() -> dict[int, str]:
    from reverie.measures.models import Instrument

    return dict(
        Instrument.objects.filter(code__in=list(SUMMARY_INSTRUMENTS)).values_list("pk", "code")
    )


def summarise(episode_ids: Sequence[int], instrument_ids: dict[int, str]) -> list[EpisodeOutcome]:
    """Summary rows for the given episodes, built in three queries."""
    episodes = list(
        Episode.objects.filter(pk__in=episode_ids)
        .select_related("client")
        .only(
            "pk",
            "client_id",
            "client__practice_id",
            "therapist_id",
            "modality",
            "status",
            "end_reason",
            "start_date",
            "end_date",
        )
    )
    attended = dict(
        Appointment.objects.filter(episode_id__in=episode_ids, attendance="attended")
        .values("episode_id")
        .annotate(n=Count("id"))
        .values_list("episode_id", "n")
    )
    scores: dict[int, dict[str, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        Administration.objects.filter(
            episode_id__in=episode_ids, instrument_id__in=list(instrument_ids)
        )
        .order_by("completed_at", "id")
        .values_list("episode_id", "instrument_id", "timepoint", "total")
    )
    for episode_id, instrument_id, timepoint, total in rows:
        scores[episode_id][SUMMARY_INSTRUMENTS[instrument_ids[instrument_id]]].append(
            (timepoint, total)
        )
    now = timezone.now()
    out = []
    for e in episodes:
        fields: dict[str, Any] = {}
        for prefix in SUMMARY_INSTRUMENTS.values():
            series = scores.get(e.pk, {}).get(prefix, [])
            treated = [t for tp, t in series if tp in IN_TREATMENT]
            fields[f"{prefix}_n"] = len(treated)
            fields[f"{prefix}_first"] = treated[0] if treated else None
            fields[f"{prefix}_last"] = treated[-1] if treated else None
            for timepoint, column in FOLLOWUP_COLUMNS.items():
                later = [t for tp, t in series if tp == timepoint]
                fields[f"{prefix}_{column}"] = later[-1] if later else None
        out.append(
            EpisodeOutcome(
                episode_id=e.pk,
                practice_id=e.client.practice_id,
                client_id=e.client_id,
                therapist_id=e.therapist_id,
                modality=e.modality,
                status=e.status,
                end_reason=e.end_reason,
                start_date=e.start_date,
                end_date=e.end_date,
                sessions_attended=attended.get(e.pk, 0),
                days_treated=(
                    (e.end_date - e.start_date).days
                    if e.end_date is not None and e.status == EpisodeStatus.ENDED
                    else None
                ),
                computed_at=now,
                **fields,
            )
        )
    return out


_UPDATE_FIELDS = [
    f.name
    for f in EpisodeOutcome._meta.concrete_fields
    if f.name not in ("episode", "not_on_track")
]


def _system(practice_id: int) -> trail.Context:
    # Inside the worker the context names the running job (outcomes.refresh or
    # outcomes.daily); from ``reverie outcomes`` or the demo seeding, this label.
    return trail.system("outcomes.refresh", practice=Practice(pk=practice_id))


def _write(rows: list[EpisodeOutcome]) -> None:
    """Store the summary rows and audit them, one entry per practice with the episode
    ids, in the caller's transaction. Summaries are derived from audited scores, so one
    entry per practice and batch says what was recomputed without an entry per client."""
    EpisodeOutcome.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["episode"],
        update_fields=_UPDATE_FIELDS,
        batch_size=500,
    )
    by_practice: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_practice[row.practice_id].append(row.episode_id)
    for practice_id, episode_ids in sorted(by_practice.items()):
        trail.record(
            _system(practice_id),
            Action.UPDATE,
            object_type="outcomes.episodeoutcome",
            detail={"episodes": sorted(episode_ids)},
        )


def stale_episode_ids(watermark: int) -> set[int]:
    """Episodes whose summary is missing or out of date."""
    new_admins = set(
        Administration.objects.filter(
            id__gt=max(0, watermark - WATERMARK_OVERLAP), episode_id__isnull=False
        )
        .values_list("episode_id", flat=True)
        .distinct()
    )
    epoch = Value(_EPOCH, output_field=DateField())
    changed = set(
        Episode.objects.annotate(
            own_end=Coalesce("end_date", epoch), summary_end=Coalesce("outcome__end_date", epoch)
        )
        .filter(
            Q(outcome__isnull=True)
            | ~Q(outcome__status=F("status"))
            | ~Q(outcome__therapist_id=F("therapist_id"))
            | ~Q(outcome__modality=F("modality"))
            | ~Q(outcome__end_reason=F("end_reason"))
            | ~Q(outcome__start_date=F("start_date"))
            | ~Q(summary_end=F("own_end"))
        )
        .values_list("pk", flat=True)
    )
    return new_admins | changed


# --------------------------------------------------------------------------------------------
# expected-recovery curves
# --------------------------------------------------------------------------------------------


def instrument_scale(code: str) -> dict[str, Any]:
    """Score range, reliable change and direction of a shipped instrument, for its dose
    curves and the live rule."""
    d = definition(code)
    rc = d.reliable_change.threshold if d.reliable_change else None
    if rc is None:
        raise ValueError(f"{code} has no reliable-change threshold; it cannot have curves")
    return {
        "scale": (float(d.score_min), float(d.score_max)),
        "reliable_change": float(rc),
        "higher_is_better": not d.higher_is_worse,
    }


def fit_practice_curves(practice_id: int, code: str) -> ExpectedCurves:
    """Fit one instrument's dose curves in one practice from the in-treatment scores of its
    ended episodes (the published reference alone while it has none) and store them.

    The row holds only ``{"dose": ...}`` (:func:`.recovery.payload`); ``n_episodes`` counts the
    ended episodes the fit read. The percentile curves per intake band that rows once also
    held are no longer fitted: nothing read them after the live rule moved to the dose curves
    (docs/statistics.md section 8)."""
    meta = instrument_scale(code)
    series, episode_ids = recovery.load_series(practice_id, code)
    payload = {
        # Dose-indexed, per-modality curves shrunk toward a published reference (issue 18).
        "dose": recovery.payload(
            series, meta["reliable_change"], higher_is_better=meta["higher_is_better"]
        ),
    }
    n_episodes = len(episode_ids)
    with transaction.atomic():
        row, created = ExpectedCurves.objects.update_or_create(
            practice_id=practice_id,
            instrument=code,
            defaults={
                "curves": portable_json(payload),
                "n_episodes": n_episodes,
                "fitted_at": timezone.now(),
            },
        )
        trail.record(
            _system(practice_id),
            Action.CREATE if created else Action.UPDATE,
            row,
            detail={"instrument": code, "n_episodes": n_episodes},
        )
    return row


def portable_json(value: Any) -> Any:
    """``value`` with every negative zero made positive.

    Rounding a small negative number (``np.round(-0.0004, 3)``) gives ``-0.0``. SQLite keeps
    the JSON text as written, but PostgreSQL's ``jsonb`` stores numbers as ``numeric``, which
    has no negative zero, so the same row read back from the two engines differed and a
    SQLite backup restored into PostgreSQL did not give back the bytes it stored.

    >>> portable_json({"a": [-0.0, 1.5, None], "b": -0.0})
    {'a': [0.0, 1.5, None], 'b': 0.0}
    """
    if isinstance(value, float):
        return value + 0.0  # -0.0 + 0.0 == +0.0; every other float is unchanged
    if isinstance(value, dict):
        return {k: portable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable_json(v) for v in value]
    return value


def fit_all_curves(practice_ids: Iterable[int] | None = None) -> int:
    ids = (
        list(practice_ids)
        if practice_ids is not None
        else list(Practice.objects.values_list("pk", flat=True))
    )
    for pid in ids:
        for code in SUMMARY_INSTRUMENTS:
            fit_practice_curves(pid, code)
    return len(ids)


# --------------------------------------------------------------------------------------------
# not-on-track flags and alerts
# --------------------------------------------------------------------------------------------


def _flag_latest(episode_ids: Sequence[int], instrument_ids: dict[int, str]) -> None:
    """Set ``not_on_track`` on the summaries from each open episode's latest PHQ-9, judged by
    the dose rule (:class:`.recovery.LiveRule`) at the sessions attended before it."""
    phq = [pk for pk, code in instrument_ids.items() if code == "phq-9"]
    rows = (
        Administration.objects.filter(
            episode_id__in=episode_ids,
            instrument_id__in=phq,
            timepoint__in=IN_TREATMENT,
        )
        .exclude(episode__status=EpisodeStatus.ENDED)
        .order_by("episode_id", "completed_at", "id")
        .values_list(
            "episode_id",
            "episode__client__practice_id",
            "episode__modality",
            "completed_at",
            "total",
        )
    )
    series: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    about: dict[int, tuple[int, str]] = {}
    for episode_id, practice_id, modality, completed_at, total in rows:
        series[episode_id].append((completed_at, total))
        about[episode_id] = (practice_id, modality)
    attended = recovery.attended_starts(series)
    flagged: list[int] = []
    rules: dict[int, recovery.LiveRule] = {}
    for episode_id, scores in series.items():
        if len(scores) < 2:
            continue  # the intake alone is never off track
        pid, modality = about[episode_id]
        if pid not in rules:
            rules[pid] = recovery.practice_rules(pid, ["phq-9"])["phq-9"]
        at, latest = scores[-1]
        sessions = recovery.sessions_before(attended.get(episode_id, []), at)
        if rules[pid].not_on_track(modality, sessions, latest, scores[0][1]):
            flagged.append(episode_id)
    with transaction.atomic():
        before = list(
            EpisodeOutcome.objects.filter(episode_id__in=episode_ids).values_list(
                "episode_id", "practice_id", "not_on_track"
            )
        )
        EpisodeOutcome.objects.filter(episode_id__in=episode_ids).update(not_on_track=False)
        EpisodeOutcome.objects.filter(episode_id__in=flagged).update(not_on_track=True)
        # Audit what changed, per practice: newly flagged and newly cleared episodes.
        now_flagged = set(flagged)
        changes: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: {"not_on_track": [], "back_on_track": []}
        )
        for episode_id, practice_id, was in before:
            if episode_id in now_flagged and not was:
                changes[practice_id]["not_on_track"].append(episode_id)
            elif was and episode_id not in now_flagged:
                changes[practice_id]["back_on_track"].append(episode_id)
        for practice_id, detail in sorted(changes.items()):
            trail.record(
                _system(practice_id),
                Action.UPDATE,
                object_type="outcomes.episodeoutcome",
                detail={key: sorted(ids) for key, ids in detail.items()},
            )


def alert_summary(
    code: str, total: int, sessions: int, intake: int, modality: str, source: str
) -> str:
    """The words of a not-on-track alert (also used for the demo's past alerts).

    >>> alert_summary("phq-9", 26, 1, 17, "other", "practice")  # doctest: +ELLIPSIS
    'PHQ-9 26 after 1 session attended is above the range expected for other clients ...'
    """
    d = definition(code)
    where = "above" if d.higher_is_worse else "below"
    kind = str(Modality(modality).label).lower() if modality in Modality.values else "other"
    text = (
        f"{d.short_name} {total} after {sessions} session{'' if sessions == 1 else 's'} "
        f"attended is {where} the range expected for {kind} clients who started at {intake}"
    )
    if source == "reference":
        text += (
            " (the published reference range, not yet moved by the practice's own ended episodes)"
        )
    return text + "."


def check_new_administrations(since_id: int, instrument_ids: dict[int, str]) -> int:
    """Raise not-on-track alerts for recent administrations above ``since_id``.

    Reads the candidates and their episodes' earlier scores in two queries; an alert is
    raised only when no not-on-track alert of the episode is still open, and
    :func:`~reverie.care.actions.raise_alert` makes it idempotent per administration.
    """
    from reverie.care.actions import raise_alert

    now = timezone.now()
    new = list(
        Administration.objects.filter(
            id__gt=since_id,
            instrument_id__in=list(instrument_ids),
            timepoint__in=IN_TREATMENT,
            completed_at__gte=now - ALERT_WINDOW,
            episode__isnull=False,
        )
        .exclude(episode__status=EpisodeStatus.ENDED)
        .select_related("episode", "client__practice")
        .order_by("id")
    )
    if not new:
        return 0
    history: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for episode_id, instrument_id, pk, total in (
        Administration.objects.filter(
            episode_id__in={a.episode_id for a in new},
            instrument_id__in=list(instrument_ids),
            timepoint__in=IN_TREATMENT,
        )
        .order_by("completed_at", "id")
        .values_list("episode_id", "instrument_id", "id", "total")
    ):
        history[(episode_id, instrument_id)].append((pk, total))
    open_episodes = set(
        Alert.objects.filter(
            episode_id__in={a.episode_id for a in new},
            kind=AlertKind.NOT_ON_TRACK,
            acknowledged_at__isnull=True,
        ).values_list("episode_id", flat=True)
    )
    attended = recovery.attended_starts({a.episode_id for a in new if a.episode_id})
    raised = 0
    rules: dict[int, dict[str, recovery.LiveRule]] = {}
    for admin in new:
        episode, ep_id = admin.episode, admin.episode_id
        if episode is None or ep_id is None or ep_id in open_episodes:
            continue
        series = history[(ep_id, admin.instrument_id)]
        position = next(i for i, (pk, _) in enumerate(series) if pk == admin.pk)
        if position < 1:
            continue  # the intake itself
        intake = series[0][1]
        code = instrument_ids[admin.instrument_id]
        pid = admin.client.practice_id
        if pid not in rules:
            rules[pid] = recovery.practice_rules(pid, list(SUMMARY_INSTRUMENTS))
        rule = rules[pid][code]
        modality = episode.modality
        sessions = recovery.sessions_before(attended.get(ep_id, []), admin.completed_at)
        if not rule.not_on_track(modality, sessions, admin.total, intake):
            continue
        raise_alert(
            _system(admin.client.practice_id),
            client=admin.client,
            episode=episode,
            kind=AlertKind.NOT_ON_TRACK,
            summary=alert_summary(
                code, admin.total, sessions, intake, modality, rule.source(modality)
            ),
            source=admin,
        )
        open_episodes.add(ep_id)
        raised += 1
    return raised


# --------------------------------------------------------------------------------------------
# the refresh itself
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshResult:
    episodes: int
    full: bool
    alerts: int
    watermark: int


def refresh(
    *,
    full: bool = False,
    me: str | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult | None:
    """Bring the summaries up to date. Returns None when another process holds the claim."""
    me = me or worker_id()
    now = timezone.now()
    if not _claim(me, now):
        return None
    try:
        st = RefreshState.objects.get(pk=1)
        full = full or st.full_requested
        old_watermark = st.watermark
        top = Administration.objects.aggregate(m=Max("id"))["m"] or 0
        if full:
            ids = sorted(Episode.objects.values_list("pk", flat=True))
        else:
            ids = sorted(stale_episode_ids(old_watermark))
        instrument_ids = _instrument_ids()
        _renew(me, total=len(ids), done=0, last_error="")
        if progress:
            progress(0, len(ids))
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            with transaction.atomic():
                _write(summarise(part, instrument_ids))
            done = min(start + chunk, len(ids))
            _renew(me, done=done)
            if progress:
                progress(done, len(ids))
        if full:
            fit_all_curves()
        if ids:
            _flag_latest(ids, instrument_ids)
        alerts = check_new_administrations(max(0, old_watermark - ALERT_OVERLAP), instrument_ids)
        RefreshState.objects.filter(pk=1, locked_by=me).update(
            watermark=max(top, old_watermark),
            full_requested=False if full else F("full_requested"),
            finished_at=timezone.now(),
            locked_by="",
            locked_until=None,
        )
        return RefreshResult(len(ids), full, alerts, max(top, old_watermark))
    except Exception as exc:
        RefreshState.objects.filter(pk=1, locked_by=me).update(
            locked_by="", locked_until=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise


def refresh_open_episodes_and_curves() -> int:
    """Daily: refit every practice's curves and re-summarise open episodes (their attended
    session counts change without a new administration)."""
    fit_all_curves()
    open_ids = list(
        Episode.objects.exclude(status=EpisodeStatus.ENDED).values_list("pk", flat=True)
    )
    instrument_ids = _instrument_ids()
    for start in range(0, len(open_ids), CHUNK):
        part = open_ids[start : start + CHUNK]
        with transaction.atomic():
            _write(summarise(part, instrument_ids))
    if open_ids:
        _flag_latest(open_ids, instrument_ids)
    return len(open_ids)


__all__ = [
    "ALERT_WINDOW",
    "SUMMARY_INSTRUMENTS",
    "RefreshResult",
    "check_new_administrations",
    "fit_all_curves",
    "fit_practice_curves",
    "refresh",
    "request_full_recompute",
    "stale_episode_ids",
    "state",
    "summarise",
]
