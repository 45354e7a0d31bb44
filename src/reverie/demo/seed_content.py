"""Seeding the demo's clinical writing, alerts, intake queue, questionnaires and themes.

:mod:`reverie.demo.seed` writes the skeleton of the practice and calls
:func:`write_clinical` inside the same transaction, then :func:`write_after_summaries`
once the outcome summaries exist. What is written comes from the generative model
(:mod:`reverie.demo.material`); this module only puts it into the database.

**Actions or bulk.** What a visitor meets first -- the last fortnight's notes and
reflections, every process note, journal entry and relationship episode, the CCRT
groups, the intake queue, the open alerts, the questionnaire waiting for a client, the
theme searches -- goes through the same action a therapist, client or admin would use,
with that person as the actor, so the audit trail reads as in real use. The long history
of progress notes, session reflections and past alerts (thousands of rows; through the
actions they would take most of a minute on a small machine) is written with
``bulk_create`` into exactly the rows the actions produce, and then gets, one by one, the
audit entries those actions write (same actor, action, object and detail), with
``"demo_history": true`` added to the detail so the trail says they were seeded.

**Dates.** Actions stamp what they make with the moment they run. The seed then moves
those timestamps (``created_at``, ``updated_at``, ``signed_at``, ``shared_at``) back to
the moment the model says the thing was written, with ``bulk_update`` on those plain
date columns only. Audit entries keep the moment of seeding: the trail records when the
rows really came into being.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import actions as care_actions
from reverie.care.models import (
    Alert,
    AlertKind,
    Appointment,
    Client,
    Episode,
    EpisodeStatus,
    NoteAddendum,
    ProcessNote,
    ProgressNote,
)
from reverie.demo import seed_billing, seed_instruments, seed_messaging, seed_scheduling
from reverie.demo.material import RelationshipEpisodeSpec
from reverie.demo.model import ClientSpec, EpisodeSpec, SyntheticPractice
from reverie.demo.texts import Words
from reverie.directory import actions as directory_actions
from reverie.directory.models import ConsultationRequest
from reverie.lifecycle.models import ExportStatus, RecordExport
from reverie.measures import actions as measure_actions
from reverie.measures import registry, scoring
from reverie.measures.models import Administration, Instrument, MeasureRequest, RequestStatus
from reverie.measures.scoring import CriticalHit
from reverie.messaging.models import Message
from reverie.outcomes import actions as outcome_actions
from reverie.outcomes.models import SupportReview
from reverie.paperwork import actions as paperwork_actions
from reverie.paperwork.documents import SENT_TO_EVERY_CLIENT
from reverie.paperwork.models import Document, FormRequest
from reverie.process import actions as process_actions
from reverie.process import seeded as process_seeded
from reverie.process import theme_runs
from reverie.process.models import (
    AssignmentStatus,
    FormulationAssignment,
    FormulationGroup,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    SessionReflection,
    ThemeRun,
    ThemeStatus,
)
from reverie.process.themes import Evidence
from reverie.scheduling.models import Booking, BookingStatus, MoveRequest, WaitlistEntry

#: What happened in this many days before today is written through the actions.
RECENT_DAYS: Final = 14
#: Added to the detail of every audit entry written for bulk-seeded history.
HISTORY: Final = {"demo_history": True}
#: How the CCRT suggestions are described: the words of the page, since the demo groups
#: by identical wording (no sentence model is needed).
GROUPING_METHOD: Final = "suggested by identical wording (the sentence model is not installed)"
#: Share of past crisis alerts that nobody acknowledged within the escalation time.
_ESCALATED_SHARE: Final = 0.2
#: Share of other open clients who may see their own outcome charts.
_CHARTS_VISIBLE_SHARE: Final = 0.5
_BATCH: Final = 1000


@dataclass
class EpisodeRows:
    """One episode's spec and rows; ``sessions`` and ``administrations`` are aligned with
    ``spec.sessions`` and ``spec.measurements`` (``None`` for one not written)."""

    spec: EpisodeSpec
    episode: Episode
    sessions: list[Appointment]
    administrations: list[Administration | None]
    #: Questionnaires beyond the model's PHQ-9/GAD-7 (CORE-10, CORE-OM, SPARQ; see
    #: seed_instruments).
    extra_administrations: list[Administration] = field(default_factory=list)


@dataclass
class ClientRows:
    spec: ClientSpec
    client: Client
    portal: User | None
    episodes: list[EpisodeRows]
    journal: list[JournalEntry] = field(default_factory=list)


@dataclass
class Seeded:
    """What the skeleton wrote, for the later steps."""

    practice: Practice
    admin: User
    therapists: list[User]
    clients: list[ClientRows] = field(default_factory=list)
    live_crisis: Alert | None = None
    waiting: ClientRows | None = None
    journal_client: ClientRows | None = None

    def ctx(self, user: User) -> trail.Context:
        return trail.Context(user=user)


def _local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _backdate(model: type[Model], rows: list[tuple[Model, dict[str, Any]]]) -> None:
    """Move action-made timestamps back to when the model says things were written.

    Only plain date-time columns are touched. One ``executemany`` of a parameterised
    UPDATE per model: ``bulk_update`` compiles a CASE expression per row, which made it
    the slowest step of seeding; the values are still prepared by the model's own
    fields, so what is stored is what ``save()`` would store.
    """
    if not rows:
        return
    names = sorted({name for _, values in rows for name in values})
    fields: list[Field[Any, Any]] = []
    for name in names:
        found = model._meta.get_field(name)
        if not isinstance(found, Field):  # pragma: no cover - only concrete columns are named
            raise TypeError(f"{name} is not a column")
        fields.append(found)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    params = []
    for obj, values in rows:
        for name, value in values.items():
            setattr(obj, name, value)
        prepared = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
        params.append([*prepared, obj.pk])
    with connection.cursor() as cursor:
        pk = quote(str(model._meta.pk.column))
        cursor.executemany(f"UPDATE {table} SET {columns} WHERE {pk} = %s", params)  # noqa: S608


def _open_episode(rows: ClientRows) -> EpisodeRows | None:
    return next((e for e in rows.episodes if e.episode.status != EpisodeStatus.ENDED), None)


# ---------------------------------------------------------------------------------------------
# Step 2: inside the skeleton's transaction
# ---------------------------------------------------------------------------------------------


def write_clinical(seeded: Seeded, spec: SyntheticPractice) -> None:
    """Notes, reflections, journals, relationship episodes and the CCRT, the intake queue,
    crisis alerts and who may see their charts."""
    recent_from = spec.as_of - datetime.timedelta(days=RECENT_DAYS)
    words = Words(spec.seed + 101)
    _choose_featured(seeded, spec)
    _progress_notes(seeded, recent_from)
    _process_notes(seeded)
    _reflections(seeded, recent_from)
    _journals(seeded)
    _relationship_episodes(seeded, recent_from)
    _consultations(seeded, spec)
    _crisis_alerts(seeded, spec, words)
    _chart_visibility(seeded, words)
    _paperwork(seeded)
    _telehealth(seeded, spec.as_of)
    seed_scheduling.write_scheduling(seeded, spec.as_of)
    seed_messaging.write_messaging(seeded)
    seed_billing.write_billing(seeded, spec.as_of)


def _choose_featured(seeded: Seeded, spec: SyntheticPractice) -> None:
    """The two clients whose logins are printed.

    The first will have a questionnaire waiting: an active client with a few scores to
    chart and both shared and private journal entries, preferably seen today. The second
    is the client who shared most of their journal.
    """

    def has_history(rows: ClientRows) -> bool:
        current = _open_episode(rows)
        return (
            rows.portal is not None
            and current is not None
            and current.episode.status == EpisodeStatus.ACTIVE
            and sum(a is not None and a.timepoint != "intake" for a in current.administrations) >= 4
            and any(j.shared_at for j in rows.spec.journal)
            and any(j.shared_at is None for j in rows.spec.journal)
        )

    def seen_today(rows: ClientRows) -> bool:
        return any(s.start.date() == spec.today for e in rows.spec.episodes for s in e.sessions)

    candidates = sorted((r for r in seeded.clients if has_history(r)), key=lambda r: r.spec.email)
    if not candidates:
        candidates = sorted(
            (r for r in seeded.clients if r.portal is not None and _open_episode(r)),
            key=lambda r: r.spec.email,
        )
    if candidates:
        seeded.waiting = next((r for r in candidates if seen_today(r)), candidates[0])
    others = [r for r in seeded.clients if r.portal is not None and r is not seeded.waiting]
    if others:
        seeded.journal_client = max(
            others,
            key=lambda r: (sum(j.shared_at is not None for j in r.spec.journal), r.spec.email),
        )


def _progress_notes(seeded: Seeded, recent_from: datetime.datetime) -> None:
    history: list[ProgressNote] = []
    made: dict[tuple[int, int], ProgressNote] = {}
    moved: list[tuple[Model, dict[str, Any]]] = []
    for rows in seeded.clients:
        for ep in rows.episodes:
            therapist = ep.episode.therapist
            for note in ep.spec.progress_notes:
                appointment = ep.sessions[note.session_index]
                fields = {
                    "session_date": _local_date(appointment.starts_at),
                    "attendance": note.attendance,
                    "duration_minutes": appointment.duration_minutes,
                    "risk_assessment": note.risk_assessment,
                    "interventions": note.interventions,
                    "content": note.content,
                    "plan": note.plan,
                }
                if appointment.starts_at >= recent_from:
                    ctx = seeded.ctx(therapist)
                    row = care_actions.save_progress_note(
                        ctx, episode=ep.episode, fields=fields, appointment=appointment
                    )
                    if note.signed_at is not None:
                        care_actions.sign_progress_note(ctx, row)
                    moved.append(
                        (
                            row,
                            {
                                "created_at": note.written_at,
                                "updated_at": note.written_at,
                                "signed_at": note.signed_at,
                            },
                        )
                    )
                else:
                    row = ProgressNote(
                        episode=ep.episode,
                        appointment=appointment,
                        author=therapist,
                        created_at=note.written_at,
                        updated_at=note.written_at,
                        signed_at=note.signed_at,
                        **fields,
                    )
                    history.append(row)
                made[(id(ep), note.session_index)] = row
    ProgressNote.objects.bulk_create(history, batch_size=_BATCH)
    for row in history:
        ctx = trail.Context(user=row.author)
        client_id = row.episode.client_id
        trail.record(ctx, Action.CREATE, row, client_id=client_id, detail=dict(HISTORY))
        if row.signed_at is not None:
            trail.record(
                ctx, Action.UPDATE, row, client_id=client_id, detail={"signed": True, **HISTORY}
            )
    _backdate(ProgressNote, moved)
    # A few signed notes were corrected later: addenda go through the action.
    added: list[tuple[Model, dict[str, Any]]] = []
    for rows in seeded.clients:
        for ep in rows.episodes:
            for note in ep.spec.progress_notes:
                if not note.addendum:
                    continue
                row = made[(id(ep), note.session_index)]
                addendum = care_actions.add_addendum(
                    seeded.ctx(ep.episode.therapist), row, note.addendum
                )
                added.append((addendum, {"created_at": note.addendum_at}))
    _backdate(NoteAddendum, added)


def _process_notes(seeded: Seeded) -> None:
    moved: list[tuple[Model, dict[str, Any]]] = []
    for rows in seeded.clients:
        for ep in rows.episodes:
            ctx = seeded.ctx(ep.episode.therapist)
            for note in ep.spec.process_notes:
                row = process_actions.save_process_note(
                    ctx,
                    episode=ep.episode,
                    text=note.text,
                    appointment=ep.sessions[note.session_index],
                )
                moved.append((row, {"created_at": note.written_at, "updated_at": note.written_at}))
    _backdate(ProcessNote, moved)


def _reflections(seeded: Seeded, recent_from: datetime.datetime) -> None:
    history: list[SessionReflection] = []
    moved: list[tuple[Model, dict[str, Any]]] = []
    for rows in seeded.clients:
        for ep in rows.episodes:
            therapist = ep.episode.therapist
            for reflection in ep.spec.reflections:
                appointment = ep.sessions[reflection.session_index]
                if appointment.starts_at >= recent_from:
                    row = process_actions.save_reflection(
                        seeded.ctx(therapist),
                        appointment=appointment,
                        scores=reflection.as_dict(),
                        comment=reflection.comment,
                    )
                    stamp = {
                        "created_at": reflection.written_at,
                        "updated_at": reflection.written_at,
                    }
                    moved.append((row, stamp))
                    continue
                history.append(
                    SessionReflection(
                        appointment=appointment,
                        episode=ep.episode,
                        author=therapist,
                        session_date=_local_date(appointment.starts_at),
                        comment=reflection.comment,
                        created_at=reflection.written_at,
                        updated_at=reflection.written_at,
                        **reflection.as_dict(),
                    )
                )
    SessionReflection.objects.bulk_create(history, batch_size=_BATCH)
    for row in history:
        trail.record(
            trail.Context(user=row.author),
            Action.CREATE,
            row,
            client_id=row.episode.client_id,
            detail={"appointment": row.appointment_id, **HISTORY},
        )
    _backdate(SessionReflection, moved)


def _journals(seeded: Seeded) -> None:
    moved: list[tuple[Model, dict[str, Any]]] = []
    for rows in seeded.clients:
        if rows.portal is None:
            continue
        ctx = seeded.ctx(rows.portal)
        for entry in rows.spec.journal:
            row = process_actions.create_journal_entry(
                ctx,
                fields={
                    "kind": entry.kind,
                    "title": entry.title,
                    "text": entry.text,
                    "mood": entry.mood,
                    "tags": list(entry.tags),
                    "entry_date": entry.entry_date,
                },
                share=entry.shared_at is not None,
            )
            rows.journal.append(row)
            moved.append(
                (
                    row,
                    {
                        "created_at": entry.written_at,
                        "updated_at": entry.written_at,
                        "shared_at": entry.shared_at,
                    },
                )
            )
    _backdate(JournalEntry, moved)


def _relationship_episodes(seeded: Seeded, recent_from: datetime.datetime) -> None:
    """Relationship episodes through the workbench's action; older ones grouped and
    confirmed by the therapist, the last fortnight's left as suggestions to confirm."""
    recent_day = _local_date(recent_from)
    for recent in (False, True):
        moved: list[tuple[Model, dict[str, Any]]] = []
        grouping: dict[int, tuple[ClientRows, User]] = {}
        for rows in seeded.clients:
            for ep in rows.episodes:
                for spec in ep.spec.relationship_episodes:
                    if (spec.occurred_on >= recent_day) != recent:
                        continue
                    row = _save_relationship_episode(seeded, rows, ep, spec)
                    written = datetime.datetime.combine(
                        spec.occurred_on, datetime.time(20, 30), tzinfo=datetime.UTC
                    )
                    moved.append((row, {"created_at": written, "updated_at": written}))
                    grouping[rows.client.pk] = (rows, ep.episode.therapist)
        _backdate(RelationshipEpisode, moved)
        for rows, therapist in grouping.values():
            ctx = seeded.ctx(therapist)
            process_actions.suggest_formulation_groups(
                ctx, client=rows.client, embedder=None, method=GROUPING_METHOD
            )
            if recent:
                continue  # the therapist has not got round to these yet
            for component in ("wish", "ro", "rs"):
                suggested = dict(
                    FormulationAssignment.objects.filter(
                        relationship_episode__client=rows.client,
                        component=component,
                        status=AssignmentStatus.SUGGESTED,
                    ).values_list("relationship_episode_id", "group_id")
                )
                if suggested:
                    process_actions.save_groups(
                        ctx,
                        client=rows.client,
                        component=component,
                        assignments=suggested,
                        labels={},
                    )


