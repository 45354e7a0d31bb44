"""The daily backup job and the admin's backup page."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.urls import reverse
from django.utils import timezone
from pyrage import x25519

from reverie.backups import archive
from reverie.backups.models import BackupRun
from reverie.core import worker
from reverie.testing import World


def _run(**fields: object) -> BackupRun:
    now = timezone.now()
    values: dict[str, object] = {"started_at": now, "finished_at": now, "ok": True, "by": "worker"}
    values.update(fields)
    return BackupRun.objects.create(**values)


def test_the_job_writes_an_archive_and_keeps_the_newest(
    world: World, backup_key: x25519.Identity, tmp_path: Path, settings
) -> None:
    folder = tmp_path / "scheduled"
    settings.BACKUP_DIR = str(folder)
    settings.BACKUP_KEEP = 2
    folder.mkdir()
    for day in (1, 2):
        (folder / f"reverie-2000010{day}T000000Z{archive.SUFFIX}").write_bytes(b"old")
    (folder / "README.txt").write_text("not an archive")

    worker.REGISTRY["backups.scheduled"].func()

    run = BackupRun.objects.get()
    assert run.ok and run.by == "worker"
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["README.txt", f"reverie-20000102T000000Z{archive.SUFFIX}", Path(run.path).name]
    # What was written decrypts with the backup key and holds a database.
    unpacked = archive.unpack(Path(run.path), [backup_key], _empty(tmp_path))
    assert set(unpacked.manifest["members"]) & archive.DATABASES


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "unpacked"
    folder.mkdir()
    return folder


def test_without_a_backup_folder_the_job_does_nothing(world: World, settings) -> None:
    settings.BACKUP_DIR = ""
    result = worker.REGISTRY["backups.scheduled"].func()
    assert "REVERIE_BACKUP_DIR is not set" in str(result)
    assert not BackupRun.objects.exists()


def test_the_page_warns_without_any_backup(as_user) -> None:
    page = as_user("admin").get(reverse("practice:backups")).content.decode()
    assert "No backup has been taken yet." in page
    assert "Scheduled backups are off" in page


def test_the_page_shows_a_recent_backup_without_warning(world: World, as_user) -> None:
    _run(path="/srv/b/reverie-x.rvbackup", size=2048, sha256="ab" * 32, audit_seq=41)
    page = as_user("admin").get(reverse("practice:backups")).content.decode()
    assert "Last successful backup" in page
    assert "audit trail to #41" in page
    assert "more than a day old" not in page
    assert "alert-box" not in page


def test_the_page_warns_when_the_last_good_backup_is_over_a_day_old(world: World, as_user) -> None:
    old = timezone.now() - datetime.timedelta(days=1, minutes=5)
    _run(started_at=old, finished_at=old, path="/srv/b/old.rvbackup")
    _run(ok=False, error="pg_dump is not on PATH", path="")
    page = as_user("admin").get(reverse("practice:backups")).content.decode()
    assert "more than a day old" in page
    assert "The last attempt failed: pg_dump is not on PATH" in page
