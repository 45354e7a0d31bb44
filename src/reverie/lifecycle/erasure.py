"""Erasing a client by key destruction (crypto-shredding), and the ledger that carries an
erasure into every restore of an older backup.

:func:`erase` runs inside the caller's transaction (``actions.confirm_erasure``): it
destroys the client's data keys (every ``EncryptedTextField`` of the client, whichever
app owns it, now reads ``[erased]``), blanks the identifying columns that are stored in
the clear, disables and anonymises the portal account, revokes its tokens and links,
deletes what the practice key alone may still open (process notes sealed before they
moved to the client's key, signed intake forms,
uploaded documents and their names, unsent drafts, queued mail) and leaves the rows that
practice statistics count (episodes, sessions, scores) with pseudonymous values only.
Files on disk are deleted after the commit.

Older backups: they hold the client's data key, wrapped by the practice key. Before the
commit, the erasure is appended to the ledger ``erased-clients.jsonl`` in
``REVERIE_AUDIT_CHECKPOINT_DIR``, outside the database and outside every backup (the
same custody as the audit checkpoints). ``reverie restore`` applies the ledger after a
restore, so an erased client is erased again in whatever older archive is restored. The
limit of this design (someone holding an old archive, its backup identity *and* the
practice keys, who decrypts it by hand rather than through ``reverie restore``) is
closed by rotating the practice key after an erasure and retiring the old one:
SECURITY.md and docs/data-lifecycle.md say so.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection as default_connection
from django.db import models, transaction
from django.utils import timezone

from reverie.accounts.models import ApiToken, LoginAttempt, UnlockLink
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client, ProcessNote
from reverie.directory.models import ConsultationRequest
from reverie.measures.models import Draft, MeasureRequest, RequestLink
from reverie.outbox.models import Message, Status
from reverie.paperwork import storage
from reverie.paperwork.models import Document, FormRequest
from reverie.vault import envelope
from reverie.vault.models import DataKey, Scope

LEDGER = "erased-clients.jsonl"

#: What an erased client is called from now on: a pseudonym made of the record's id.
GIVEN_NAME = "Erased"


def pseudonym(client_id: int) -> str:
    return f"client {client_id}"


@dataclass
class Erased:
    client_id: int
    keys: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def is_erased(client: Client) -> bool:
    """Whether ``client`` was erased: their pseudonym stands in for the name and no data
    key of theirs can seal or open text."""
    return (client.given_name, client.family_name) == (
        GIVEN_NAME,
        pseudonym(client.pk),
    ) and not DataKey.objects.filter(
        scope=Scope.CLIENT, owner_id=client.pk, destroyed_at__isnull=True
    ).exists()


def _blank(obj: models.Model, **values: object) -> None:
    """Set fields through ``save`` (never ``update``): a column another change moves onto
    the vault takes the blank value the same way."""
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(values))


def erase(ctx: trail.Context, client: Client, *, to_ledger: bool = True) -> Erased:
    """Erase ``client`` inside the caller's transaction; audited row by row (ids only)."""
    connection = default_connection
    if not connection.in_atomic_block:  # pragma: no cover - a caller's slip
        raise RuntimeError("erase() must run inside the transaction that confirms it")
    if connection.vendor == "sqlite":
        # Overwrite freed bytes with zeros, so the blanked names do not linger in the file's
        # free space. (PostgreSQL keeps dead row versions until vacuum reuses the space:
        # docs/data-lifecycle.md says so.)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    client = Client.objects.select_for_update().get(pk=client.pk)
    done = Erased(client_id=client.pk)
    counts = done.counts
    addresses = {a for a in (client.email, client.user.email if client.user else "") if a}

    done.keys = list(
        DataKey.objects.filter(
            scope=Scope.CLIENT, owner_id=client.pk, destroyed_at__isnull=True
        ).values_list("pk", flat=True)
    )
    counts["keys"] = envelope.destroy_client(client.pk)

    # Identifying columns kept in the clear. Date of birth is blanked, not cut to the year:
    # a year of birth beside a practice's small numbers can still single someone out.
    _blank(
        client,
        given_name=GIVEN_NAME,
        family_name=pseudonym(client.pk),
        preferred_name="",
        pronouns="",
        date_of_birth=None,
        email="",
        phone="",
        consent_email_reminders=False,
        consent_sms_reminders=False,
        emergency_contact="",
        referral_source="",
    )

    user = client.user
    if user is not None:
        user.email = f"erased-{user.pk}@erased.invalid"
        user.full_name = ""
        user.is_active = False
        # A changed password hash also ends every signed-in session of the account.
        user.set_unusable_password()
        user.save()
        counts["tokens"] = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        counts["unlock_links"] = UnlockLink.objects.filter(user=user).delete()[0]
    if addresses:
        counts["login_attempts"] = LoginAttempt.objects.filter(email__in=addresses).delete()[0]
        # Queued mail is dropped; mail already sent keeps its row (delivery history) without
        # the address or the (practice-key sealed) body.
        counts["mail_dropped"] = (
            Message.objects.filter(recipient__in=addresses).exclude(status=Status.SENT).delete()[0]
        )
        counts["mail_blanked"] = Message.objects.filter(recipient__in=addresses).update(
            recipient="erased", body=b""
        )

    requests = MeasureRequest.objects.filter(client=client)
    counts["links"] = RequestLink.objects.filter(request__in=requests).delete()[0]
    counts["drafts"] = Draft.objects.filter(request__in=requests).delete()[0]

    # Sealed with the practice key (process notes written before they moved to the
    # client's key; signed forms; documents): destroying the data key does not reach them,
    # so the rows go or lose their ciphertext.
    counts["process_notes"] = ProcessNote.objects.filter(episode__client=client).delete()[0]
    counts["signed_forms"] = FormRequest.objects.filter(
        client=client, ciphertext__isnull=False
    ).update(ciphertext=None)
    documents = list(Document.objects.filter(client=client))
    done.files = [d.stored_name for d in documents]
    counts["documents"] = Document.objects.filter(client=client).delete()[0]

    # The consultation request the client came through has its own key (its text was
    # written before there was a client): destroyed too, and its contact columns blanked.
    for consultation in ConsultationRequest.objects.filter(client=client):
        done.keys += list(
            DataKey.objects.filter(
                scope=Scope.CONSULTATION, owner_id=consultation.pk, destroyed_at__isnull=True
            ).values_list("pk", flat=True)
        )
        counts["keys"] += envelope.destroy_consultation(consultation.pk)
        _blank(consultation, name=GIVEN_NAME, email="", phone="")
        counts["consultations"] = counts.get("consultations", 0) + 1

    from reverie.lifecycle.models import RetentionCandidate

    RetentionCandidate.objects.filter(client=client).delete()

    trail.record(
        ctx,
        Action.DELETE,
        client,
        client_id=client.pk,
        detail={"erasure": True, "keys": done.keys, "counts": counts},
    )
    if to_ledger:
        _append_ledger(done)
    files = list(done.files)
    transaction.on_commit(lambda: _remove_files(files))
    return done