def _save_relationship_episode(
    seeded: Seeded, rows: ClientRows, ep: EpisodeRows, spec: RelationshipEpisodeSpec
) -> RelationshipEpisode:
    from_journal = spec.journal_index is not None
    return process_actions.save_relationship_episode(
        seeded.ctx(ep.episode.therapist),
        client=rows.client,
        fields={
            "occurred_on": spec.occurred_on,
            "source": "journal" if from_journal else "session",
            "appointment": None if spec.session_index is None else ep.sessions[spec.session_index],
            "journal_entry": rows.journal[spec.journal_index]
            if spec.journal_index is not None
            else None,
            "other_person": spec.other_person,
            "other_person_note": spec.other_person_note,
            "narrative": spec.narrative,
            "wish": spec.wish,
            "response_of_other": spec.response_of_other,
            "ro_valence": spec.ro_valence,
            "response_of_self": spec.response_of_self,
            "rs_valence": spec.rs_valence,
        },
    )


def _consultations(seeded: Seeded, spec: SyntheticPractice) -> None:
    """The intake queue: requests through the public form's action, triaged by the admin."""
    public = trail.Context(user=None, label="public:consultation form", practice=seeded.practice)
    admin = seeded.ctx(seeded.admin)
    moved: list[tuple[Model, dict[str, Any]]] = []
    for request_spec in spec.consultation_requests:
        request = directory_actions.submit_consultation(
            public,
            seeded.practice,
            name=request_spec.name,
            email=request_spec.email,
            phone=request_spec.phone,
            contact_by=request_spec.contact_by,
            therapists=[seeded.therapists[i] for i in request_spec.therapist_indexes],
            days=list(request_spec.days),
            times=list(request_spec.times),
            availability_note=request_spec.availability_note,
            message=request_spec.message,
        )
        updated = request_spec.created_at
        if request_spec.status != "new":
            assigned = request_spec.assigned_therapist
            directory_actions.triage(
                admin,
                request,
                status=request_spec.status,
                triage_notes=request_spec.triage_note,
                assigned_therapist=seeded.therapists[assigned] if assigned is not None else None,
            )
            updated = min(
                request_spec.created_at + datetime.timedelta(hours=20),
                timezone.now() - datetime.timedelta(minutes=1),
            )
        moved.append((request, {"created_at": request_spec.created_at, "updated_at": updated}))
    _backdate(ConsultationRequest, moved)


