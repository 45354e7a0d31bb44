"""The backup archive: a tar of a manifest and its members, encrypted with age.

No Django here: this module packs files that :mod:`reverie.backups.snapshot` produced and
unpacks them again, checking each against the manifest. The layout of the decrypted tar:

* ``manifest.json`` — first, so a reader learns what to expect before anything else;
* the members it lists (``database.sqlite3`` or ``database.pgdump``, and every uploaded
  document the snapshot refers to, as ``documents/<practice>/<client>/<name>.bin``), each
  with its SHA-256 and size.

Encryption is age (https://age-encryption.org/v1) through ``pyrage``, to X25519
recipients. age authenticates every 64 KiB chunk (ChaCha20-Poly1305), so a flipped bit
anywhere fails decryption; the manifest's hashes then tie each member to the manifest,
so a member swapped inside a re-encrypted tar fails too. age does not say *who*
encrypted: anyone holding a recipient (public) key can make an archive that decrypts,
which is why the restore also checks row counts and the audit chain, and why the docs
ask for the archives to be stored where only the backup process can write.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519

FORMAT = "reverie-backup/1"
MANIFEST = "manifest.json"
#: Members a manifest may name: nothing else is ever extracted (no other paths, no links).
DATABASES = frozenset({"database.sqlite3", "database.pgdump"})
DOCUMENT = re.compile(r"documents/[0-9]+/[0-9]+/[0-9a-f]{32}\.bin")
SUFFIX = ".rvbackup"
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The archive cannot be used; the message says why and is meant for the operator."""


@dataclass(frozen=True)
class Unpacked:
    manifest: dict[str, Any]
    folder: Path

    def member(self, name: str) -> Path:
        return self.folder / name


def allowed(name: str) -> bool:
    """
    >>> [allowed(n) for n in ("database.pgdump", "documents/1/2/" + "a" * 32 + ".bin")]
    [True, True]
    >>> [allowed(n) for n in ("../etc/passwd", "documents/1/2/../../x.bin", "manifest.json")]
    [False, False, False]
    """
    return name in DATABASES or DOCUMENT.fullmatch(name) is not None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def parse_recipients(keys: Iterable[str]) -> list[x25519.Recipient]:
    """age public keys (``age1...``); a wrong one is a configuration error, said plainly."""
    recipients = []
    for key in keys:
        try:
            recipients.append(x25519.Recipient.from_str(key))
        except Exception:  # pyrage raises its own RecipientError, not a ValueError
            raise ArchiveError(
                f"REVERIE_BACKUP_RECIPIENTS: {key[:12]}... is not an age public key (age1...)"
            ) from None
    if not recipients:
        raise ArchiveError(
            "no backup recipient: set REVERIE_BACKUP_RECIPIENTS to the age public key(s) of "
            "the backup key (`age-keygen`; see docs/operations.md, Key custody)"
        )
    return recipients


def read_identities(path: str) -> list[x25519.Identity]:
    """The age identity file: ``AGE-SECRET-KEY-1...`` lines; comments and blanks skipped,
    as age-keygen writes them."""
    if not path:
        raise ArchiveError(
            "no backup identity: set REVERIE_BACKUP_IDENTITY_FILE to the age identity file "
            "that holds the backup's private key"
        )
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"cannot read the backup identity file {path}: {exc}") from None
    identities = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line))
        except Exception:
            raise ArchiveError(f"{path} holds a line that is not an age identity") from None
    if not identities:
        raise ArchiveError(f"{path} holds no age identity (AGE-SECRET-KEY-1...)")
    return identities


@dataclass(frozen=True)
class Packed:
    path: Path
    sha256: str
    size: int


