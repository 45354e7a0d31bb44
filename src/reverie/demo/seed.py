"""Writes the synthetic demo practice (see ``reverie.demo.model``) into the database.

Seeding is idempotent: if the demo practice exists it is left as it is. It refuses to
run against a database that holds a real practice, so demo credentials can only ever
exist in a demo database.

Seeding has three steps (``docs/demo-data.md``, *Seeding*, says why each is written the
way it is):

1. **The skeleton** -- practice, people, episodes, the calendar and three years of
   questionnaires -- is written in bulk and recorded as one audited import, as before.
2. **The clinical writing** (:mod:`reverie.demo.seed_content`): progress and process
   notes, session reflections, relationship episodes and the CCRT, journals, consultation
   requests, crisis alerts. Recent and current things go through the same actions a
   person would use; the long history of notes and reflections is written in bulk, with
   one audit entry per row as its action would write it, marked ``demo_history``.
3. **After the outcome summaries are built**, what depends on them or on the worker: past
   not-on-track alerts, the escalation of an unanswered crisis alert, the questionnaire
   waiting for a client, and recurring-theme searches run through the worker's code.
"""

from __future__ import annotations

import datetime
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Client, Episode
from reverie.core import schema
from reverie.demo import seed_content, seed_instruments, seed_lifecycle
from reverie.demo.model import SyntheticPractice, generate_practice
from reverie.demo.seed_content import Seeded
from reverie.directory.models import TherapistProfile
from reverie.directory.profiles import concern_key
from reverie.lifecycle.models import ErasureRequest, ErasureStatus
from reverie.measures import registry, scoring
from reverie.measures.models import Administration, Instrument
from reverie.vault import envelope

DEMO_SLUG = "demo"
ADMIN_EMAIL = "admin@demo.example.org"
ADMIN_NAME = "Morgan Admin"
LOGINS_FILE = "demo-logins.json"
INSTRUMENT_CODES = {"phq9": "phq-9", "gad7": "gad-7"}


class SeedRefused(RuntimeError):
    """The database holds a real practice; the demo will not mix with it."""


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str
    name: str = ""
    note: str = ""


def _concern_keys(concerns: tuple[str, ...]) -> list[str]:
    """The generator writes readable labels ("self-esteem"); the record stores the shared
    vocabulary's keys ("self_esteem") that the directory and self-check use."""
    return [key for key in map(concern_key, concerns) if key is not None]


def _sessions_per_week(frequency: object) -> float:
    return 0.5 if frequency == "fortnightly" else float(frequency)  # type: ignore[arg-type]


def _administration(code: str, answers: tuple[int, ...]) -> dict[str, object]:
    """The scored fields of an administration, exactly as ``measures.actions.submit``
    stores them (answers by item id, total, band, result, crisis flag, version)."""
    definition = registry.definition(code)
    item_ids = [item.id for item in definition.items if item.scored]
    answer_map = dict(zip(item_ids, answers, strict=True))
    result = scoring.score(definition, answer_map)
    return {
        "answers": answer_map,
        "total": scoring.stored_total(result),
        "band": result.band.label if result.band is not None else "",
        "result": {
            "subscales": {s.id: s.score for s in result.subscales},
            "critical": [hit.item_id for hit in result.critical_hits],
            "missing": list(result.missing),
            "prorated": result.prorated,
        },
        "has_critical": result.has_critical_hits,
        "instrument_version": definition.version,
    }