def _paperwork(seeded: Seeded) -> None:
    """Intake forms for every client in care with a portal account. Clients still in
    intake have signed nothing yet (Today and the caseload flag them); the others signed
    the forms two days before their episode began, a third of them also a release of
    information to their family doctor (most since expired). The featured client has the
    telehealth consent still to sign, so their portal shows the signing."""
    admin = seeded.ctx(seeded.admin)
    paperwork_actions.ensure_forms(admin, seeded.practice)
    moved: list[tuple[Model, dict[str, Any]]] = []
    for index, rows in enumerate(seeded.clients):
        current = _open_episode(rows)
        if rows.portal is None or current is None:
            continue
        kinds = list(SENT_TO_EVERY_CLIENT)
        if index % 3 == 0 and current.episode.status != EpisodeStatus.INTAKE:
            kinds.append("release_of_information")
        requests = paperwork_actions.send_forms(admin, rows.client, kinds=kinds, notify=False)
        start = datetime.datetime.combine(
            current.episode.start_date - datetime.timedelta(days=2),
            datetime.time(19, 30),
            tzinfo=timezone.get_current_timezone(),
        )
        moved.extend((r, {"sent_at": start - datetime.timedelta(days=1)}) for r in requests)
        if current.episode.status == EpisodeStatus.INTAKE:
            continue
        ctx = trail.Context(user=rows.portal, ip=f"192.0.2.{10 + index % 200}")  # RFC 5737
        for request in requests:
            kind = request.version.form.kind
            if rows is seeded.waiting and kind in ("telehealth_consent", "release_of_information"):
                continue
            extra: dict[str, Any] = {}
            if kind == "release_of_information":
                extra = {
                    "recipient": "Family doctor (synthetic demo practice)",
                    "scope": "Dates of attendance and a short summary, for continuity of care.",
                    "expires_on": timezone.localdate() + datetime.timedelta(days=30),
                }
            if kind == "history_questionnaire":
                concerns = (
                    ", ".join(rows.client.concern_labels).lower() or "how I have been feeling"
                )
                extra = {"answers": {"reason": f"Synthetic demo answer: {concerns}."}}
            paperwork_actions.sign(
                ctx,
                request,
                typed_name=f"{rows.client.given_name} {rows.client.family_name}",
                esign_consent=True,
                document_sha256=request.version.sha256,
                **extra,
            )
            values: dict[str, Any] = {"signed_at": start, "esign_consent_at": start}
            if kind == "release_of_information":
                values["expires_on"] = start.date() + datetime.timedelta(days=180)
            moved.append((request, values))
    _backdate(FormRequest, moved)
    _referral_letters(seeded)


