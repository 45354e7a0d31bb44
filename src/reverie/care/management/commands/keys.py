"""``reverie keys generate|rotate``: encryption keys for process notes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.care.models import ProcessNote


class Command(BaseCommand):
    help = "Generate encryption keys, or re-encrypt every process note under the newest key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("generate", help="Print a new Fernet key.")
        sub.add_parser(
            "rotate", help="Re-encrypt every process note with the first configured key."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "generate":
            self.stdout.write(crypto.generate_key())
            return
        try:
            crypto.cipher()
        except crypto.EncryptionUnavailable as exc:
            raise CommandError(str(exc)) from None
        total = ProcessNote.objects.count()
        done = 0
        for pk in ProcessNote.objects.order_by("pk").values_list("pk", flat=True).iterator():
            with transaction.atomic():
                note = ProcessNote.objects.select_for_update().get(pk=pk)
                try:
                    note.ciphertext = crypto.rotate(note.ciphertext)
                except crypto.EncryptionUnavailable as exc:
                    raise CommandError(f"process note {pk}: {exc}") from None
                note.save(update_fields=["ciphertext"])
            done += 1
            if done % 500 == 0 or done == total:
                self.stderr.write(f"re-encrypted {done} of {total}")
        trail.record(
            trail.system("keys"),
            Action.UPDATE,
            object_type="care.processnote",
            detail={"rotated": done},
        )
        self.stdout.write(
            f"re-encrypted {done} process note{'s' if done != 1 else ''} under the newest key"
        )
