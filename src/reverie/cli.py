"""The ``reverie`` command: Reverie's own subcommands plus every Django management command.

``reverie demo`` switches to the demo database before Django loads its settings, so the
demo practice and its credentials never touch a real practice's database.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from reverie.lib.files import make_private_dir, use_private_umask, write_private_file


def _demo_environment() -> None:
    os.environ["REVERIE_DEMO"] = "1"
    if not os.environ.get("REVERIE_SECRET_KEY") and not os.environ.get("REVERIE_SECRET_KEY_FILE"):
        data_dir = Path(os.environ.get("REVERIE_DATA_DIR", ".reverie")).expanduser().resolve()
        make_private_dir(data_dir)
        key_file = data_dir / "demo-secret-key"
        if not key_file.exists():
            write_private_file(key_file, secrets.token_urlsafe(50))
        os.environ["REVERIE_SECRET_KEY_FILE"] = str(key_file)
    if not os.environ.get("REVERIE_ENCRYPTION_KEYS") and not os.environ.get(
        "REVERIE_ENCRYPTION_KEYS_FILE"
    ):
        from cryptography.fernet import Fernet

        data_dir = Path(os.environ.get("REVERIE_DATA_DIR", ".reverie")).expanduser().resolve()
        make_private_dir(data_dir)
        enc_file = data_dir / "demo-encryption-key"
        if not enc_file.exists():
            write_private_file(enc_file, Fernet.generate_key().decode("ascii"))
        os.environ["REVERIE_ENCRYPTION_KEYS_FILE"] = str(enc_file)
    if not os.environ.get("REVERIE_AUDIT_KEYS") and not os.environ.get("REVERIE_AUDIT_KEYS_FILE"):
        data_dir = Path(os.environ.get("REVERIE_DATA_DIR", ".reverie")).expanduser().resolve()
        make_private_dir(data_dir)
        audit_file = data_dir / "demo-audit-key"
        if not audit_file.exists():
            write_private_file(audit_file, secrets.token_urlsafe(32))
        os.environ["REVERIE_AUDIT_KEYS_FILE"] = str(audit_file)


def main(argv: list[str] | None = None) -> None:
    # First of all: every file and folder this process creates (data directory,
    # database, WAL, mail files, keys) is private to its account (reverie.lib.files).
    use_private_umask()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "demo":
        _demo_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reverie.settings")
    from django.core.management import execute_from_command_line

    from reverie.lib.env import ConfigError

    try:
        execute_from_command_line(["reverie", *args])
    except ConfigError as exc:
        sys.stderr.write(f"reverie: configuration error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
