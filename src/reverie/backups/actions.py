"""Taking a backup: snapshot, manifest, archive, and the audited record of it.

A backup reads every record of every client, so it is audited like any other read (an
``export`` entry naming the archive), and the :class:`BackupRun` row that the admin page
reads is written in the same transaction. A failed backup is recorded too, with its
reason, so the page can say that the last attempt failed.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.backups import archive, snapshot
from reverie.backups.models import BackupRun
from reverie.paperwork import storage


def reverie_version() -> str:
    try:
        return importlib.metadata.version("reverie")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


@dataclass(frozen=True)
class Made:
    run: BackupRun
    manifest_tables: int


def file_name(at: datetime.datetime) -> str:
    """Sortable by time, so pruning keeps the newest by name alone.

    >>> file_name(datetime.datetime(2027, 3, 1, 2, 0, 5, tzinfo=datetime.UTC))
    'reverie-20270301T020005Z.rvbackup'
    """
    return f"reverie-{at.astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}{archive.SUFFIX}"


def create(ctx: trail.Context, out_dir: Path, *, by: str) -> Made:
    """Write one archive into ``out_dir`` and record it. Raises ``ArchiveError`` (after
    recording the failure) when the backup cannot be made."""
    started = timezone.now()
    try:
        recipients = archive.parse_recipients(settings.BACKUP_RECIPIENTS)
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        out = out_dir / file_name(started)
        # The plaintext snapshot lives only in the data directory, which already holds
        # the plaintext database, never in the (possibly remote) backup folder.
        # On SQLite the live database file may be the member itself (snapshot.take), read
        # while the snapshot's read transaction is open.
        with (
            tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".backup-") as tmp,
            snapshot.take(Path(tmp)) as (members, found),
        ):
            for stored_name in found.pop("documents"):
                members[f"documents/{stored_name}"] = storage.root() / stored_name
            manifest = {
                "created_at": started.astimezone(datetime.UTC).isoformat(timespec="seconds"),
                "reverie_version": reverie_version(),
                **found,
            }
            packed = archive.pack(manifest, members, out, recipients)
    except (archive.ArchiveError, OSError) as exc:
        _failed(ctx, started, by, str(exc))
        raise archive.ArchiveError(str(exc)) from exc
    with transaction.atomic():
        run = BackupRun.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            ok=True,
            by=by,
            path=str(out),
            size=packed.size,
            sha256=packed.sha256,
            audit_seq=found["audit_head"]["seq"],
        )
        # The row is a write; the archive is a read of every record there is.
        trail.record(ctx, Action.CREATE, run, detail={"ok": True})
        trail.record(
            ctx,
            Action.EXPORT,
            run,
            detail={"file": out.name, "bytes": run.size, "audit_seq": run.audit_seq},
        )
    return Made(run, len(found["tables"]))


def _failed(ctx: trail.Context, started: datetime.datetime, by: str, error: str) -> None:
    with transaction.atomic():
        run = BackupRun.objects.create(
            started_at=started, finished_at=timezone.now(), ok=False, by=by, error=error[:2000]
        )
        trail.record(ctx, Action.CREATE, run, detail={"ok": False})


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives in ``out_dir`` (by their sortable
    names); other files are never touched. Returns what was deleted."""
    archives = sorted(out_dir.glob(f"reverie-*{archive.SUFFIX}"))
    gone = archives[:-keep] if keep > 0 else []
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def prune_recorded(ctx: trail.Context, out_dir: Path, keep: int) -> list[Path]:
    """:func:`prune`, with the deleted archives named in the audit trail."""
    gone = prune(out_dir, keep)
    if gone:
        with transaction.atomic():
            trail.record(
                ctx,
                Action.DELETE,
                object_type="backups.archive",
                detail={"files": [p.name for p in gone], "kept": keep},
            )
    return gone