def _remove_files(names: list[str]) -> None:
    for name in names:
        storage.remove(name)


# --- the ledger ------------------------------------------------------------------------


def ledger_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR) / LEDGER


def _append_ledger(done: Erased) -> None:
    """Written before the commit, so every committed erasure is in it. A commit that then
    fails leaves a line for an erasure two admins confirmed; a restore carries it out."""
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps(
        {"client": done.client_id, "keys": done.keys, "at": timezone.now().isoformat()},
        sort_keys=True,
    )
    fd = os.open(ledger_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def ledger() -> list[dict[str, object]]:
    try:
        text = ledger_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def apply_ledger(*, by: str, say: Callable[[str], None] = lambda _: None) -> int:
    """Erase again every client of the ledger that a restored database still holds;
    returns how many. Run by ``reverie restore`` after the restore is verified."""
    ctx = trail.system(by)
    again = 0
    for line in ledger():
        client_id = line.get("client")
        if not isinstance(client_id, int):
            continue
        client = Client.objects.filter(pk=client_id).first()
        if client is None:
            continue
        if is_erased(client):
            continue
        with transaction.atomic():
            erase(ctx, client, to_ledger=False)
        again += 1
    if again:
        say(f"erased {again} client(s) again from the erasure ledger ({ledger_path()})")
    return again


__all__ = ["Erased", "apply_ledger", "erase", "is_erased", "ledger", "pseudonym"]