def _telehealth(seeded: Seeded, as_of: datetime.datetime) -> None:
    """Video sessions: every therapist who offers telehealth has a room at the (reserved,
    RFC 2606) example.org address, and the coming sessions of one open client in three, and
    of the featured client, are by video, set through the same action as the client page."""
    for index, rows in enumerate(seeded.clients):
        current = _open_episode(rows)
        if current is None:
            continue
        therapist = current.episode.therapist
        profile = getattr(therapist, "profile", None)
        if profile is None or not profile.telehealth:
            continue
        if index % 3 != 1 and rows is not seeded.waiting:
            continue
        room = f"https://video.example.org/demo/{therapist.full_name.split()[0].lower()}"
        ctx = seeded.ctx(therapist)
        for session in current.sessions:
            if session.starts_at >= as_of and session.attendance == "scheduled":
                care_actions.set_video_link(ctx, session, room)


def _referral_letter_pdf(rows: ClientRows) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, "Referral letter - SYNTHETIC DEMO DATA", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    concerns = ", ".join(rows.client.concern_labels).lower() or "low mood"
    pdf.multi_cell(
        0,
        6,
        f"Dear colleague, I would be grateful if you could see {rows.client.given_name} "
        f"{rows.client.family_name} for an assessment for psychotherapy. They describe "
        f"{concerns}. This letter was generated for Reverie's demo practice; the person "
        "and the doctor do not exist.",
    )
    return bytes(pdf.output())


