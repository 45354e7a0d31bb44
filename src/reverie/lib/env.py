"""Typed readers for ``REVERIE_*`` environment variables.

Every setting is read through one of these helpers so that a bad value stops the
process at start-up with a message naming the variable, instead of surfacing later
as a confusing runtime error. Secrets can also be given as ``NAME_FILE`` pointing at
a file (Docker/Kubernetes secrets, systemd credentials), which keeps them out of the
process environment and shell history.

>>> env = {"REVERIE_DEBUG": "yes", "REVERIE_PORT": "8000"}
>>> read_bool("REVERIE_DEBUG", False, environ=env)
True
>>> read_int("REVERIE_PORT", 1, environ=env, minimum=1, maximum=65535)
8000
>>> read_bool("REVERIE_DEBUG", False, environ={"REVERIE_DEBUG": "perhaps"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
reverie.lib.env.ConfigError: REVERIE_DEBUG must be one of true/false, yes/no, ...; got 'perhaps'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration variable holds a value Reverie cannot use."""


def _source(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def read_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    """Return the variable as a stripped string, or ``default`` when unset."""
    return _source(environ).get(name, default).strip()


def read_secret(name: str, *, environ: Mapping[str, str] | None = None) -> str:
    """Return a secret from ``NAME`` or from the file named by ``NAME_FILE``.

    Setting both is refused: silently preferring one would hide a deployment mistake.
    """
    env = _source(environ)
    direct = env.get(name, "").strip()
    file_name = env.get(f"{name}_FILE", "").strip()
    if direct and file_name:
        raise ConfigError(f"set either {name} or {name}_FILE, not both")
    if file_name:
        path = Path(file_name)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{name}_FILE points at {file_name!r}, which cannot be read: {exc}"
            ) from exc
    return direct


def read_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable as a boolean; anything but the usual spellings is an error."""
    raw = _source(environ).get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of true/false, yes/no, on/off, 1/0; got {raw!r}")


def read_int(
    name: str,
    default: int,
    *,
    environ: Mapping[str, str] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return the variable as an integer within ``[minimum, maximum]``."""
    raw = _source(environ).get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}; got {value}")
    return value


def read_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    raw = _source(environ).get(name)
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def read_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    """Return the variable if it is one of ``choices``."""
    value = read_str(name, default, environ=environ)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def parse_database_url(url: str) -> dict[str, object]:
    """Turn ``postgresql://user:pass@host:port/name`` into Django ``DATABASES`` entries.

    Only PostgreSQL is accepted here; SQLite is configured through the data directory.

    >>> cfg = parse_database_url("postgresql://rev:s3cret@db.internal:5433/reverie")
    >>> (cfg["ENGINE"], cfg["HOST"], cfg["PORT"], cfg["NAME"], cfg["USER"])
    ('reverie.core.postgresql', 'db.internal', 5433, 'reverie', 'rev')
    >>> parse_database_url("mysql://x@y/z")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reverie.lib.env.ConfigError: REVERIE_DATABASE_URL must start with ...; got 'mysql'
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ConfigError(
            "REVERIE_DATABASE_URL must start with postgresql:// or postgres://; "
            f"got {parts.scheme!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ConfigError(
            "REVERIE_DATABASE_URL must name a database, e.g. postgresql://host/reverie"
        )
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("REVERIE_DATABASE_URL has a port that is not a number") from None
    return {
        # Django's backend with a cheaper health check (see reverie.core.postgresql).
        "ENGINE": "reverie.core.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": port or "",
        "OPTIONS": options,
    }