def _write_skeleton(spec: SyntheticPractice, passwords: dict[str, str]) -> Seeded:
    practice = Practice.objects.create(slug=DEMO_SLUG, name=f"{spec.name}", is_demo=True)
    hashes = {role: make_password(pw) for role, pw in passwords.items()}
    admin = User.objects.create(
        email=ADMIN_EMAIL,
        full_name=ADMIN_NAME,
        practice=practice,
        role=Role.ADMIN,
        password=hashes[Role.ADMIN],
    )
    therapists: list[User] = []
    for t in spec.therapists:
        user = User.objects.create(
            email=t.email,
            full_name=f"{t.given_name} {t.family_name}",
            practice=practice,
            role=Role.THERAPIST,
            password=hashes[Role.THERAPIST],
        )
        TherapistProfile.objects.create(
            user=user,
            credentials=", ".join(t.credentials),
            pronouns=t.pronouns,
            approach=t.approach,
            modalities=list(t.modalities),
            concerns=_concern_keys(t.concerns),
            languages=list(t.languages),
            fee=t.fee_usd,
            sliding_scale=t.sliding_scale,
            sliding_scale_min=(t.fee_usd // 2 if t.sliding_scale else None),
            insurance=list(t.insurance),
            telehealth=t.telehealth,
            location=t.location,
            weekly_slots=[list(slot) for slot in t.availability],
        )
        therapists.append(user)
    instruments = {i.code: i for i in Instrument.objects.all()}
    now = timezone.now()
    seeded = Seeded(practice=practice, admin=admin, therapists=therapists)
    appointments: list[Appointment] = []
    administrations: list[Administration] = []
    for c in spec.clients:
        has_open_episode = any(e.status != "ended" for e in c.episodes)
        portal = None
        if has_open_episode:
            portal = User.objects.create(
                email=c.email,
                full_name=f"{c.given_name} {c.family_name}",
                practice=practice,
                role=Role.CLIENT,
                password=hashes[Role.CLIENT],
            )
        client = Client.objects.create(
            practice=practice,
            user=portal,
            given_name=c.given_name,
            family_name=c.family_name,
            preferred_name=c.preferred_name,
            pronouns=c.pronouns,
            date_of_birth=c.date_of_birth,
            email=c.email,
            consent_email_reminders=True,
            presenting_concerns=_concern_keys(c.presenting_concerns),
            referral_source=c.referral_source,
            is_synthetic=True,
        )
        rows = []
        for e in c.episodes:
            episode = Episode.objects.create(
                client=client,
                therapist=therapists[e.therapist_index],
                modality=e.modality,
                sessions_per_week=_sessions_per_week(e.frequency),
                start_date=e.start_date,
                end_date=e.end_date,
                status=e.status,
                end_reason=e.end_reason or "",
                goals=e.goal,
            )
            sessions = [
                Appointment(
                    episode=episode,
                    starts_at=s.start,
                    duration_minutes=s.duration_minutes,
                    attendance=s.attendance,
                )
                for s in e.sessions
            ]
            appointments.extend(sessions)
            scored: list[Administration | None] = []
            for m in e.measurements:
                if m.taken_at > now:
                    scored.append(None)
                    continue
                code = INSTRUMENT_CODES[m.instrument]
                row = Administration(
                    client=client,
                    episode=episode,
                    instrument=instruments[code],
                    completed_at=m.taken_at,
                    received_at=m.taken_at,
                    timepoint=m.timepoint,
                    source="demo",
                    **_administration(code, m.answers),
                )
                administrations.append(row)
                scored.append(row)
            extra: list[Administration] = []
            if e.therapist_index < seed_instruments.CORE10_THERAPISTS:
                extra = seed_instruments.core10_administrations(
                    [row for row in scored if row is not None],
                    seed=f"{spec.seed}-core10-{c.email}-{e.start_date}",
                    instrument=instruments["core-10"],
                )
                administrations.extend(extra)
            if (
                e.therapist_index >= seed_instruments.CORE10_THERAPISTS
                and e.modality in seed_instruments.COREOM_MODALITIES
            ):
                coreoms = seed_instruments.coreom_administrations(
                    [row for row in scored if row is not None],
                    [(s.start, s.attendance) for s in e.sessions],
                    seed=f"{spec.seed}-coreom-{c.email}-{e.start_date}",
                    instrument=instruments["core-om"],
                )
                administrations.extend(coreoms)
                extra = [*extra, *coreoms]
            if e.therapist_index == seed_instruments.SPARQ_THERAPIST:
                sparqs = seed_instruments.sparq_administrations(
                    [(s.start, s.duration_minutes, s.attendance) for s in e.sessions],
                    [row for row in scored if row is not None],
                    seed=f"{spec.seed}-sparq-{c.email}-{e.start_date}",
                    instrument=instruments["sparq"],
                    client=client,
                    episode=episode,
                    now=now,
                )
                administrations.extend(sparqs)
                extra = [*extra, *sparqs]
            rows.append(seed_content.EpisodeRows(e, episode, sessions, scored, extra))
        seeded.clients.append(seed_content.ClientRows(c, client, portal, rows))
    Appointment.objects.bulk_create(appointments, batch_size=2000)
    Administration.objects.bulk_create(administrations, batch_size=2000)
    return seeded


def logins_path() -> Path:
    return Path(settings.DATA_DIR) / LOGINS_FILE


def outbox_path() -> Path:
    """Where the demo's outgoing mail ends up as files (no mail server is configured)."""
    return Path(settings.DATA_DIR) / "outbox"


def _new_passwords() -> dict[str, str]:
    return {
        role: f"demo-{role}-{secrets.token_hex(4)}"
        for role in (Role.ADMIN, Role.THERAPIST, Role.CLIENT)
    }


def _logins(practice: Practice, passwords: dict[str, str]) -> list[Login]:
    """Every login the demo prints: the admin, each therapist, and two clients.

    The two clients are those chosen when the demo was seeded (kept beside the passwords),
    so the list stays the same after the featured client has answered the questionnaire.
    """
    logins = [Login("admin", ADMIN_EMAIL, passwords[Role.ADMIN], ADMIN_NAME)]
    for therapist in User.objects.filter(practice=practice, role=Role.THERAPIST).order_by("pk"):
        logins.append(
            Login("therapist", therapist.email, passwords[Role.THERAPIST], therapist.full_name)
        )
    featured = _load_featured()
    if featured is None:
        featured = [(u.email, note) for u, note in seed_content.featured_clients(practice)]
        _store(passwords, featured)
    users = {
        u.email: u
        for u in User.objects.filter(
            practice=practice, role=Role.CLIENT, email__in=[email for email, _ in featured]
        )
    }
    for email, note in featured:
        if email in users:
            name = users[email].full_name
            logins.append(Login("client", email, passwords[Role.CLIENT], name, note))
    return logins


def _read() -> dict[str, object]:
    try:
        data = json.loads(logins_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store(passwords: dict[str, str], featured: list[tuple[str, str]]) -> None:
    path = logins_path()
    data = {**passwords, "featured": [list(pair) for pair in featured]}
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)


def _load_passwords() -> dict[str, str] | None:
    data = _read()
    roles = (Role.ADMIN, Role.THERAPIST, Role.CLIENT)
    if not all(isinstance(data.get(r), str) for r in roles):
        return None
    return {r: str(data[r]) for r in roles}


def _load_featured() -> list[tuple[str, str]] | None:
    featured = _read().get("featured")
    if not isinstance(featured, list):
        return None
    pairs = [tuple(p) for p in featured if isinstance(p, list) and len(p) == 2]
    return [(str(email), str(note)) for email, note in pairs]


def ensure_demo(
    today: datetime.date | None = None,
) -> tuple[list[Login], dict[str, object] | None]:
    """Seed if needed; return the logins to print and, on a fresh seed, what was made."""
    real = Practice.objects.filter(is_demo=False)
    if real.exists():
        raise SeedRefused(
            f"this database holds a real practice ({real.first()}); the demo only runs on its own "
            "database (unset REVERIE_DATABASE_URL, or point it at an empty database)"
        )
    practice = Practice.objects.filter(slug=DEMO_SLUG, is_demo=True).first()
    summary = None
    if practice is None:
        spec = generate_practice(today=today or timezone.localdate())
        passwords = _new_passwords()
        # One transaction, no key rotated or destroyed: each client's key is looked up once.
        with transaction.atomic(), envelope.one_lookup_per_owner():
            registry.sync_shipped_instruments()
            seeded = _write_skeleton(spec, passwords)
            practice = seeded.practice
            trail.record(
                trail.system("demo", practice=practice),
                Action.IMPORT,
                practice,
                detail={"seed": spec.seed, "synthetic": True},
            )
            seed_content.write_clinical(seeded, spec)
        # The dashboard reads per-episode summaries that the worker maintains; build them
        # now so a fresh demo shows its outcomes before the first worker pass. This also
        # raises not-on-track alerts for recent questionnaires, as the worker would.
        from reverie.outcomes import summary as outcome_summary

        outcome_summary.refresh(full=True)
        with transaction.atomic():
            seed_content.write_after_summaries(seeded, spec)
            seed_lifecycle.write_erasure_request(practice)
        seed_lifecycle.write_lifecycle(practice)
        _store(passwords, [(u.email, n) for u, n in seed_content.featured_clients(practice)])
        # Thousands of rows written in one go: let PostgreSQL's planner see them at once.
        schema.gather_statistics()
        summary = seed_content.counts(practice, spec.today)
        summary["erasure requests waiting"] = ErasureRequest.objects.filter(
            practice=practice, status=ErasureStatus.PENDING
        ).count()
    else:
        stored = _load_passwords()
        if stored is None:
            # The file was lost: issue new demo passwords rather than print wrong ones.
            stored = _new_passwords()
            for role, pw in stored.items():
                hashed = make_password(pw)
                User.objects.filter(practice=practice, role=role).update(password=hashed)
            _store(stored, [(u.email, n) for u, n in seed_content.featured_clients(practice)])
        passwords = stored
    return _logins(practice, passwords), summary
