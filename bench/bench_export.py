"""Benchmark: one client's complete export (the ZIP of docs/data-lifecycle.md), limit 5 s.

The record is the large end of open-ended psychodynamic work: one client in weekly-plus
treatment for five years, with 300 sessions, a signed progress note (about 1,500
characters, one in ten with an addendum) and a session reflection for each, a PHQ-9 and a
GAD-7 before every other session (300 questionnaires with their answers), 250 journal
entries, 80 relationship episodes and a few alerts. All of it is synthetic and generated
deterministically here.

Reported, each the median and the slowest of ``--repeat`` runs (default 5) on a 2-core
shared machine:

* the whole export as the request or the worker does it: reading the record
  (``lifecycle.record.gather``) and writing the archive (``lifecycle.archive.write_zip``),
  with the time of each archive member from the progress callback;
* the same export's CPU time, which on a machine shared with other work is the fairer
  figure (the wall clock then includes waiting for a core);
* beside it, measured in the same run on the same database, a floor: a plain SELECT of the
  same rows (every column of every row the export reads, as tuples, no model objects).

Exit status 1 if the slowest export exceeds the limit (wall clock; CPU time with
``--judge-cpu``).

Run (from the repository root):
  .venv/bin/python bench/bench_export.py [--repeat 5] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import functools
import io
import itertools
import os
import random
import statistics
import sys
import tempfile
import time

LIMIT_SECONDS = 5.0
SEED = 20261205
SESSIONS = 300
YEARS = 5
JOURNAL = 250
EPISODES_CCRT = 80

#: Synthetic clinical-sounding prose the notes and entries are cut from.
PROSE = (
    "she spoke about her father and the long silences at dinner when nobody said what they "
    "felt; the wish to be seen came back, and with it the fear of asking; we noticed how the "
    "same pattern appeared with her manager and in the room with me when I was late; "
    "she remembered a summer at her grandmother's house and cried for the first time"
)


_WORDS = PROSE.split(" ")


def _text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(_WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out).capitalize() + "."


def _setup(database_url: str | None) -> None:
    os.environ["REVERIE_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-export-")
    os.environ.pop("REVERIE_DEMO", None)
    if database_url:
        os.environ["REVERIE_DATABASE_URL"] = database_url
    else:
        os.environ.pop("REVERIE_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reverie.settings")
    if not os.environ.get("REVERIE_AUDIT_KEYS_FILE"):
        os.environ.setdefault("REVERIE_AUDIT_KEYS", "bench-audit-" + "k" * 40)
    if not os.environ.get("REVERIE_ENCRYPTION_KEYS_FILE"):
        # As in a practice: the notes, journal and episodes are stored encrypted, and the
        # export decrypts them (without a key nothing could be written at all).
        os.environ.setdefault(
            "REVERIE_ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode()
        )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _generate() -> int:
    """Write the synthetic record; returns the client's id."""
    from django.utils import timezone

    from reverie.accounts.models import Practice, Role, User
    from reverie.care.models import Alert, Appointment, Client, Episode, NoteAddendum, ProgressNote
    from reverie.measures.models import Administration, Instrument
    from reverie.measures.registry import definition_for, sync_shipped_instruments
    from reverie.process.models import JournalEntry, RelationshipEpisode, SessionReflection

    rng = random.Random(SEED)
    sync_shipped_instruments()
    practice = Practice.objects.create(slug="bench", name="Bench practice (synthetic)")
    therapist = User.objects.create_user(
        "t@bench.test", practice=practice, role=Role.THERAPIST, full_name="Tess Therapist"
    )
    start = timezone.now() - datetime.timedelta(days=365 * YEARS)
    client = Client.objects.create(
        practice=practice,
        given_name="Sam",
        family_name="Synthetic",
        date_of_birth=datetime.date(1985, 4, 2),
        is_synthetic=True,
    )
    episode = Episode.objects.create(
        client=client,
        therapist=therapist,
        modality="psychodynamic",
        start_date=start.date(),
        status="active",
        goals=_text(rng, 300),
    )
    step = datetime.timedelta(days=365 * YEARS / SESSIONS)
    sessions = Appointment.objects.bulk_create(
        Appointment(episode=episode, starts_at=start + i * step, attendance="attended")
        for i in range(SESSIONS)
    )
    notes = ProgressNote.objects.bulk_create(
        ProgressNote(
            episode=episode,
            appointment=a,
            author=therapist,
            session_date=a.starts_at.date(),
            content=_text(rng, 1100),
            interventions=_text(rng, 200),
            plan=_text(rng, 200),
            signed_at=a.starts_at + datetime.timedelta(hours=3),
        )
        for a in sessions
    )
    NoteAddendum.objects.bulk_create(
        NoteAddendum(note=n, author=therapist, text=_text(rng, 200)) for n in notes[::10]
    )
    SessionReflection.objects.bulk_create(
        SessionReflection(
            appointment=a,
            episode=episode,
            author=therapist,
            session_date=a.starts_at.date(),
            comment=_text(rng, 120),
            **{
                k: rng.randint(0, 6)
                for k in (
                    "affect",
                    "avoidance",
                    "patterns",
                    "past",
                    "relationships",
                    "therapy_relationship",
                    "fantasy",
                )
            },
        )
        for a in sessions
    )
    rows = []
    for code in ("phq-9", "gad-7"):
        instrument = Instrument.objects.get(code=code)
        items = definition_for(instrument).items
        for a in sessions[::2]:
            answers = {item.id: rng.randint(0, 3) for item in items}
            rows.append(
                Administration(
                    client=client,
                    episode=episode,
                    instrument=instrument,
                    completed_at=a.starts_at - datetime.timedelta(hours=1),
                    source="portal",
                    answers=answers,
                    total=sum(answers.values()),
                    band="moderate",
                )
            )
    Administration.objects.bulk_create(rows)
    JournalEntry.objects.bulk_create(
        JournalEntry(
            client=client,
            kind=rng.choice(["dream", "fantasy", "association", "thought"]),
            title=_text(rng, 30),
            text=_text(rng, 800),
            mood=rng.randint(1, 5),
            entry_date=(start + i * 7 * step).date(),
            shared_at=start if i % 2 else None,
        )
        for i in range(JOURNAL)
    )
    RelationshipEpisode.objects.bulk_create(
        RelationshipEpisode(
            client=client,
            author=therapist,
            occurred_on=(start + i * 3 * step).date(),
            source="session",
            other_person=rng.choice(["parent", "partner", "boss", "therapist"]),
            narrative=_text(rng, 600),
            wish=_text(rng, 60),
            response_of_other=_text(rng, 60),
            response_of_self=_text(rng, 60),
        )
        for i in range(EPISODES_CCRT)
    )
    Alert.objects.bulk_create(
        Alert(client=client, episode=episode, kind="not_on_track", summary="PHQ-9 above band")
        for _ in range(8)
    )
    return client.pk