def _referral_letters(seeded: Seeded) -> None:
    """A referral letter (a generated PDF, labelled synthetic) in the record of every
    client still in intake, added by the practice admin."""
    admin = seeded.ctx(seeded.admin)
    moved: list[tuple[Model, dict[str, Any]]] = []
    for rows in seeded.clients:
        current = _open_episode(rows)
        if current is None or current.episode.status != EpisodeStatus.INTAKE:
            continue
        document = paperwork_actions.upload_document(
            admin,
            rows.client,
            kind="referral",
            name=f"referral-{rows.client.family_name.lower()}.pdf",
            data=_referral_letter_pdf(rows),
        )
        when = datetime.datetime.combine(
            current.episode.start_date - datetime.timedelta(days=5),
            datetime.time(10, 0),
            tzinfo=timezone.get_current_timezone(),
        )
        moved.append((document, {"uploaded_at": when}))
    _backdate(Document, moved)


def _crisis_alerts(seeded: Seeded, spec: SyntheticPractice, words: Words) -> None:
    """A crisis alert for every questionnaire that answered a crisis item, as a submission
    through the portal would have raised.

    The latest one of an open episode in the last fortnight is raised now through the
    action (it e-mails the therapist) and left for the therapist; the rest are history:
    acknowledged, some of them only after they had been escalated to the admin.
    """
    from reverie.measures.actions import crisis_summary

    window = spec.as_of - datetime.timedelta(days=RECENT_DAYS)
    found: list[tuple[ClientRows, EpisodeRows, Administration]] = []
    for rows in seeded.clients:
        for ep in rows.episodes:
            found.extend(
                (rows, ep, a)
                for a in (*ep.administrations, *ep.extra_administrations)
                if a is not None and a.has_critical
            )
    found.sort(key=lambda item: item[2].completed_at)
    live = next(
        (
            item
            for item in reversed(found)
            if item[1].episode.status != EpisodeStatus.ENDED and item[2].completed_at >= window
        ),
        None,
    )
    escalation = datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES)
    history: list[tuple[Alert, User | None]] = []
    for rows, ep, administration in found:
        summary = crisis_summary(
            registry.definition(administration.instrument.code), _hits(administration)
        )
        if live is not None and administration is live[2]:
            ctx = (
                seeded.ctx(rows.portal)
                if rows.portal
                else trail.system("measures", seeded.practice)
            )
            alert = care_actions.raise_alert(
                ctx,
                client=rows.client,
                kind=AlertKind.CRISIS,
                summary=summary,
                episode=ep.episode,
                source=administration,
            )
            # Raised when the questionnaire came in, as the submission would have done.
            Alert.objects.filter(pk=alert.pk).update(created_at=administration.completed_at)
            seeded.live_crisis = alert
            continue
        created = administration.completed_at + datetime.timedelta(seconds=words.between(1, 20))
        escalated = None
        acknowledger = ep.episode.therapist
        if _nobody_in_care(rows, administration):
            # A follow-up after treatment ended: no therapist is responsible any more, so
            # the alert goes to the practice admins at once, and an admin acknowledges it.
            escalated = created + datetime.timedelta(minutes=1)
            acknowledged = escalated + datetime.timedelta(minutes=words.between(30, 600))
            acknowledger = seeded.admin
        elif words.chance(_ESCALATED_SHARE):
            escalated = created + escalation + datetime.timedelta(minutes=words.between(1, 5))
            acknowledged = escalated + datetime.timedelta(minutes=words.between(30, 600))
        else:
            acknowledged = created + datetime.timedelta(minutes=words.between(5, 55))
        history.append(
            (
                Alert(
                    client=rows.client,
                    episode=ep.episode,
                    kind=AlertKind.CRISIS,
                    summary=summary,
                    source_type="measures.administration",
                    source_id=str(administration.pk),
                    created_at=created,
                    acknowledged_at=acknowledged,
                    acknowledged_by=acknowledger,
                    escalated_at=escalated,
                ),
                rows.portal,
            )
        )
    _write_history_alerts(seeded, history, raised_by="measures")


def _nobody_in_care(rows: ClientRows, administration: Administration) -> bool:
    """Whether no episode of the client was open when the questionnaire came in."""
    day = _local_date(administration.completed_at)
    return not any(
        e.episode.start_date <= day and (e.episode.end_date is None or day <= e.episode.end_date)
        for e in rows.episodes
    )


def _hits(administration: Administration) -> tuple[CriticalHit, ...]:
    definition = registry.definition(administration.instrument.code)
    return scoring.score(definition, administration.answers).critical_hits


def _write_history_alerts(
    seeded: Seeded, alerts: Sequence[tuple[Alert, User | None]], *, raised_by: str
) -> None:
    """Past alerts in bulk, with the audit entries raising, escalating and acknowledging
    them wrote (``care.actions.raise_alert``, ``escalate_unacknowledged``,
    ``acknowledge_alert``)."""
    rows = [alert for alert, _ in alerts]
    Alert.objects.bulk_create(rows, batch_size=_BATCH)
    worker = trail.system("worker", practice=seeded.practice)
    for alert, raiser in alerts:
        ctx = seeded.ctx(raiser) if raiser is not None else trail.system(raised_by, seeded.practice)
        trail.record(
            ctx,
            Action.CREATE,
            alert,
            client_id=alert.client_id,
            detail={"kind": alert.kind, **HISTORY},
        )
        if alert.escalated_at is not None:
            trail.record(
                worker,
                Action.UPDATE,
                alert,
                client_id=alert.client_id,
                detail={"escalated": True, **HISTORY},
            )
        if alert.acknowledged_by is not None:
            trail.record(
                trail.Context(user=alert.acknowledged_by),
                Action.UPDATE,
                alert,
                client_id=alert.client_id,
                detail={"acknowledged": True, **HISTORY},
            )


