from __future__ import annotations

from pathlib import Path

import pytest
from pyrage import x25519


@pytest.fixture
def backup_key(settings, tmp_path: Path) -> x25519.Identity:
    """A backup key pair: the public half as recipient, the private half in an identity
    file (as age-keygen writes it), both in this test's settings."""
    identity = x25519.Identity.generate()
    path = tmp_path / "backup-identity.txt"
    path.write_text(f"# created for a test\n# public key: {identity.to_public()}\n{identity}\n")
    settings.BACKUP_RECIPIENTS = [str(identity.to_public())]
    settings.BACKUP_IDENTITY_FILE = str(path)
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return identity