def _plain_select(client_id: int) -> int:
    """Every column of the rows the export reads, as tuples: the floor."""
    from reverie.care.models import Alert, Appointment, Episode, NoteAddendum, ProgressNote
    from reverie.measures.models import Administration
    from reverie.process.models import JournalEntry, RelationshipEpisode, SessionReflection

    querysets = [
        Episode.objects.filter(client_id=client_id),
        Appointment.objects.filter(episode__client_id=client_id),
        ProgressNote.objects.filter(episode__client_id=client_id),
        NoteAddendum.objects.filter(note__episode__client_id=client_id),
        SessionReflection.objects.filter(episode__client_id=client_id),
        Administration.objects.filter(client_id=client_id),
        JournalEntry.objects.filter(client_id=client_id),
        RelationshipEpisode.objects.filter(client_id=client_id),
        Alert.objects.filter(client_id=client_id),
    ]
    return sum(len(list(qs.values_list())) for qs in querysets)


def _mark(marks: list[tuple[str, float]], name: str) -> None:
    marks.append((name, time.perf_counter()))


def _row(label: str, values: list[float]) -> str:
    return f"{label:<44}{statistics.median(values):>9.3f}s{max(values):>9.3f}s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--judge-cpu",
        action="store_true",
        help="judge the limit on CPU time (for a machine shared with other work)",
    )
    args = parser.parse_args()
    _setup(args.database_url)
    from django.db import connection

    from reverie.care.models import Client
    from reverie.lifecycle import archive
    from reverie.lifecycle.record import Audience, gather

    t0 = time.perf_counter()
    client_id = _generate()
    print(f"database: {connection.vendor}; record generated in {time.perf_counter() - t0:.1f} s")

    exports: list[float] = []
    cpu: list[float] = []
    reads: list[float] = []
    members: dict[str, list[float]] = {}
    floors: list[float] = []
    size = 0
    rows = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        rows = _plain_select(client_id)
        floors.append(time.perf_counter() - start)

        marks: list[tuple[str, float]] = []
        cpu_start = time.process_time()
        start = time.perf_counter()
        record = gather(Client.objects.get(pk=client_id), Audience.CLIENT)
        read_done = time.perf_counter()
        buffer = io.BytesIO()
        archive.write_zip(record, buffer, functools.partial(_mark, marks))
        end = time.perf_counter()
        cpu.append(time.process_time() - cpu_start)
        exports.append(end - start)
        reads.append(read_done - start)
        bounds = [*marks, ("", end)]
        for (name, began), (_, finished) in itertools.pairwise(bounds):
            members.setdefault(name, []).append(finished - began)
        size = len(buffer.getvalue())

    counts = record.counts()
    print(
        f"record: {counts['sessions']} sessions, {counts['progress_notes']} notes, "
        f"{counts['questionnaires']} questionnaires, {counts['journal_entries']} journal "
        f"entries, {counts['relationship_episodes']} relationship episodes; "
        f"archive {size / 1_000_000:.2f} MB"
    )
    print(f"{'measure':<44}{'median':>10}{'slowest':>10}")
    print(_row(f"plain SELECT of the same {rows} rows (floor)", floors))
    print(_row("  export: reading the record", reads))
    for name, times in members.items():
        print(_row("  export: " + name, times))
    slowest = max(exports)
    print(_row("complete export (wall clock)", exports))
    print(_row("complete export (CPU time of this process)", cpu))
    # On a shared machine the wall clock includes waiting for a core; the export is
    # single-threaded, so on an idle machine the two agree. Both are printed; the limit
    # is judged on the wall clock unless the machine is busier than its cores
    # (``--judge-cpu``), and the load average is printed so a reader can tell.
    load = os.getloadavg()[0]
    judged = max(cpu) if args.judge_cpu else slowest
    verdict = "pass" if judged < LIMIT_SECONDS else "FAIL"
    basis = "CPU time" if args.judge_cpu else "wall clock"
    print(f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"limit {LIMIT_SECONDS:.0f} s for the slowest run ({basis}): {verdict}")
    return 0 if judged < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