class _HashingWriter(io.RawIOBase):
    """Where age writes the ciphertext: the file, and the archive's SHA-256 on the way, so
    that the written archive need not be read back to be hashed."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, block: Any) -> int:
        self.digest.update(block)
        self.handle.write(block)
        self.size += len(block)
        return len(block)


class _Pipe:
    """A thread writing into an OS pipe that the caller reads, so that tar and age stream
    into each other with no plaintext tar on disk. Whatever the thread raises is kept for
    the caller."""

    def __init__(self, target: Any) -> None:
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "rb", buffering=_CHUNK)
        self.writer = os.fdopen(write_fd, "wb", buffering=_CHUNK)
        self.error: BaseException | None = None
        mine = self.writer

        def run() -> None:
            try:
                target(mine)
            except BaseException as exc:  # handed to the caller, who raises it
                self.error = exc
            finally:
                # Closing our end is what tells the other side we are done (EOF), or
                # that nobody reads any more (EPIPE), whichever way it went.
                with contextlib.suppress(OSError):
                    mine.close()

        self.thread = threading.Thread(target=run, name="reverie-backup-pipe", daemon=True)
        self.thread.start()

    def finish(self) -> BaseException | None:
        with contextlib.suppress(OSError):
            self.reader.close()
        self.thread.join()
        return self.error


def pack(
    manifest: Mapping[str, Any],
    members: Mapping[str, Path],
    folder: Path,
    out: Path,
    recipients: list[Any],
) -> Packed:
    """Hash ``members`` into the manifest, tar them behind it, and encrypt the tar to
    ``out``. The tar is streamed from a thread into age through a pipe, never written to
    disk, and the archive's own SHA-256 is taken as it is written; ``out`` appears
    complete or not at all (written under a temporary name and renamed)."""
    listed = {}
    for name, path in members.items():
        if not allowed(name):
            raise ValueError(f"unexpected member {name}")
        listed[name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    full = {**manifest, "format": FORMAT, "members": listed}
    manifest_path = folder / MANIFEST
    manifest_path.write_text(json.dumps(full, indent=1, sort_keys=True), encoding="utf-8")

    def write_tar(pipe: Any) -> None:
        with tarfile.open(fileobj=pipe, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            tar.add(manifest_path, arcname=MANIFEST, recursive=False)
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False)

    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb", buffering=_CHUNK) as handle:
            sink = _HashingWriter(handle)
            pipe = _Pipe(write_tar)
            try:
                pyrage.encrypt_io(pipe.reader, sink, recipients)
            finally:
                failed = pipe.finish()
            if failed is not None:
                raise failed
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return Packed(out, sink.digest.hexdigest(), sink.size)


def unpack(archive: Path, identities: list[Any], folder: Path) -> Unpacked:
    """Decrypt ``archive`` into ``folder`` (private, the caller's) and check every member
    against the manifest. Raises :class:`ArchiveError` with the reason; whatever was
    written to ``folder`` is then the caller's to remove.

    age decrypts in a thread and streams the tar through a pipe to the checks here, so
    the tar is never written whole. age only hands over chunks whose tag verified, and a
    truncated or altered stream fails at the latest at its end; nothing is trusted before
    both the tar walk and the decryption have finished without error."""
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such file")

    def decrypt(pipe: Any) -> None:
        with archive.open("rb", buffering=_CHUNK) as source:
            pyrage.decrypt_io(source, pipe, identities)

    pipe = _Pipe(decrypt)
    checked: Unpacked | None = None
    problem: ArchiveError | None = None
    try:
        try:
            checked = _check(pipe.reader, folder)
        except ArchiveError as exc:
            problem = exc
        # Read to the end whatever happened: age authenticates the stream's last chunk
        # only there, and a decryption thread that is never cut off fails only for a
        # reason of its own.
        while pipe.reader.read(_CHUNK):
            pass
    finally:
        failed = pipe.finish()
    # A failed decryption explains any tar problem it caused (a stream cut short), so
    # it is reported first.
    if failed is not None:
        raise ArchiveError(
            f"{archive} cannot be decrypted ({failed}): it was changed or damaged after it "
            "was written, or it was encrypted to another backup key"
        ) from None
    if problem is not None or checked is None:
        raise problem or ArchiveError(f"{archive} holds no readable archive")
    return checked


def _check(stream: Any, folder: Path) -> Unpacked:
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            return _check_members(tar, folder)
    except (tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"the decrypted archive is not a readable tar file ({exc})") from None


def _check_members(tar: tarfile.TarFile, folder: Path) -> Unpacked:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise ArchiveError("the archive does not start with its manifest")
    raw = tar.extractfile(first)
    try:
        manifest = json.loads(raw.read() if raw else b"")
    except ValueError:
        raise ArchiveError("the archive's manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"not a Reverie backup archive (expected format {FORMAT})")
    expected: dict[str, Any] = manifest.get("members") or {}
    if len(set(expected) & DATABASES) != 1 or not all(allowed(n) for n in expected):
        raise ArchiveError("the manifest lists no database, or members it may not have")
    seen: set[str] = set()
    # The stream is read once, in order: the manifest came first, the members follow.
    while (info := tar.next()) is not None:
        if info.name not in expected or info.name in seen or not info.isfile():
            raise ArchiveError(f"the archive holds {info.name!r}, which its manifest lacks")
        seen.add(info.name)
        _extract(tar, info, folder / info.name, expected[info.name])
    missing = set(expected) - seen
    if missing:
        raise ArchiveError(f"the archive lacks {', '.join(sorted(missing))}")
    return Unpacked(manifest, folder)


def _extract(tar: tarfile.TarFile, info: tarfile.TarInfo, dest: Path, want: Any) -> None:
    source = tar.extractfile(info)
    if source is None:
        raise ArchiveError(f"{info.name} cannot be read from the archive")
    digest = hashlib.sha256()
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with dest.open("wb") as out:
        while block := source.read(_CHUNK):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != want.get("sha256") or info.size != want.get("size"):
        raise ArchiveError(
            f"{info.name} does not match the SHA-256 in the manifest: the archive was altered"
        )
