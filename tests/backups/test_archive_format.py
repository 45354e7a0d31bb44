"""The archive format on its own (no database): members hashed as they stream, the
manifest last, older archives with the manifest first still read, and every way a
re-encrypted tar can lie refused. Also the rename that puts a restored SQLite snapshot in
place, and its refusal while another connection has the database open."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from reverie.backups import archive
from reverie.backups.archive import ArchiveError
from reverie.backups.restore import _rename_into_place

DOC = "documents/1/2/" + "a" * 32 + ".bin"


@pytest.fixture
def key() -> x25519.Identity:
    return x25519.Identity.generate()


def _members(tmp_path: Path) -> dict[str, Path]:
    db = tmp_path / "src" / "database.sqlite3"
    db.parent.mkdir()
    db.write_bytes(bytes(range(256)) * 5000 + b"tail")  # not a multiple of 512
    doc = tmp_path / "src" / "doc.bin"
    doc.write_bytes(b"")  # an empty member too
    return {"database.sqlite3": db, DOC: doc}


def _pack(tmp_path: Path, key: x25519.Identity) -> Path:
    out = tmp_path / "a.rvbackup"
    archive.pack({"engine": "sqlite"}, _members(tmp_path), out, [key.to_public()])
    return out


def _folder(tmp_path: Path, name: str = "out") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def _entries(path: Path, key: x25519.Identity) -> list[tuple[str, bytes]]:
    raw = pyrage.decrypt(path.read_bytes(), [key])
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def _forge(path: Path, key: x25519.Identity, entries: list[tuple[str, bytes]]) -> None:
    """What anyone holding the public key can do: write any tar and encrypt it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1.5  # a float mtime, as tar.add writes: a pax header per member
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(pyrage.encrypt(buffer.getvalue(), [key.to_public()]))


def test_members_come_first_and_the_manifest_last_with_their_hashes(
    tmp_path: Path, key: x25519.Identity
) -> None:
    path = _pack(tmp_path, key)
    entries = _entries(path, key)
    assert [n for n, _ in entries] == ["database.sqlite3", DOC, archive.MANIFEST]
    manifest = json.loads(entries[-1][1])
    assert manifest["format"] == archive.FORMAT == "reverie-backup/2"
    for name, data in entries[:-1]:
        assert manifest["members"][name] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }


def test_the_archive_hash_is_that_of_the_file_written(tmp_path: Path, key: x25519.Identity) -> None:
    out = tmp_path / "b.rvbackup"
    packed = archive.pack({"engine": "sqlite"}, _members(tmp_path), out, [key.to_public()])
    assert packed.sha256 == archive.sha256_file(out)
    assert packed.size == out.stat().st_size
    assert not out.with_name(out.name + ".partial").exists()


def test_an_archive_unpacks_to_its_members_and_a_member_can_be_placed_elsewhere(
    tmp_path: Path, key: x25519.Identity
) -> None:
    path = _pack(tmp_path, key)
    beside = tmp_path / "elsewhere" / ".db.restore"
    beside.parent.mkdir()
    unpacked = archive.unpack(path, [key], _folder(tmp_path), {"database.sqlite3": beside})
    assert unpacked.member("database.sqlite3") == beside
    assert beside.stat().st_mode & 0o777 == 0o600
    assert beside.read_bytes() == (tmp_path / "src" / "database.sqlite3").read_bytes()
    assert unpacked.member(DOC).read_bytes() == b""
    assert not (tmp_path / "out" / "database.sqlite3").exists()


def test_a_format_1_archive_with_the_manifest_first_is_still_read(
    tmp_path: Path, key: x25519.Identity
) -> None:
    data = b"old snapshot"
    manifest = {
        "format": "reverie-backup/1",
        "engine": "sqlite",
        "members": {
            "database.sqlite3": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        },
    }
    path = tmp_path / "old.rvbackup"
    _forge(
        path, key, [(archive.MANIFEST, json.dumps(manifest).encode()), ("database.sqlite3", data)]
    )
    unpacked = archive.unpack(path, [key], _folder(tmp_path))
    assert unpacked.manifest["format"] == "reverie-backup/1"
    assert unpacked.member("database.sqlite3").read_bytes() == data


