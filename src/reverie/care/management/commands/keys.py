"""``reverie keys generate|rotate``: the practice encryption keys.

``rotate`` re-wraps every data key (:mod:`reverie.vault`) under the newest practice key
and re-encrypts what the practice keys seal directly (signed forms, documents and their
files, queued mail: :mod:`reverie.vault.practice_tokens`), resumably;
``--reencrypt`` also replaces the data keys and re-encrypts all text
(:mod:`reverie.vault.reencrypt`). It lives in ``care`` for history: process notes, once
sealed by the practice key itself, now use the client's data key like all other text.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.vault import envelope, practice_tokens, reencrypt


class Command(BaseCommand):
    help = "Generate encryption keys, or re-wrap (and optionally replace) the data keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("generate", help="Print a new Fernet key.")
        rotate = sub.add_parser(
            "rotate",
            help="Re-wrap every data key with the first configured key.",
        )
        rotate.add_argument(
            "--reencrypt",
            action="store_true",
            help="Also replace every data key and re-encrypt all text under the new ones "
            "(slow; resumable: run it again after an interruption).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "generate":
            self.stdout.write(crypto.generate_key())
            return
        try:
            crypto.cipher()
        except crypto.EncryptionUnavailable as exc:
            raise CommandError(str(exc)) from None
        try:
            rewrapped = envelope.rewrap_all()
        except envelope.VaultUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"re-wrapped {rewrapped} data key{'s' if rewrapped != 1 else ''}")
        self._practice_tokens()
        if options.get("reencrypt"):
            self._reencrypt()
        trail.record(
            trail.system("keys"),
            Action.UPDATE,
            object_type="vault.datakey",
            detail={"rewrapped": rewrapped},
        )
        self.stdout.write(
            f"re-wrapped {rewrapped} data key{'s' if rewrapped != 1 else ''} under the "
            "newest practice key"
        )

    def _practice_tokens(self) -> None:
        # What the practice keys seal directly (signed forms, documents, queued mail) moves
        # to the newest practice key on every rotation, so an older key can be retired.
        def progress(done: int) -> None:
            if done % 500 == 0:
                self.stderr.write(f"re-encrypted {done} practice-key values")

        try:
            counts = practice_tokens.rotate_all(progress)
        except envelope.VaultUnavailable as exc:
            raise CommandError(str(exc)) from None
        total = sum(counts.values())
        trail.record(
            trail.system("keys"),
            Action.UPDATE,
            object_type="vault.datakey",
            detail={"practice_key_values": counts},
        )
        self.stderr.write(f"re-encrypted {total} practice-key values under the newest key")

    def _reencrypt(self) -> None:
        # A plain counter on stderr (no progress-bar dependency): a line every 500 values
        # and at the end, which also reads well in a log file.
        def progress(done: int, total: int) -> None:
            if done == 0 or done % 500 == 0 or done == total:
                self.stderr.write(f"re-encrypted {done} of {total} values")

        try:
            outcome = reencrypt.reencrypt(progress)
        except envelope.VaultUnavailable as exc:
            raise CommandError(str(exc)) from None
        trail.record(
            trail.system("keys"),
            Action.UPDATE,
            object_type="vault.datakey",
            detail={
                "reencrypted": outcome.resealed,
                "retired": outcome.retired,
                "deleted": outcome.deleted,
                "resumed": outcome.resumed,
            },
        )
        self.stdout.write(
            ("resumed an unfinished re-encryption: " if outcome.resumed else "")
            + f"re-encrypted {outcome.resealed} values under new data keys; "
            f"deleted {outcome.deleted} retired data keys"
        )
