"""The named people every test speaks of, built the same way each time.

Seven personas cover the access rules: a therapist and the client they treat; a
colleague in the same practice and the client *they* treat (the "other client"); a
practice admin; a therapist of another practice (the stranger); and anonymous.
"""

from __future__ import annotations

import contextlib
import datetime
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.test import Client as HttpClient
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts.models import Practice, Role, User
from reverie.care.models import Alert, Appointment, CareGrant, Client, Episode
from reverie.measures.models import Administration, Instrument
from reverie.measures.registry import sync_shipped_instruments
from reverie.vault.fields import EncryptedJSONField, EncryptedTextField

PASSWORD = "a-long-test-password-42"  # noqa: S105  (test fixtures only)


@dataclass
class World:
    practice: Practice
    other_practice: Practice
    therapist: User
    colleague: User
    stranger: User
    admin: User
    stranger_admin: User
    client_user: User
    other_client_user: User
    client: Client
    other_client: Client
    stranger_client: Client
    episode: Episode
    other_episode: Episode
    phq9: Instrument
    grant: CareGrant
    alert: Alert

    def user(self, persona: str) -> User | None:
        return {
            "therapist": self.therapist,
            "colleague": self.colleague,
            "stranger": self.stranger,
            "admin": self.admin,
            "client": self.client_user,
            "other_client": self.other_client_user,
            "anonymous": None,
        }[persona]


PERSONAS = ("therapist", "colleague", "stranger", "admin", "client", "other_client", "anonymous")


def make_user(practice: Practice, role: str, email: str, name: str) -> User:
    return User.objects.create_user(
        email, practice=practice, role=role, full_name=name, password=PASSWORD
    )


def build_world() -> World:
    practice = Practice.objects.create(slug="harbour", name="Harbour Psychotherapy")
    other = Practice.objects.create(slug="elsewhere", name="Elsewhere Counselling")
    therapist = make_user(practice, Role.THERAPIST, "thera@harbour.test", "Theo Therapist")
    colleague = make_user(practice, Role.THERAPIST, "colle@harbour.test", "Cora Colleague")
    admin = make_user(practice, Role.ADMIN, "admin@harbour.test", "Ada Admin")
    stranger = make_user(other, Role.THERAPIST, "stranger@elsewhere.test", "Sam Stranger")
    stranger_admin = make_user(other, Role.ADMIN, "admin@elsewhere.test", "Eli Elsewhere")
    client_user = make_user(practice, Role.CLIENT, "client@harbour.test", "Cleo Client")
    other_client_user = make_user(practice, Role.CLIENT, "other@harbour.test", "Olly Other")
    client = Client.objects.create(
        practice=practice,
        user=client_user,
        given_name="Cleo",
        family_name="Client",
        email=client_user.email,
    )
    other_client = Client.objects.create(
        practice=practice, user=other_client_user, given_name="Olly", family_name="Other"
    )
    stranger_client = Client.objects.create(
        practice=other, given_name="Sid", family_name="Strangersclient"
    )
    start = timezone.localdate() - datetime.timedelta(days=70)
    episode = Episode.objects.create(
        client=client,
        therapist=therapist,
        modality="psychodynamic",
        start_date=start,
        status="active",
    )
    other_episode = Episode.objects.create(
        client=other_client, therapist=colleague, modality="cbt", start_date=start, status="active"
    )
    Episode.objects.create(
        client=stranger_client,
        therapist=stranger,
        modality="psychodynamic",
        start_date=start,
        status="active",
    )
    # Transactional tests flush the table that migrate filled, so fill it again here.
    sync_shipped_instruments()
    phq9 = Instrument.objects.get(code="phq-9")
    for weeks, total in ((0, 17), (4, 14), (8, 11)):
        when = timezone.now() - datetime.timedelta(days=70 - weeks * 7)
        Appointment.objects.create(episode=episode, starts_at=when, attendance="attended")
        Administration.objects.create(
            client=client,
            episode=episode,
            instrument=phq9,
            completed_at=when,
            source="portal",
            total=total,
            band="moderate",
        )
    # A grant to a client the colleague already treats: it gives the grant routes an object
    # without widening anyone's access, so the matrix stays about roles and relationships.
    grant = CareGrant.objects.create(
        client=other_client, therapist=colleague, granted_by=admin, reason="cover"
    )
    alert = Alert.objects.create(
        client=client, episode=episode, kind="not_on_track", summary="PHQ-9 above expected band"
    )
    return World(
        practice,
        other,
        therapist,
        colleague,
        stranger,
        admin,
        stranger_admin,
        client_user,
        other_client_user,
        client,
        other_client,
        stranger_client,
        episode,
        other_episode,
        phq9,
        grant,
        alert,
    )


def bearer(user: User) -> dict[str, str]:
    """Test-client keyword arguments that send a new API token of ``user``."""
    from reverie.accounts import actions
    from reverie.audit import trail

    _, raw = actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def sign_in(http: HttpClient, user: User) -> HttpClient:
    """Sign in as ``user``; staff also pass the second factor, as they must in production."""
    http.force_login(user)
    if user.is_staff_role:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="test", defaults={"confirmed": True}
        )
        session = http.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return http


#: LOINC answer codes of the PHQ-9's four options, 0 ("Not at all") to 3 ("Nearly every day").
PHQ9_ANSWERS = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
PHQ9_CANONICAL = "http://127.0.0.1:8000/fhir/Questionnaire/phq-9"


def phq9_response(patient: int, values: Sequence[int] = (0,) * 9, **extra: Any) -> dict[str, Any]:
    """A completed PHQ-9 QuestionnaireResponse for Patient/``patient``, one answer per
    value in item order; ``extra`` adds or replaces elements."""
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": PHQ9_CANONICAL,
        "subject": {"reference": f"Patient/{patient}"},
        "item": [
            {
                "linkId": f"phq9-{n}",
                "answer": [
                    {"valueCoding": {"system": "http://loinc.org", "code": PHQ9_ANSWERS[v]}}
                ],
            }
            for n, v in enumerate(values, start=1)
        ],
        **extra,
    }


@contextlib.contextmanager
def counting_decryptions() -> Iterator[Counter[str]]:
    """Within the block, ``"Model.field"`` -> how many stored values of that encrypted
    field were decrypted: what a page, an answer or an export read of a client's text
    (the ``decryptions`` test fixture, ``bench/bench_pages.py``). Clear it between
    requests to count each on its own."""
    seen: Counter[str] = Counter()
    originals = {
        cls: cls.__dict__["from_db_value"] for cls in (EncryptedTextField, EncryptedJSONField)
    }
    for cls, original in originals.items():

        def counting(self, value, expression, connection, _original=original):  # type: ignore[no-untyped-def]
            if value:
                seen[f"{self.model.__name__}.{self.name}"] += 1
            return _original(self, value, expression, connection)

        cls.from_db_value = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        for cls, original in originals.items():
            cls.from_db_value = original  # type: ignore[method-assign]