def _chart_visibility(seeded: Seeded, words: Words) -> None:
    """The featured clients, and about half of the other clients in treatment, may see
    their own outcome charts (the therapist switches it on in the client's record)."""
    for rows in seeded.clients:
        current = _open_episode(rows)
        if current is None:
            continue
        featured = rows is seeded.waiting or rows is seeded.journal_client
        if featured or words.chance(_CHARTS_VISIBLE_SHARE):
            care_actions.update_client(
                seeded.ctx(current.episode.therapist),
                rows.client,
                {"progress_visible_to_client": True},
            )


# ---------------------------------------------------------------------------------------------
# Step 3: after the outcome summaries are built
# ---------------------------------------------------------------------------------------------


def write_after_summaries(seeded: Seeded, spec: SyntheticPractice) -> None:
    words = Words(spec.seed + 202)
    _not_on_track_history(seeded, spec, words)
    _support_review(seeded)
    # The worker's escalation job, run once now: a crisis alert nobody acknowledged within
    # the escalation time reaches the practice admin (by e-mail and on their alerts page).
    care_actions.escalate_unacknowledged()
    _questionnaire_waiting(seeded)
    seed_instruments.write_spanish(seeded)
    _theme_searches(seeded)


def _not_on_track_history(seeded: Seeded, spec: SyntheticPractice, words: Words) -> None:
    """Past not-on-track alerts, found with the practice's dose curves at the sessions attended
    before each answer, as the refresh job finds them, each acknowledged by the therapist
    within three days.

    The refresh only raises alerts for questionnaires of the last fortnight (importing
    history must not flood the alerts page); the demo's history has been "lived", so its
    earlier alerts are written here, acknowledged, with the same rule: a new alert only
    when the episode has no open one.
    """
    from reverie.outcomes import recovery
    from reverie.outcomes.summary import ALERT_WINDOW, alert_summary

    rule = recovery.practice_rules(seeded.practice.pk, ["phq-9"])["phq-9"]
    now = timezone.now()
    window = now - ALERT_WINDOW
    phq9 = Instrument.objects.get(code="phq-9")
    raised = set(
        Alert.objects.filter(kind=AlertKind.NOT_ON_TRACK).values_list("source_id", flat=True)
    )
    attended = recovery.attended_starts(
        ep.episode.pk for rows in seeded.clients for ep in rows.episodes
    )
    history: list[tuple[Alert, User | None]] = []
    for rows in seeded.clients:
        for ep in rows.episodes:
            series = [
                a
                for a in ep.administrations
                if a is not None
                and a.instrument_id == phq9.pk
                and a.timepoint in ("intake", "session")
            ]
            open_until: datetime.datetime | None = None
            live_from = window if ep.episode.status != EpisodeStatus.ENDED else now
            modality = ep.episode.modality
            for position, administration in enumerate(series):
                if position < 1 or str(administration.pk) in raised:
                    continue
                if administration.completed_at >= live_from:
                    break  # the refresh job's own window
                if open_until is not None and administration.completed_at < open_until:
                    continue
                intake = series[0].total
                sessions = recovery.sessions_before(
                    attended.get(ep.episode.pk, []), administration.completed_at
                )
                if not rule.not_on_track(modality, sessions, administration.total, intake):
                    continue
                created = administration.completed_at + datetime.timedelta(
                    minutes=words.between(1, 10)
                )
                acknowledged = created + datetime.timedelta(minutes=words.between(120, 4320))
                acknowledged = min(acknowledged, now - datetime.timedelta(minutes=5))
                open_until = acknowledged
                history.append(
                    (
                        Alert(
                            client=rows.client,
                            episode=ep.episode,
                            kind=AlertKind.NOT_ON_TRACK,
                            summary=alert_summary(
                                "phq-9",
                                administration.total,
                                sessions,
                                intake,
                                modality,
                                rule.source(modality),
                            ),
                            source_type="measures.administration",
                            source_id=str(administration.pk),
                            created_at=created,
                            acknowledged_at=acknowledged,
                            acknowledged_by=ep.episode.therapist,
                        ),
                        None,
                    )
                )
    if not Alert.objects.filter(
        client__practice=seeded.practice,
        kind=AlertKind.NOT_ON_TRACK,
        acknowledged_at__isnull=True,
    ).exists():
        # The refresh raised none this time; the latest past alert of a client still in
        # treatment stays open, so the alerts page shows one waiting (an alert that is
        # not about a crisis is often left for the next session).
        still_open = [
            alert
            for alert, _ in history
            if alert.episode is not None and alert.episode.status != EpisodeStatus.ENDED
        ]
        if still_open:
            latest = max(still_open, key=lambda a: a.created_at)
            latest.acknowledged_at = None
            latest.acknowledged_by = None
    _write_history_alerts(seeded, history, raised_by="outcomes.refresh")


#: The note of the demo's completed clinical-support checklist (synthetic, like every text here).
SUPPORT_REVIEW_NOTE: Final = (
    "Asked directly about safety: no thoughts of self-harm, and a clear plan of whom to call. "
    "The rise followed a sibling moving abroad and the care of a parent falling to the client "
    "alone. Quietly agreeable in sessions since the last break; I named it, and the client "
    "said they had not wanted to seem ungrateful. Keep the current frequency; look again at "
    "the next questionnaire."
)


def _support_review(seeded: Seeded) -> None:
    """One not-on-track client whose therapist completed the clinical-support checklist
    (``outcomes/support.py``) after their latest acknowledged alert: saved through the
    action as the therapist would, then dated to the day the alert was acknowledged."""
    alert = (
        Alert.objects.filter(
            client__practice=seeded.practice,
            kind=AlertKind.NOT_ON_TRACK,
            acknowledged_at__isnull=False,
        )
        .exclude(episode__status=EpisodeStatus.ENDED)
        .exclude(episode__isnull=True)
        .select_related("episode__therapist")
        .order_by("-acknowledged_at", "-pk")
        .first()
    )
    if alert is None or alert.episode is None or alert.acknowledged_at is None:
        return
    review = outcome_actions.record_support_review(
        seeded.ctx(alert.episode.therapist),
        alert,
        reviewed=["risk", "alliance", "support", "events"],
        note=SUPPORT_REVIEW_NOTE,
    )
    _backdate(
        SupportReview,
        [(review, {"created_at": alert.acknowledged_at, "updated_at": alert.acknowledged_at})],
    )


