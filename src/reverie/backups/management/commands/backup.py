"""``reverie backup [--output DIR]``: write one encrypted archive of the installation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.audit import trail
from reverie.backups import actions
from reverie.backups.archive import ArchiveError


class Command(BaseCommand):
    help = (
        "Write an encrypted archive (database snapshot and manifest) to the backup "
        "recipients in REVERIE_BACKUP_RECIPIENTS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            metavar="DIR",
            default="",
            help="Folder for the archive (default REVERIE_BACKUP_DIR, else the current folder).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir = Path(options["output"] or settings.BACKUP_DIR or ".").expanduser().resolve()
        try:
            made = actions.create(trail.system("reverie backup"), out_dir, by="command")
        except ArchiveError as exc:
            raise CommandError(f"backup failed: {exc}") from None
        run = made.run
        self.stdout.write(
            f"Backup written: {run.path} ({run.size:,} bytes, {made.manifest_tables} tables, "
            f"audit trail to #{run.audit_seq})\nSHA-256 {run.sha256}"
        )