def _tampered(tmp_path: Path, key: x25519.Identity, change) -> Path:  # type: ignore[no-untyped-def]
    path = _pack(tmp_path, key)
    entries = change(_entries(path, key))
    _forge(path, key, entries)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # A member altered, the manifest kept.
        (
            lambda e: [(n, d + b"x" if n == "database.sqlite3" else d) for n, d in e],
            "database.sqlite3 does not match the SHA-256 in the manifest",
        ),
        # A member left out.
        (lambda e: [(n, d) for n, d in e if n != DOC], "the archive lacks " + DOC),
        # A member added that the manifest does not list.
        (
            lambda e: [*e[:-1], ("documents/1/2/" + "b" * 32 + ".bin", b"x"), e[-1]],
            "which its manifest lacks",
        ),
        # A member after a manifest that came last.
        (lambda e: [*e, ("documents/9/9/" + "c" * 32 + ".bin", b"x")], "after its manifest"),
        # A path a manifest may never name.
        (lambda e: [("../escape", b"x"), *e], "'../escape', which its manifest lacks"),
        # A second manifest, after a first one that came first.
        (lambda e: [e[-1], *e], "two manifests"),
        # No manifest at all.
        (lambda e: e[:-1], "the archive holds no manifest"),
        # A manifest that is not one of ours.
        (lambda e: [*e[:-1], (archive.MANIFEST, b'{"format": "x"}')], "not a Reverie backup"),
    ],
)
def test_a_re_encrypted_tar_that_lies_is_refused_with_the_reason(
    tmp_path: Path, key: x25519.Identity, change, message: str
) -> None:  # type: ignore[no-untyped-def]
    path = _tampered(tmp_path, key, change)
    with pytest.raises(ArchiveError, match=message.replace(".", r"\.")):
        archive.unpack(path, [key], _folder(tmp_path, "check"))
    assert not (tmp_path / "escape").exists()


def test_a_link_in_the_tar_is_refused(tmp_path: Path, key: x25519.Identity) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        link = tarfile.TarInfo("database.sqlite3")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    path = tmp_path / "link.rvbackup"
    path.write_bytes(pyrage.encrypt(buffer.getvalue(), [key.to_public()]))
    with pytest.raises(ArchiveError, match="which its manifest lacks"):
        archive.unpack(path, [key], _folder(tmp_path))


def test_a_truncated_archive_fails_decryption(tmp_path: Path, key: x25519.Identity) -> None:
    path = _pack(tmp_path, key)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ArchiveError, match="cannot be decrypted"):
        archive.unpack(path, [key], _folder(tmp_path))


# --- the rename into place -------------------------------------------------------------


def _sqlite(path: Path, value: str, *, wal: bool = True) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    else:
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    conn.commit()
    conn.close()


def _value(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("SELECT v FROM t").fetchone()[0])
    finally:
        conn.close()


def test_the_snapshot_is_renamed_over_the_target_when_nobody_has_it_open(tmp_path: Path) -> None:
    target, member = tmp_path / "reverie.sqlite3", tmp_path / ".reverie.sqlite3.restore"
    _sqlite(target, "empty target")
    target.chmod(0o600)
    _sqlite(member, "snapshot", wal=False)
    assert _rename_into_place(member, target)
    assert _value(target) == "snapshot"
    assert not member.exists()
    assert target.stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_while_another_connection_has_the_target_open_nothing_is_renamed(tmp_path: Path) -> None:
    target, member = tmp_path / "reverie.sqlite3", tmp_path / ".reverie.sqlite3.restore"
    _sqlite(target, "empty target")
    _sqlite(member, "snapshot", wal=False)
    other = sqlite3.connect(target)
    other.execute("SELECT * FROM t").fetchall()
    try:
        assert not _rename_into_place(member, target)
    finally:
        other.close()
    assert _value(target) == "empty target"
    assert member.exists()


def test_a_target_not_in_wal_mode_or_in_another_folder_is_not_renamed(tmp_path: Path) -> None:
    target, member = tmp_path / "reverie.sqlite3", tmp_path / ".reverie.sqlite3.restore"
    _sqlite(target, "empty target", wal=False)
    _sqlite(member, "snapshot", wal=False)
    assert not _rename_into_place(member, target)  # idle connections there are invisible
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    moved = elsewhere / member.name
    member.rename(moved)
    _sqlite(target.with_name("wal.sqlite3"), "empty")
    assert not _rename_into_place(moved, target.with_name("wal.sqlite3"))
    assert _value(target) == "empty target"


def test_a_member_that_cannot_be_written_is_reported_by_name(
    tmp_path: Path, key: x25519.Identity
) -> None:
    # The writing thread's error comes back to the decrypting one, which reports it once
    # age has read the whole stream (a folder where the member's file should go).
    packed = _pack(tmp_path, key)
    folder = _folder(tmp_path)
    (folder / "database.sqlite3").mkdir()
    with pytest.raises(ArchiveError, match=r"cannot write database\.sqlite3: .*directory"):
        archive.unpack(packed, [key], folder)


def test_members_larger_than_a_batch_unpack_with_their_hashes(
    tmp_path: Path, key: x25519.Identity
) -> None:
    # Several batches for the writing thread, and a member after them.
    db = tmp_path / "big.sqlite3"
    db.write_bytes(hashlib.sha256(b"seed").digest() * (3 * (1 << 20) // 32 + 17))
    doc = tmp_path / "doc.bin"
    doc.write_bytes(b"document")
    out = tmp_path / "big.rvbackup"
    archive.pack({"engine": "sqlite"}, {"database.sqlite3": db, DOC: doc}, out, [key.to_public()])
    unpacked = archive.unpack(out, [key], _folder(tmp_path))
    assert unpacked.member("database.sqlite3").read_bytes() == db.read_bytes()
    assert unpacked.member(DOC).read_bytes() == b"document"
    listed = unpacked.manifest["members"]["database.sqlite3"]
    assert listed["sha256"] == archive.sha256_file(db)