def _questionnaire_waiting(seeded: Seeded) -> None:
    """The featured client is asked for a PHQ-9 and a GAD-7 now: answerable in the portal,
    and by the one-time link in the e-mail the action writes to the outbox."""
    rows = seeded.waiting
    if rows is None:
        return
    current = _open_episode(rows)
    if current is None:
        return
    ctx = seeded.ctx(current.episode.therapist)
    for code in ("phq-9", "gad-7"):
        measure_actions.create_request(
            ctx,
            episode=current.episode,
            instrument=Instrument.objects.get(code=code),
            timepoint="session",
            send=True,
        )


def _theme_searches(seeded: Seeded) -> None:
    """One recurring-theme search per therapist, for the client in their care with the
    most to read, carried out by the worker's own code with the word-overlap fallback
    (no model download). The therapist accepts the two largest themes and dismisses the
    smallest; the rest wait as suggestions."""
    queued: list[tuple[ThemeRun, User]] = []
    for therapist in seeded.therapists:
        best: tuple[int, ClientRows] | None = None
        for rows in seeded.clients:
            current = _open_episode(rows)
            if current is None or current.episode.therapist_id != therapist.pk:
                continue
            if current.episode.modality == "cbt":
                continue
            size = sum(j.shared_at is not None for j in rows.spec.journal) + sum(
                len(e.spec.relationship_episodes) for e in rows.episodes
            )
            if best is None or size > best[0]:
                best = (size, rows)
        if best is None:
            continue
        run = process_actions.queue_theme_run(
            seeded.ctx(therapist), client=best[1].client, use_fallback=True
        )
        queued.append((run, therapist))
    theme_runs.process_queued(me="demo seeding", max_runs=len(queued))
    for run, therapist in queued:
        themes = list(
            RecurringTheme.objects.filter(last_run=run, status=ThemeStatus.SUGGESTED).order_by(
                "-document_count", "pk"
            )
        )
        ctx = seeded.ctx(therapist)
        for theme in themes[:2]:
            process_actions.update_theme(ctx, theme, action="accept")
        if len(themes) >= 4:
            process_actions.update_theme(ctx, themes[-1], action="dismiss")
        _seeded_theme(ctx, run, therapist)


def _seeded_theme(ctx: trail.Context, run: ThemeRun, therapist: User) -> None:
    """The therapist also seeds a theme of their own for the same client: two sentences
    marked from different shared journal entries or episodes, so that the theme page
    shows the client's other sentences ranked by likeness, with their evidence, on the
    first visit (the ranking is computed when the page is opened)."""
    documents = process_seeded.documents_for(ctx, run.client, therapist)
    sentences = process_seeded.sentences(documents)
    top = (
        RecurringTheme.objects.filter(last_run=run, status=ThemeStatus.ACCEPTED)
        .order_by("-document_count", "pk")
        .first()
    )
    if top is None:
        return
    picks: list[Evidence] = []
    seen_docs: set[str] = set()
    for row in top.evidence.order_by("date", "position"):
        if row.kind not in ("journal", "episode"):
            continue
        pk = row.journal_entry_id or row.relationship_episode_id
        key = process_seeded.sentence_key(f"{row.kind}:{pk}", row.start, row.end)
        evidence = sentences.get(key)
        if evidence is not None and evidence.document_id not in seen_docs:
            picks.append(evidence)
            seen_docs.add(evidence.document_id)
        if len(picks) == 2:
            break
    if picks:
        words = top.label.split(", ")[0] if top.label else "this"
        process_actions.create_seeded_theme(
            ctx, client=run.client, label=f"What returns around {words}", seeds=picks
        )


# ---------------------------------------------------------------------------------------------
# Reading back: the featured logins and the counts
# ---------------------------------------------------------------------------------------------


