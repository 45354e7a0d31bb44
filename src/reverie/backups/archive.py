"""The backup archive: a tar of a manifest and its members, encrypted with age.

No Django here: this module packs files that :mod:`reverie.backups.snapshot` produced and
unpacks them again, checking each against the manifest. The layout of the decrypted tar
(format 2):

* the members (``database.sqlite3`` or ``database.pgdump``, and every uploaded document
  the snapshot refers to, as ``documents/<practice>/<client>/<name>.bin``);
* ``manifest.json`` — last, listing each member with its SHA-256 and size, which are
  taken while the member streams into the archive.

Format 1 archives (the manifest first) are still read. Either way a restore writes each
member only into its private folder, checks it against the manifest, and trusts nothing
before every member has matched and age has authenticated the stream to its end.

Encryption is age (https://age-encryption.org/v1) through ``pyrage``, to X25519
recipients. age authenticates every 64 KiB chunk (ChaCha20-Poly1305), so a flipped bit
anywhere fails decryption; the manifest's hashes then tie each member to the manifest,
so a member swapped inside a re-encrypted tar fails too. age does not say *who*
encrypted: anyone holding a recipient (public) key can make an archive that decrypts,
which is why the restore also checks row counts and the audit chain, and why the docs
ask for the archives to be stored where only the backup process can write.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import tarfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyrage
from pyrage import x25519

#: Format 2 puts the manifest last, so that each member is hashed while it streams into
#: age (format 1 put it first and read every member once more, only to hash it).
FORMAT = "reverie-backup/2"
#: What a restore reads: archives of either format.
READABLE = frozenset({"reverie-backup/1", FORMAT})
MANIFEST = "manifest.json"
#: Members a manifest may name: nothing else is ever extracted (no other paths, no links).
DATABASES = frozenset({"database.sqlite3", "database.pgdump"})
DOCUMENT = re.compile(r"documents/[0-9]+/[0-9]+/[0-9a-f]{32}\.bin")
SUFFIX = ".rvbackup"
_CHUNK = 1 << 20
_BLOCK = tarfile.BLOCKSIZE
_PAX_LIMIT = 1 << 16
_MANIFEST_LIMIT = 64 << 20
#: Batches (of about _CHUNK bytes) waiting for the restore's writing thread.
_QUEUE_DEPTH = 4


class ArchiveError(Exception):
    """The archive cannot be used; the message says why and is meant for the operator."""


@dataclass(frozen=True)
class Unpacked:
    manifest: dict[str, Any]
    folder: Path
    #: Where each member was written, when not in ``folder`` (``unpack``'s ``place``).
    paths: Mapping[str, Path] = field(default_factory=dict)

    def member(self, name: str) -> Path:
        return self.paths.get(name) or self.folder / name


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


class Member(Protocol):
    """A member that is not a file of its own (the live SQLite database, read under a
    transaction that keeps it still): its size, and its bytes at an offset."""

    size: int

    def read_at(self, offset: int, length: int) -> bytes: ...


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


def _header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o600
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


class _TarSource(io.RawIOBase):
    """The plaintext tar, made as age reads it: each member's header, its bytes and
    padding, then the manifest, then the end-of-archive blocks. Each member is hashed
    while it passes (one read of it, no pass of its own), which is why the manifest comes
    last in this format. Nothing of the tar is written to disk."""

    def __init__(self, manifest: Mapping[str, Any], members: Mapping[str, Path | Member]) -> None:
        self.manifest = dict(manifest)
        self.members = members
        self.listed: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None
        self._pieces = self._generate()
        self._piece = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            while not self._piece:
                self._piece = memoryview(next(self._pieces))
        except StopIteration:
            return b""
        except BaseException as exc:  # handed to pack(), which raises it
            self.error = exc
            raise
        if size < 0:
            size = len(self._piece)
        out = bytes(self._piece[:size])
        self._piece = self._piece[size:]
        return out

    def _generate(self) -> Iterator[bytes]:
        mtime = int(time.time())
        for name, path in self.members.items():
            digest = hashlib.sha256()
            done = 0
            if not isinstance(path, Path):
                size = path.size
                yield _header(name, size, mtime)
                while done < size and (block := path.read_at(done, min(_CHUNK, size - done))):
                    digest.update(block)
                    done += len(block)
                    yield block
            else:
                with path.open("rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    yield _header(name, size, mtime)
                    while done < size and (block := handle.read(min(_CHUNK, size - done))):
                        digest.update(block)
                        done += len(block)
                        yield block
            if done != size:
                raise ArchiveError(f"{name} changed while the archive was written")
            yield _padding(size)
            self.listed[name] = {"sha256": digest.hexdigest(), "size": size}
        full = {**self.manifest, "format": FORMAT, "members": self.listed}
        raw = json.dumps(full, indent=1, sort_keys=True).encode("utf-8")
        yield _header(MANIFEST, len(raw), mtime) + raw + _padding(len(raw))
        yield b"\0" * (2 * _BLOCK)


def pack(
    manifest: Mapping[str, Any],
    members: Mapping[str, Path | Member],
    out: Path,
    recipients: list[Any],
) -> Packed:
    """Tar ``members`` and then a manifest with their SHA-256, and encrypt the tar to
    ``out``, in one pass: age reads the tar as :class:`_TarSource` makes it, each member
    is hashed as it goes by, and the archive's own SHA-256 is taken as age writes it.
    ``out`` appears complete or not at all (written under a temporary name, synced and
    renamed)."""
    for name in members:
        if not allowed(name):
            raise ValueError(f"unexpected member {name}")
    source = _TarSource(manifest, members)
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb", buffering=_CHUNK) as handle:
            sink = _HashingWriter(handle)
            try:
                pyrage.encrypt_io(source, sink, recipients)
            except Exception:
                if source.error is not None:
                    raise source.error from None
                raise
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return Packed(out, sink.digest.hexdigest(), sink.size)


def unpack(
    archive: Path,
    identities: list[Any],
    folder: Path,
    place: Mapping[str, Path] | None = None,
) -> Unpacked:
    """Decrypt ``archive`` into ``folder`` (private, the caller's) and check every member
    against the manifest. ``place`` may name another path for a member (a restore puts
    the SQLite snapshot beside the database it will become, so that it can be renamed
    into place rather than copied). Raises :class:`ArchiveError` with the reason;
    whatever was written is then the caller's to remove.

    age decrypts into :class:`_TarSink`, which reads the tar as it arrives and writes
    each member out while hashing it, so the tar is never written whole. age only hands
    over chunks whose tag verified, and a truncated or altered stream fails at the
    latest at its end; nothing is trusted before the decryption has finished without
    error and every member has matched the manifest."""
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such file")
    sink = _TarSink(folder, dict(place or {}))
    try:
        with archive.open("rb", buffering=_CHUNK) as source:
            pyrage.decrypt_io(source, sink, identities)
    except Exception as exc:  # pyrage's DecryptError, or a read error
        sink.discard()
        # A failed decryption explains any tar problem it caused (a stream cut short),
        # so it is reported first.
        raise ArchiveError(
            f"{archive} cannot be decrypted ({exc}): it was changed or damaged after it "
            "was written, or it was encrypted to another backup key"
        ) from None
    return sink.finish()


class _TarSink(io.RawIOBase):
    """Where age writes the decrypted tar: read as it arrives, header by header (ustar,
    with the pax records ``path`` and ``size`` that Python's tarfile writes). Only regular
    files with the names a manifest may list are written out, each hashed on the way.

    The hashing and the writing happen on a thread of their own (:meth:`_work`), fed
    batches of about 1 MiB through a bounded queue, so that they overlap with age's
    decryption on this one (both release the GIL for large buffers). At the end of each
    member this thread waits for that one to finish it, so every check below happens in
    the same order, with the same digests, as if it were done here.

    The manifest comes first (format 1) or last (format 2). Members before it are checked
    when it arrives, members after it as they end. A problem found is kept, and the rest
    of the stream is read and dropped, so that age still authenticates it to its end and
    a damaged archive is reported as damaged rather than as the tar problem it caused."""

    def __init__(self, folder: Path, place: dict[str, Path]) -> None:
        self.folder = folder
        self.place = place
        self.problem: ArchiveError | None = None
        self.manifest: dict[str, Any] | None = None
        self.manifest_first = False
        self.entries = 0
        self.seen: dict[str, tuple[str, int]] = {}
        self.paths: dict[str, Path] = {}
        self._header = bytearray()
        self._pax: dict[str, str] = {}
        self._name = ""
        self._kind = ""  # "member", "manifest" or "pax" while an entry's data arrives
        self._remaining = 0
        self._size = 0
        self._pad = 0
        self._data = bytearray()
        self._batch = bytearray()
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(_QUEUE_DEPTH)
        self._worker: threading.Thread | None = None
        self._write_error: ArchiveError | None = None
        self._ended = False

    def writable(self) -> bool:
        return True

    def write(self, block: Any) -> int:
        size = len(block)
        if self._kind == "member" and size < self._remaining and self.problem is None:
            # The common case, most of a large member: batch it for the writing thread.
            self._batch += block
            self._remaining -= size
            if len(self._batch) >= _CHUNK:
                self._send_batch()
            return size
        if self.problem is None:
            try:
                self._feed(memoryview(block))
            except ArchiveError as exc:
                self.problem = exc
                self.discard()
            except OSError as exc:  # making the member's folder
                self.problem = ArchiveError(f"cannot write {self._name}: {exc}")
                self.discard()
        return size

    def discard(self) -> None:
        """Stop writing: the open member is closed, and the writing thread ends."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    # --- the writing thread -------------------------------------------------------------

    def _send(self, item: tuple[Any, ...]) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="restore-writer", daemon=True)
            self._worker.start()
        self._queue.put(item)

    def _send_batch(self) -> None:
        if self._write_error is not None:
            self.problem = self._write_error
            self.discard()
            return
        self._send(("data", self._batch))
        self._batch = bytearray()

    def _work(self) -> None:
        out: Any = None
        digest: Any = None
        name = ""
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._write_error is not None:
                    continue
                try:
                    if item[0] == "data":
                        digest.update(item[1])
                        out.write(item[1])
                    elif item[0] == "open":
                        _, name, dest = item
                        # Private from the first byte: the snapshot may be written beside
                        # the database (``place``), outside the caller's private folder.
                        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                        out = os.fdopen(fd, "wb", buffering=_CHUNK)
                        digest = hashlib.sha256()
                    else:  # "close"
                        out.close()
                        out = None
                        self.seen[name] = (digest.hexdigest(), item[1])
                except Exception as exc:  # kept for the decrypting thread, which raises it
                    self._write_error = ArchiveError(f"cannot write {name}: {exc}")
            finally:
                if item is None and out is not None:
                    out.close()
                self._queue.task_done()

    def _finish_member(self) -> None:
        """Hand over the member's last bytes and wait until it is written and hashed."""
        self._send(("data", self._batch))
        self._batch = bytearray()
        self._send(("close", self._size))
        self._queue.join()
        if self._write_error is not None:
            raise self._write_error

    # --- the tar ------------------------------------------------------------------------

    def _feed(self, data: memoryview) -> None:
        while data:
            if self._ended:
                if any(data):
                    raise ArchiveError("the archive holds data after its end")
                return
            if self._remaining:
                take = data[: self._remaining]
                data = data[len(take) :]
                self._remaining -= len(take)
                if self._kind == "member":
                    self._batch += take
                    if len(self._batch) >= _CHUNK:
                        self._send_batch()
                        if self.problem is not None:
                            raise self.problem
                else:
                    self._data += take
                if not self._remaining:
                    self._entry_done()
                continue
            if self._pad:
                skip = min(self._pad, len(data))
                data = data[skip:]
                self._pad -= skip
                continue
            need = _BLOCK - len(self._header)
            self._header += data[:need]
            data = data[need:]
            if len(self._header) == _BLOCK:
                block = bytes(self._header)
                self._header.clear()
                self._begin(block)

    def _begin(self, block: bytes) -> None:
        if not any(block):
            self._ended = True
            return
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise ArchiveError(
                f"the decrypted archive is not a readable tar file ({exc})"
            ) from None
        if info.type == tarfile.XHDTYPE:
            if info.size > _PAX_LIMIT:
                raise ArchiveError("the archive holds an oversized tar header")
            self._start("pax", "", info.size)
            return
        name = self._pax.pop("path", info.name)
        try:
            size = int(self._pax.pop("size", info.size))
        except ValueError:
            raise ArchiveError("the decrypted archive is not a readable tar file") from None
        self._pax = {}
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or size < 0:
            raise ArchiveError(f"the archive holds {name!r}, which its manifest lacks")
        first = self.entries == 0
        self.entries += 1
        if self.manifest is not None and not self.manifest_first:
            raise ArchiveError(f"the archive holds {name!r} after its manifest")
        if name == MANIFEST:
            if self.manifest is not None:
                raise ArchiveError("the archive holds two manifests")
            if size > _MANIFEST_LIMIT:
                raise ArchiveError("the archive's manifest is implausibly large")
            self.manifest_first = first
            self._start("manifest", name, size)
            return
        expected = self.manifest["members"] if self.manifest is not None else None
        unlisted = expected is not None and name not in expected
        if not allowed(name) or name in self.paths or unlisted:
            raise ArchiveError(f"the archive holds {name!r}, which its manifest lacks")
        dest = self.place.get(name) or self.folder / name
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.paths[name] = dest
        self._send(("open", name, dest))
        self._start("member", name, size)

    def _start(self, kind: str, name: str, size: int) -> None:
        self._kind, self._name, self._size = kind, name, size
        self._remaining, self._pad = size, -size % _BLOCK
        self._data = bytearray()
        if not size:
            self._entry_done()

    def _entry_done(self) -> None:
        if self._kind == "pax":
            self._pax = _pax_records(bytes(self._data))
        elif self._kind == "manifest":
            self.manifest = _manifest(bytes(self._data))
            for name in self.seen:
                self._verify(name)
        else:
            self._finish_member()
            if self.manifest is not None:
                self._verify(self._name)
        self._kind = ""

    def _verify(self, name: str) -> None:
        listed = (self.manifest or {}).get("members") or {}
        want = listed.get(name)
        if not isinstance(want, dict):
            raise ArchiveError(f"the archive holds {name!r}, which its manifest lacks")
        if self.seen[name] != (want.get("sha256"), want.get("size")):
            raise ArchiveError(
                f"{name} does not match the SHA-256 in the manifest: the archive was altered"
            )

    def finish(self) -> Unpacked:
        """After age has decrypted the whole stream: the verdict."""
        self.discard()
        if self.problem is not None:
            raise self.problem
        if self._kind or self._header:
            raise ArchiveError("the decrypted archive is not a readable tar file (it ends early)")
        if self.manifest is None:
            if not self.entries:
                raise ArchiveError("the archive holds no readable archive")
            raise ArchiveError("the archive holds no manifest")
        missing = set(self.manifest["members"]) - set(self.seen)
        if missing:
            raise ArchiveError(f"the archive lacks {', '.join(sorted(missing))}")
        return Unpacked(self.manifest, self.folder, self.paths)


def _pax_records(raw: bytes) -> dict[str, str]:
    """pax extended header records, ``"<length> <key>=<value>\\n"`` each (POSIX.1-2001)."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        space = raw.find(b" ", pos)
        try:
            length = int(raw[pos:space])
        except ValueError:
            raise ArchiveError("the decrypted archive is not a readable tar file") from None
        record = raw[space + 1 : pos + length]
        if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
            raise ArchiveError("the decrypted archive is not a readable tar file")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise ArchiveError("the archive's manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE:
        raise ArchiveError(f"not a Reverie backup archive (expected format {FORMAT})")
    expected = manifest.get("members")
    if (
        not isinstance(expected, dict)
        or len(set(expected) & DATABASES) != 1
        or not all(allowed(n) for n in expected)
    ):
        raise ArchiveError("the manifest lists no database, or members it may not have")
    return manifest
