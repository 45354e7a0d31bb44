"""The seeded demo practice: every kind of data present, written as in real use.

Seeding the whole practice takes seconds, so the checks on one seeded practice are
helpers called by one test, not tests with a seed each.
"""

from __future__ import annotations

import datetime
import io
import json
import re
from collections import Counter

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Alert, Appointment, Client, Episode, ProgressNote
from reverie.demo.seed import SeedRefused, ensure_demo, logins_path
from reverie.measures import actions as measure_actions
from reverie.measures.models import Administration, MeasureRequest, RequestLink, RequestStatus
from reverie.measures.registry import definition
from reverie.measures.scoring import score
from reverie.outcomes import dashboard
from reverie.process.models import RecurringTheme, RelationshipEpisode

TODAY = datetime.date(2026, 11, 22)

#: Every kind the demo seeds; each must be there (a count above zero).
SEEDED_KINDS = (
    "therapists",
    "clients",
    "episodes",
    "sessions",
    "sessions today",
    "questionnaires",
    "psychodynamic PHQ-9 follow-ups at 6 months",
    "psychodynamic PHQ-9 follow-ups at 12 months",
    "progress notes",
    "progress note drafts",
    "addenda",
    "process notes",
    "secure messages",
    "session reflections",
    "relationship episodes",
    "transference episodes",
    "confirmed formulation groups",
    "suggested formulation groups",
    "journal entries",
    "shared journal entries",
    "private journal entries",
    "consultation requests",
    "consultations booked from the directory",
    "late cancellations in the portal",
    "requests to move a session",
    "erasure requests waiting",
    "people on the waitlist",
    "alerts open",
    "alerts acknowledged",
    "alerts escalated",
    "crisis alerts",
    "not-on-track alerts",
    "clinical-support checklists completed",
    "questionnaires waiting",
    "CORE-10 questionnaires",
    "CORE-OM questionnaires",
    "SPARQ questionnaires",
    "questionnaires answered in Spanish",
    "questionnaires waiting in Spanish",
    "intake forms signed",
    "intake forms waiting",
    "releases of information expired",
    "uploaded documents",
    "sessions by video",
    "record exports ready",
    "theme searches",
    "themes accepted",
    "themes dismissed",
    "themes suggested",
    "themes seeded",
    "charges",
    "charges still owed",
    "payments",
    "waived fees",
    "write-offs",
    "refunds",
)


@pytest.fixture
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    return tmp_path


def sign_in(login) -> HttpClient:
    http = HttpClient()
    response = http.post(
        reverse("accounts:login"), {"username": login.email, "password": login.password}
    )
    assert response.status_code == 302, login.role
    return http