def featured_clients(practice: Practice) -> list[tuple[User, str]]:
    """The clients whose logins the demo prints, with what each shows."""
    out: list[tuple[User, str]] = []
    waiting = (
        MeasureRequest.objects.filter(
            client__practice=practice,
            status=RequestStatus.OPEN,
            created_by__isnull=False,
            client__user__isnull=False,
        )
        .select_related("client__user")
        .order_by("pk")
        .first()
    )
    if waiting is not None and waiting.client.user is not None:
        out.append((waiting.client.user, "has a questionnaire waiting now: PHQ-9 and GAD-7"))
    shared = Counter(
        JournalEntry.objects.filter(client__practice=practice, shared_at__isnull=False)
        .exclude(client__user__isnull=True)
        .values_list("client_id", flat=True)
    )
    if waiting is not None:
        shared.pop(waiting.client_id, None)
    if shared:
        top = max(shared.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        client = Client.objects.select_related("user").get(pk=top)
        if client.user is not None:
            out.append((client.user, "keeps a journal of dreams and daydreams, some shared"))
    return out


def counts(practice: Practice, today: datetime.date) -> dict[str, object]:
    """How many of each kind the demo holds, for printing and for the tests."""
    clients = Client.objects.filter(practice=practice)
    episodes = Episode.objects.filter(client__practice=practice)
    notes = ProgressNote.objects.filter(episode__client__practice=practice)
    alerts = Alert.objects.filter(client__practice=practice)
    journal = JournalEntry.objects.filter(client__practice=practice)
    relationship = RelationshipEpisode.objects.filter(client__practice=practice)
    themes = RecurringTheme.objects.filter(client__practice=practice)
    requests = ConsultationRequest.objects.filter(practice=practice)
    followups = Administration.objects.filter(
        client__practice=practice,
        instrument__code="phq-9",
        episode__modality__in=("psychodynamic", "psychoanalysis"),
    )
    return {
        "therapists": User.objects.filter(practice=practice, role=Role.THERAPIST).count(),
        "clients": clients.count(),
        "episodes": episodes.count(),
        "sessions": Appointment.objects.filter(episode__client__practice=practice).count(),
        "sessions today": Appointment.objects.filter(
            episode__client__practice=practice, starts_at__date=today
        ).count(),
        "questionnaires": Administration.objects.filter(client__practice=practice).count(),
        "psychodynamic PHQ-9 follow-ups at 6 months": followups.filter(
            timepoint="followup_6m"
        ).count(),
        "psychodynamic PHQ-9 follow-ups at 12 months": followups.filter(
            timepoint="followup_12m"
        ).count(),
        "progress notes": notes.count(),
        "progress note drafts": notes.filter(signed_at__isnull=True).count(),
        "addenda": NoteAddendum.objects.filter(note__episode__client__practice=practice).count(),
        "process notes": ProcessNote.objects.filter(episode__client__practice=practice).count(),
        "secure messages": Message.objects.filter(thread__client__practice=practice).count(),
        "session reflections": SessionReflection.objects.filter(
            episode__client__practice=practice
        ).count(),
        "relationship episodes": relationship.count(),
        "transference episodes": relationship.filter(other_person="therapist").count(),
        "confirmed formulation groups": FormulationGroup.objects.filter(
            client__practice=practice, assignments__status=AssignmentStatus.CONFIRMED
        )
        .distinct()
        .count(),
        "suggested formulation groups": FormulationGroup.objects.filter(
            client__practice=practice, assignments__status=AssignmentStatus.SUGGESTED
        )
        .distinct()
        .count(),
        "journal entries": journal.count(),
        "shared journal entries": journal.filter(shared_at__isnull=False).count(),
        "private journal entries": journal.filter(shared_at__isnull=True).count(),
        "consultation requests": requests.count(),
        "consultations booked from the directory": Booking.objects.filter(
            practice=practice, status=BookingStatus.BOOKED
        ).count(),
        # The reason is encrypted, so it is compared after reading, not in the query.
        "late cancellations in the portal": sum(
            1
            for a in Appointment.objects.filter(
                episode__client__practice=practice, attendance="late_cancel"
            )
            if a.cancel_reason == "late cancellation by the client in the portal"
        ),
        "people on the waitlist": WaitlistEntry.objects.filter(
            practice=practice, status__in=["waiting", "offered"]
        ).count(),
        "requests to move a session": MoveRequest.objects.filter(
            client__practice=practice, status="pending"
        ).count(),
        "consultation requests by status": dict(Counter(requests.values_list("status", flat=True))),
        "alerts open": alerts.filter(acknowledged_at__isnull=True).count(),
        "alerts acknowledged": alerts.filter(acknowledged_at__isnull=False).count(),
        "alerts escalated": alerts.filter(escalated_at__isnull=False).count(),
        "crisis alerts": alerts.filter(kind=AlertKind.CRISIS).count(),
        "not-on-track alerts": alerts.filter(kind=AlertKind.NOT_ON_TRACK).count(),
        "clinical-support checklists completed": SupportReview.objects.filter(
            alert__client__practice=practice
        ).count(),
        "questionnaires waiting": MeasureRequest.objects.filter(
            client__practice=practice, status=RequestStatus.OPEN
        ).count(),
        "CORE-10 questionnaires": Administration.objects.filter(
            client__practice=practice, instrument__code="core-10"
        ).count(),
        "CORE-OM questionnaires": Administration.objects.filter(
            client__practice=practice, instrument__code="core-om"
        ).count(),
        "SPARQ questionnaires": Administration.objects.filter(
            client__practice=practice, instrument__code="sparq"
        ).count(),
        "questionnaires answered in Spanish": sum(
            1
            for result in Administration.objects.filter(
                client__practice=practice, instrument__code="phq-9"
            ).values_list("result", flat=True)
            if isinstance(result, dict) and result.get("language") == seed_instruments.SPANISH
        ),
        "questionnaires waiting in Spanish": MeasureRequest.objects.filter(
            client__practice=practice, status=RequestStatus.OPEN, language="es-US"
        ).count(),
        "intake forms signed": FormRequest.objects.filter(
            client__practice=practice, signed_at__isnull=False
        ).count(),
        "intake forms waiting": FormRequest.objects.filter(
            client__practice=practice, signed_at__isnull=True
        ).count(),
        "uploaded documents": Document.objects.filter(client__practice=practice).count(),
        "record exports ready": RecordExport.objects.filter(
            client__practice=practice, status=ExportStatus.DONE
        ).count(),
        "sessions by video": Appointment.objects.filter(episode__client__practice=practice)
        .exclude(video_link="")
        .count(),
        "releases of information expired": FormRequest.objects.filter(
            client__practice=practice,
            version__form__kind="release_of_information",
            expires_on__lt=today,
        ).count(),
        "theme searches": ThemeRun.objects.filter(client__practice=practice).count(),
        "themes accepted": themes.filter(status=ThemeStatus.ACCEPTED, origin="found").count(),
        "themes dismissed": themes.filter(status=ThemeStatus.DISMISSED).count(),
        "themes suggested": themes.filter(status=ThemeStatus.SUGGESTED).count(),
        "themes seeded": themes.filter(origin="seeded").count(),
        **seed_billing.summary(practice),
    }
