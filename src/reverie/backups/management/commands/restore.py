"""``reverie restore ARCHIVE``: restore an archive into an empty database and verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.backups.archive import ArchiveError
from reverie.backups.restore import restore


class Command(BaseCommand):
    help = (
        "Restore a backup archive into an empty database (needs REVERIE_BACKUP_IDENTITY_FILE), "
        "migrate it forward and verify hashes, row counts and the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The .rvbackup file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["archive"]).expanduser().resolve()
        try:
            done = restore(path, by="reverie restore", say=lambda s: self.stdout.write(s))
        except ArchiveError as exc:
            raise CommandError(f"restore failed: {exc}") from None
        self.stdout.write(
            f"Restored by {done.method}"
            + ("; migrations applied since the backup" if done.migrated else "")
            + f". Row counts match the manifest; {done.documents} uploaded documents put back; "
            f"{done.audit_checked} audit entries verified."
        )
        for note in done.notes:
            self.stdout.write(f"note: {note}")