def test_the_seeded_demo_shows_the_whole_product(
    db, data_dir, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends after commit
        logins, summary = ensure_demo(TODAY)
    assert summary is not None
    every_kind_is_there_in_every_state(summary)
    if connection.vendor == "postgresql":
        # Seeded in bulk, then analysed: the planner knows the new tables at once.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'care_appointment'")
            assert cursor.fetchone()[0] > 0
    the_audit_trail_records_the_seeded_writing_and_verifies()
    every_printed_login_works_and_the_client_has_a_questionnaire_waiting(logins, data_dir)
    a_seeded_theme_shows_ranked_evidence_on_the_first_visit(logins)


def a_seeded_theme_shows_ranked_evidence_on_the_first_visit(logins) -> None:
    seeded = RecurringTheme.objects.filter(origin="seeded").select_related("owner")
    assert seeded.exists()
    theme = seeded.first()
    assert theme is not None and theme.evidence.filter(role="seed").count() == 2
    login = next(x for x in logins if x.email == theme.owner.email)
    page = sign_in(login).get(reverse("process:theme", args=[theme.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    ranked = html[html.index("Sentences most like this theme") :]
    assert ranked.count('name="verdict" value="accept"') == 10
    assert "score <strong>" in ranked


def every_kind_is_there_in_every_state(summary: dict[str, object]) -> None:
    missing = [kind for kind in SEEDED_KINDS if not isinstance(summary[kind], int)]
    assert not missing
    empty = [kind for kind in SEEDED_KINDS if summary[kind] == 0]
    assert not empty, f"the demo seeds none of: {', '.join(empty)}"
    practice = Practice.objects.get(slug="demo")
    assert practice.is_demo
    assert summary["therapists"] == 4 and summary["clients"] == 60
    assert Client.objects.filter(practice=practice, is_synthetic=True).count() == 60
    assert {"psychodynamic", "psychoanalysis", "cbt"} <= set(
        Episode.objects.values_list("modality", flat=True)
    )
    assert not Administration.objects.filter(source__in=["portal", "fhir"]).exists()
    statuses = summary["consultation requests by status"]
    assert isinstance(statuses, dict) and len(statuses) >= 3
    # Every alert state: open, acknowledged, escalated; and an open one not escalated.
    alerts = Alert.objects.filter(client__practice=practice)
    assert alerts.filter(acknowledged_at__isnull=True, escalated_at__isnull=False).exists()
    assert alerts.filter(acknowledged_at__isnull=True, escalated_at__isnull=True).exists()
    assert alerts.filter(acknowledged_at__isnull=False, escalated_at__isnull=False).exists()
    assert {"crisis", "not_on_track"} <= set(alerts.values_list("kind", flat=True))
    # Past not-on-track alerts are the live dose rule's: judged at the sessions attended.
    late = list(alerts.filter(kind="not_on_track").values_list("summary", flat=True))
    assert late and all(" attended is above the range expected for " in s for s in late)
    # Transference episodes are those about the therapist.
    assert (
        RelationshipEpisode.objects.filter(other_person="therapist").count()
        == (summary["transference episodes"])
    )
    # Messages are on in the demo, with unread messages waiting on both sides.
    from reverie.messaging import queries as message_queries
    from reverie.messaging.models import Message

    assert message_queries.practice_enabled(practice.pk)
    unread = Message.objects.filter(thread__client__practice=practice, read_at__isnull=True)
    assert unread.filter(from_client=True).exists() and unread.filter(from_client=False).exists()
    assert Message.objects.filter(read_at__isnull=False).exists()
    # Drafts are recent: older notes were all signed.
    drafts = ProgressNote.objects.filter(signed_at__isnull=True)
    assert all(n.session_date >= TODAY - datetime.timedelta(days=10) for n in drafts)
    # Questionnaires are scored like submissions.
    rows = list(Administration.objects.select_related("instrument"))
    core10 = [a for a in rows if a.instrument.code == "core-10"]
    sparq = [a for a in rows if a.instrument.code == "sparq"]
    coreom = [a for a in rows if a.instrument.code == "core-om"]
    for admin in rows[:300] + core10[:100] + sparq[:100] + coreom[:100]:
        result = score(definition(admin.instrument.code), admin.answers)
        assert admin.total == result.total and admin.has_critical == result.has_critical_hits
        assert admin.band == (result.band.label if result.band else "")
        assert admin.instrument_version
        assert admin.result["subscales"] == {s.id: s.score for s in result.subscales}
    critical = [a for a in rows if a.instrument.code == "phq-9" and a.answers.get("phq9-9")]
    assert critical and all(a.has_critical for a in critical)
    therapist_pks_all = list(
        User.objects.filter(role=Role.THERAPIST).order_by("pk").values_list("pk", flat=True)
    )
    # The CORE-10 is used monthly by two of the four therapists, with intakes in its
    # clinical range on average, and its crisis answers have alerts like the PHQ-9's.
    assert {a.episode.therapist_id for a in core10} == set(
        User.objects.filter(role=Role.THERAPIST).order_by("pk").values_list("pk", flat=True)[:2]
    )
    intakes = [a.total for a in core10 if a.timepoint == "intake"]
    assert intakes and 11 <= sum(intakes) / len(intakes) <= 30
    for admin in (a for a in core10 if a.has_critical):
        assert Alert.objects.filter(
            kind="crisis", source_type="measures.administration", source_id=str(admin.pk)
        ).exists()
    # Their charts show the CORE-10 with its cut-off and reliable-change band.
    from reverie.outcomes import trajectory

    charted = trajectory.load(core10[-1].client).instruments
    (chart,) = [t for t in charted if t.code == "core-10"]
    assert (chart.caseness, chart.reliable_change) == (11.0, 6.0) and chart.points
    # The CORE-OM is answered by psychodynamic and psychoanalytic clients of the two
    # therapists who do not use the CORE-10, at intake and every seven sessions or so; its
    # Life functioning domain improves on average between a client's first and later ones.
    assert coreom and summary["CORE-OM questionnaires"] == len(coreom)
    assert {a.episode.therapist_id for a in coreom} <= set(therapist_pks_all[2:])
    assert {a.episode.modality for a in coreom} <= {"psychodynamic", "psychoanalysis"}
    assert not {a.episode_id for a in coreom} & {a.episode_id for a in core10}
    runs: dict[int, list[Administration]] = {}
    for admin in sorted(coreom, key=lambda a: a.completed_at):
        runs.setdefault(admin.episode_id, []).append(admin)
    first_f = [r[0].result["subscales"]["functioning"] for r in runs.values() if len(r) > 2]
    later_f = [r[-1].result["subscales"]["functioning"] for r in runs.values() if len(r) > 2]
    assert first_f and sum(later_f) / len(later_f) < sum(first_f) / len(first_f)
    assert 10 <= sum(r[0].total for r in runs.values()) / len(runs) <= 30
    for admin in (a for a in coreom if a.has_critical):
        assert Alert.objects.filter(
            kind="crisis", source_type="measures.administration", source_id=str(admin.pk)
        ).exists()
    # The SPARQ is answered after sessions by the third therapist's clients, a few hours
    # after an attended session; Positive affect (the total) grows over the first sessions.
    therapist_pks = list(
        User.objects.filter(role=Role.THERAPIST).order_by("pk").values_list("pk", flat=True)
    )
    assert sparq and {a.episode.therapist_id for a in sparq} == {therapist_pks[2]}
    assert summary["SPARQ questionnaires"] == len(sparq)
    by_client: dict[int, list[Administration]] = {}
    for admin in sorted(sparq, key=lambda a: a.completed_at):
        by_client.setdefault(admin.client_id, []).append(admin)
    firsts = [runs[0].total for runs in by_client.values()]
    laters = [a.total for runs in by_client.values() for a in runs[6:]]
    assert laters and sum(laters) / len(laters) > sum(firsts) / len(firsts)
    spanish = [a for a in rows if a.result.get("language") == "es-US"]
    assert spanish and {a.client_id for a in spanish} == {
        r.client_id for r in MeasureRequest.objects.filter(language="es-US")
    }
    # Sessions on the day the demo is run, for every therapist.
    # 22 November 2026 is a Sunday: the standing calendar has nothing on it.
    assert TODAY.weekday() == 6
    per_therapist = Counter(
        Appointment.objects.filter(starts_at__date=TODAY).values_list(
            "episode__therapist", flat=True
        )
    )
    therapists = User.objects.filter(role=Role.THERAPIST)
    assert all(per_therapist[t.pk] >= 1 for t in therapists)
    assert sum(per_therapist.values()) >= 2 * therapists.count()
    # The outcomes "after therapy" panel has figures for psychodynamic work.
    board = dashboard.compute(dashboard.load_frame(practice.pk), scope="practice")
    group = next(g for g in board.followup if g.label == "Psychodynamic and psychoanalysis")
    cells = {cell.months: cell for cell in group.cells}
    for months in (6, 12):
        assert not cells[months].suppressed, months
        assert cells[months].n >= dashboard.MIN_CELL
    # Benchmarks sit beside the practice's matching episodes: several with a figure and a
    # verdict, the CBT benchmark among the rows, and any row without enough episodes says so.
    rows = {r.benchmark.id: r for r in board.benchmark_rows}
    assert "hans-hiller-2013-cbt-depression-routine" in rows
    # The NHS rate rows, reliable improvement among them, have a figure on the demo's short
    # finished courses.
    nhs = [r for r in rows.values() if r.is_rate]
    assert {r.benchmark.rate for r in nhs} >= {"recovery", "reliable_improvement"}
    improvement = rows["nhs-digital-2018-19-reliable-improvement"]
    assert improvement.status != "too_few" and "%" in improvement.practice_figure
    assert sum(r.status in ("inside", "above", "below") for r in rows.values()) >= 3
    assert all(r.verdict and (r.status == "too_few") == (r.estimate is None) for r in rows.values())
    # After therapy: both questionnaires with the carried-forward bound, and the modality
    # comparison at 6 and 12 months in words.
    assert len(board.modality_differences) == 4
    assert all("months after ending" in d.words for d in board.modality_differences)
    gad = next(
        c
        for c in board.aftercare
        if (c.measure, c.group, c.months) == ("GAD-7", "Psychodynamic and psychoanalysis", 12)
    )
    assert gad.observed.n >= dashboard.MIN_CELL and gad.n_due >= gad.observed.n
    # Mixed change (better on one questionnaire, worse on the other) has a shown figure.
    assert not board.mixed.suppressed and board.mixed.n == board.improvement.n
    # Clinical significance is shown on both questionnaires, with more than one category.
    for row in board.jacobson_truax:
        assert row.reference is not None and row.reference.kind == "c", row.reason
        shown = [getattr(row, k) for k in ("recovered", "improved", "unchanged", "deteriorated")]
        assert not any(rate.suppressed for rate in shown)
        assert sum(rate.events for rate in shown) == row.n
        assert sum(rate.events > 0 for rate in shown) >= 3


def the_audit_trail_records_the_seeded_writing_and_verifies() -> None:
    entry = AuditEntry.objects.get(action="import")
    assert entry.detail["synthetic"] is True
    assert trail.verify().ok
    # Bulk history carries its action's entries, by the person who wrote it, flagged.
    note = ProgressNote.objects.filter(signed_at__isnull=False).order_by("pk").first()
    assert note is not None
    entries = AuditEntry.objects.filter(object_type="care.progressnote", object_id=str(note.pk))
    assert {e.action for e in entries} == {"create", "update"}
    assert {e.actor_id for e in entries} == {note.author_id}
    assert AuditEntry.objects.filter(detail__demo_history=True).exists()
    # Recent writing went through the actions themselves (no history flag).
    assert AuditEntry.objects.filter(
        object_type="process.journalentry", action="create", actor__role=Role.CLIENT
    ).exists()
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "OK" in out.getvalue()
    # A theme search ran through the worker's code with the word-overlap fallback.
    themes = RecurringTheme.objects.filter(origin="found")
    assert themes.exists() and all(t.fallback for t in themes)
    assert themes.filter(status="accepted").exists() and themes.filter(status="dismissed").exists()


def every_printed_login_works_and_the_client_has_a_questionnaire_waiting(logins, data_dir) -> None:
    roles = [login.role for login in logins]
    assert roles == [
        "admin",
        "therapist",
        "therapist",
        "therapist",
        "therapist",
        "client",
        "client",
    ]
    assert all(login.name for login in logins)
    waiting, journaling = logins[-2:]
    assert "questionnaire waiting" in waiting.note
    for login in logins:
        http = sign_in(login)
        home = http.get(reverse("core:home"), follow=True)
        assert home.status_code == 200
        assert b"Synthetic demo data" in home.content
    client = Client.objects.get(user__email=waiting.email)
    assert client.progress_visible_to_client
    requests = MeasureRequest.objects.filter(client=client, status=RequestStatus.OPEN)
    assert requests.count() == 2 and all(r.is_answerable() for r in requests)
    assert not Administration.objects.filter(request__in=requests).exists()
    assert RequestLink.objects.filter(request__in=requests).exists()
    portal = sign_in(waiting).get(reverse("measures:portal"))
    assert portal.status_code == 200
    answer = reverse("measures:answer", args=[requests.first().pk])  # type: ignore[union-attr]
    assert answer.encode() in portal.content
    other = Client.objects.get(user__email=journaling.email)
    assert other.journal.filter(shared_at__isnull=False).exists()
    # The invitation e-mail holds a one-time link that opens the questionnaire.
    outbox = data_dir / "outbox"
    sent = [p.read_text(encoding="utf-8") for p in outbox.iterdir()] if outbox.exists() else []
    sent += [f"To: {', '.join(m.to)}\n{m.body}" for m in getattr(mail, "outbox", [])]
    mine = [t for t in sent if waiting.email in t and "/m/" in t]
    assert mine, "no questionnaire email for the featured client"
    path = re.search(r"https?://[^/\s]+(/m/[^\s]+/)", mine[0])
    assert path is not None
    assert HttpClient().get(path.group(1)).status_code == 200


@override_settings(DEMO=True)
def test_seeding_again_keeps_the_data_and_the_logins_and_the_command_prints_them(
    db, data_dir
) -> None:
    first, _ = ensure_demo(TODAY)
    counts = (Client.objects.count(), Administration.objects.count(), ProgressNote.objects.count())
    second, summary = ensure_demo(TODAY)
    assert summary is None
    assert (
        Client.objects.count(),
        Administration.objects.count(),
        ProgressNote.objects.count(),
    ) == counts
    assert first == second
    # The featured client stays featured after the questionnaire is no longer waiting.
    therapist = User.objects.filter(role=Role.THERAPIST).first()
    for request in MeasureRequest.objects.filter(status=RequestStatus.OPEN):
        measure_actions.cancel_request(trail.Context(user=therapist), request)
    assert ensure_demo(TODAY)[0] == first
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    printed = out.getvalue()
    for login in first:
        assert login.email in printed and login.password in printed and login.name in printed
    assert "questionnaire waiting" in printed
    assert str(data_dir / "outbox") in printed
    assert Client.objects.count() == counts[0]
    # A lost logins file gets new passwords, which work.
    logins_path().unlink()
    logins, _ = ensure_demo(TODAY)
    stored = json.loads(logins_path().read_text())
    assert logins[0].password == stored["admin"] != first[0].password
    for login in logins:
        assert User.objects.get(email=login.email).check_password(login.password)


def test_seed_refuses_a_database_with_a_real_practice(db, data_dir) -> None:
    Practice.objects.create(slug="real", name="A real practice")
    with pytest.raises(SeedRefused):
        ensure_demo(TODAY)
    assert not Practice.objects.filter(is_demo=True).exists()


@override_settings(DEMO=False)
def test_demo_command_only_runs_through_reverie_demo(db) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="reverie demo"):
        call_command("demo", "--no-serve")
