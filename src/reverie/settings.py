"""Reverie's one settings module.

Everything a deployment can change is read from ``REVERIE_*`` environment variables
through the typed helpers in :mod:`reverie.lib.env`; ``docs/configuration.md`` lists
them all and ``tests/test_docs.py`` fails when one is undocumented.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from csp.constants import NONE, SELF

from reverie.lib.env import (
    ConfigError,
    parse_database_url,
    read_bool,
    read_choice,
    read_int,
    read_list,
    read_secret,
    read_str,
)
from reverie.lib.files import make_private_dir
from reverie.lib.forwarded import parse_networks

BASE_DIR = Path(__file__).resolve().parent

# --- where data lives -------------------------------------------------------------------
DATA_DIR = Path(read_str("REVERIE_DATA_DIR", ".reverie")).expanduser().resolve()
# Private from the start (0700); CoreConfig.ready narrows an existing wider one and says so.
make_private_dir(DATA_DIR)
DEMO = read_bool("REVERIE_DEMO", False)
DEBUG = read_bool("REVERIE_DEBUG", False)

# --- secrets ------------------------------------------------------------------------------
_configured_key = read_secret("REVERIE_SECRET_KEY")
if _configured_key and len(_configured_key) < 32:
    raise ConfigError("REVERIE_SECRET_KEY must be at least 32 characters long")
# Management commands (migrate, token create) may run without a key; they get a random
# per-process one. ``reverie serve`` refuses to start in that state, because sessions and
# password-reset links would not survive a restart or be shared between processes.
SECRET_KEY_CONFIGURED = bool(_configured_key)
SECRET_KEY = _configured_key or secrets.token_urlsafe(50)


# Fernet keys for process notes, comma-separated, newest first. The first encrypts; all
# decrypt, so a new key can be put in front and `reverie keys rotate` run at leisure.
ENCRYPTION_KEYS = [
    k.strip() for k in read_secret("REVERIE_ENCRYPTION_KEYS").split(",") if k.strip()
]
# Keys that sign the audit trail (HMAC-SHA256), comma-separated, newest first. The first
# signs new entries and checkpoints; every key verifies, so keep old keys after a new one
# (docs/operations.md, "Audit trail"). Kept outside the database, like the encryption
# keys: someone who can write the database but lacks the key cannot forge an entry.
AUDIT_KEYS = [k.strip() for k in read_secret("REVERIE_AUDIT_KEYS").split(",") if k.strip()]
if any(len(k) < 32 for k in AUDIT_KEYS):
    raise ConfigError("each key in REVERIE_AUDIT_KEYS must be at least 32 characters long")
# Checkpoints of the trail's head, one MACed line each, in a file the database cannot
# rewrite. Optionally also sent to syslog ("/dev/log" or "host:port", UDP) for shipping.
AUDIT_CHECKPOINT_DIR = Path(
    read_str("REVERIE_AUDIT_CHECKPOINT_DIR", str(DATA_DIR / "audit-checkpoints"))
).expanduser()
AUDIT_SYSLOG = read_str("REVERIE_AUDIT_SYSLOG", "")
if AUDIT_SYSLOG and not (AUDIT_SYSLOG.startswith("/") or AUDIT_SYSLOG.rpartition(":")[2].isdigit()):
    raise ConfigError(
        f"REVERIE_AUDIT_SYSLOG must be a socket path (/dev/log) or host:port; got {AUDIT_SYSLOG!r}"
    )

# --- backups (docs/operations.md, "Backup and restore") ---------------------------------------
# Archives are encrypted to these age public keys (age1..., comma-separated). The matching
# private key (the identity) is needed only to restore and never sits beside the database.
BACKUP_RECIPIENTS = read_list("REVERIE_BACKUP_RECIPIENTS", [])
BACKUP_IDENTITY_FILE = read_str("REVERIE_BACKUP_IDENTITY_FILE", "")
# The worker writes a daily archive here when set, keeping the newest BACKUP_KEEP.
BACKUP_DIR = read_str("REVERIE_BACKUP_DIR", "")
BACKUP_KEEP = read_int("REVERIE_BACKUP_KEEP", 14, minimum=1, maximum=1000)

ALLOWED_HOSTS = read_list("REVERIE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = read_list("REVERIE_CSRF_TRUSTED_ORIGINS", [])
HTTPS = read_bool("REVERIE_HTTPS", False)
# Reverse proxies whose X-Forwarded-For is believed (addresses, CIDR networks, or `unix`
# for a peer on a Unix socket). Empty: nobody's is, and the connection's peer is the client.
TRUSTED_PROXIES = read_list("REVERIE_TRUSTED_PROXIES", [])
try:
    parse_networks(TRUSTED_PROXIES)
except ValueError as exc:
    raise ConfigError(f"REVERIE_TRUSTED_PROXIES: {exc}") from None
BASE_URL = read_str("REVERIE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- security policy ---------------------------------------------------------------------
REQUIRE_2FA = read_bool("REVERIE_REQUIRE_2FA", True)
STAFF_IDLE_TIMEOUT = read_int("REVERIE_STAFF_IDLE_MINUTES", 15, minimum=1, maximum=240) * 60
CLIENT_IDLE_TIMEOUT = read_int("REVERIE_CLIENT_IDLE_MINUTES", 30, minimum=1, maximum=1440) * 60
# Sign-in back-off (accounts/backoff.py explains the rules). Nothing locks an account:
# waits double after each failure past an allowance, and the owner can skip them by email.
for _removed in ("REVERIE_LOGIN_LOCKOUT_THRESHOLD", "REVERIE_LOGIN_LOCKOUT_MINUTES"):
    if _removed in os.environ:
        raise ConfigError(
            f"{_removed} is gone: sign-in no longer locks accounts. See REVERIE_LOGIN_* in "
            "docs/configuration.md for the back-off settings that replace it."
        )
LOGIN_FREE_ATTEMPTS = read_int("REVERIE_LOGIN_FREE_ATTEMPTS", 5, minimum=2, maximum=50)
LOGIN_ACCOUNT_FREE_ATTEMPTS = read_int(
    "REVERIE_LOGIN_ACCOUNT_FREE_ATTEMPTS", 10, minimum=2, maximum=1000
)
LOGIN_BACKOFF_MAX_MINUTES = read_int(
    "REVERIE_LOGIN_BACKOFF_MAX_MINUTES", 15, minimum=1, maximum=1440
)
LOGIN_IP_LIMIT = read_int("REVERIE_LOGIN_IP_LIMIT", 30, minimum=5, maximum=10000)
# The practice whose public pages (psychoeducation, self-check, directory) anonymous
# visitors see; empty means the only practice, or the demo practice.
PUBLIC_PRACTICE = read_str("REVERIE_PUBLIC_PRACTICE", "")
ALERT_ESCALATION_MINUTES = read_int(
    "REVERIE_ALERT_ESCALATION_MINUTES", 60, minimum=1, maximum=10080
)

# --- server ------------------------------------------------------------------------------
BIND = read_str("REVERIE_BIND", "127.0.0.1:8000")
# Requests are CPU-bound Python, so threads in one process mostly queue on the GIL, and
# processes beyond one per core only add switching: on 2 cores, 2 single-threaded workers
# served more submissions per second, with a lower p95, than 3, 4 or 2 x 4 threads
# (bench/bench_fhir_submissions.py). With PostgreSQL on the same host a third worker kept
# the cores busier at the submission ceiling (98 % against 92 %, the gap being waits for
# PostgreSQL's commit flush) but spent about as much more CPU per submission on switching,
# so the ceiling did not rise (bench/RESULTS.md, 2026-12-07). One thread means gunicorn's
# sync worker. Cores are those this process may run on (a container's cpuset), not the
# host's; at least two workers, so one slow request never holds up every other.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
WEB_WORKERS = read_int("REVERIE_WEB_WORKERS", min(max(2, _CORES or 1), 16), minimum=1, maximum=64)
WEB_THREADS = read_int("REVERIE_WEB_THREADS", 1, minimum=1, maximum=64)
# Off by default: request paths name clients; the audit trail is the record of access.
ACCESS_LOG = read_bool("REVERIE_ACCESS_LOG", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "reverie.core",
    "reverie.vault",
    "reverie.outbox",
    "reverie.accounts",
    "reverie.audit",
    "reverie.care",
    "reverie.measures",
    "reverie.messaging",
    "reverie.directory",
    "reverie.outcomes",
    "reverie.process",
    "reverie.fhir",
    "reverie.paperwork",
    "reverie.scheduling",
    "reverie.billing",
    "reverie.overview",
    "reverie.lifecycle",
    "reverie.backups",
    "reverie.demo",
]

MIDDLEWARE = [
    # X-Forwarded-Proto from anyone but a trusted proxy is dropped before Django reads it.
    "reverie.core.proxies.ForwardedProtoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files keep their caching), above everything that can answer
    # on its own (sign-in redirects, CSRF refusals), so those answers are covered too.
    "reverie.core.middleware.NoStoreMiddleware",
    # Bearer-token FHIR calls skip the session-only middleware below (see its docstring).
    "reverie.core.middleware.LeanApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "reverie.accounts.middleware.IdleTimeoutMiddleware",
    "reverie.accounts.middleware.TwoFactorRequiredMiddleware",
    "reverie.directory.middleware.PracticeLocaleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the header built once (see its docstring).
    "reverie.core.middleware.ContentSecurityPolicyMiddleware",
    # Innermost, so they see a view's exception first.
    "reverie.core.middleware.TryAgainMiddleware",
    "reverie.vault.middleware.VaultUnavailableMiddleware",
]

ROOT_URLCONF = "reverie.urls"
WSGI_APPLICATION = "reverie.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reverie.core.context.reverie",
            ],
            # Every template writes dates through |rdate and friends without loading them.
            "builtins": ["reverie.core.templatetags.reverie_tags"],
        },
    }
]

# --- database ----------------------------------------------------------------------------
_database_url = read_secret("REVERIE_DATABASE_URL")
if _database_url:
    _db = parse_database_url(_database_url)
    _db["CONN_MAX_AGE"] = read_int("REVERIE_DB_CONN_MAX_AGE", 60, minimum=0, maximum=3600)
    _db["CONN_HEALTH_CHECKS"] = True
    if read_bool("REVERIE_DB_PREPARED_STATEMENTS", True):
        # Server-side binding lets psycopg prepare a statement once it has run five times
        # on a connection, so PostgreSQL stops parsing and planning the hot statements on
        # every request (measured in bench/bench_fhir_submissions.py). Django leaves this
        # off by default because old PgBouncer releases in transaction mode cannot route
        # prepared statements; such deployments set the variable to false.
        _db["OPTIONS"] = {
            "server_side_binding": True,
            "prepare_threshold": 5,
            **_db["OPTIONS"],  # type: ignore[dict-item]
        }
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}"}
    DATABASES = {"default": _db}
else:
    # FULL syncs the write-ahead log at every commit, so an acknowledged submission
    # survives a power cut or kernel crash; NORMAL syncs only at checkpoints and may lose
    # the last commits then (never on a process crash). Measured in
    # bench/bench_fhir_submissions.py; figures in bench/RESULTS.md.
    _synchronous = read_choice("REVERIE_SQLITE_SYNCHRONOUS", "FULL", ("FULL", "NORMAL"))
    DATABASES = {
        "default": {
            # Django's backend, creating the database file private (see its docstring).
            "ENGINE": "reverie.core.sqlite3",
            "NAME": DATA_DIR / ("demo.sqlite3" if DEMO else "reverie.sqlite3"),
            # Reusing the connection avoids a WAL checkpoint on every close (~9 ms a
            # request, measured in bench/bench_fhir_submissions.py).
            "CONN_MAX_AGE": read_int("REVERIE_DB_CONN_MAX_AGE", 60, minimum=0, maximum=3600),
            "OPTIONS": {
                # IMMEDIATE makes every atomic block take the write lock up front, so
                # read-then-write sequences (the audit hash chain) cannot interleave
                # between processes; WAL lets readers proceed while one writer writes.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    f"PRAGMA journal_mode=WAL; PRAGMA synchronous={_synchronous}; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
                ),
            },
            # Tests use a file too, not Django's in-memory shared-cache database: shared
            # cache has table locks that fail at once instead of waiting, so tests of
            # concurrent workers would see errors no deployment can have.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3

LANGUAGE_CODE = "en-us"
TIME_ZONE = read_str("REVERIE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serving straight from the app folders keeps `reverie serve` to one step; WhiteNoise
# still adds far-future caching headers and compression.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- sessions and cookies ----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_AGE = 60 * 60 * 12
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_SSL_REDIRECT = read_bool("REVERIE_SSL_REDIRECT", True)

# A strict policy with no inline script or style: every asset is a file served by us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- email -------------------------------------------------------------------------------
EMAIL_HOST = read_str("REVERIE_EMAIL_HOST", "")
DEFAULT_FROM_EMAIL = read_str("REVERIE_EMAIL_FROM", "Reverie <no-reply@localhost>")
# Seconds any one mail-server operation may take before the outbox gives up and retries
# later (Django's SMTP backend applies it to connecting and to every command). Mail is
# sent after commit and outside the request's critical path, so this bounds how long a
# slow server can occupy a web or worker thread, not how long a page takes.
EMAIL_TIMEOUT = read_int("REVERIE_EMAIL_TIMEOUT", 10, minimum=1, maximum=300)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = read_int("REVERIE_EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = read_str("REVERIE_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = read_secret("REVERIE_EMAIL_PASSWORD")
    EMAIL_USE_TLS = read_bool("REVERIE_EMAIL_TLS", True)
else:
    # Without a mail server, messages are written as files the operator can read: nothing
    # is silently dropped, and nothing leaves the machine.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "outbox"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": read_str("REVERIE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # fpdf2 subsets fonts through fontTools, which logs every glyph table at INFO: a
        # few hundred lines per PDF that buried the demo's logins under noise.
        "fontTools": {"level": "WARNING"},
    },
}

TESTING = "pytest" in sys.modules
if TESTING:
    # Argon2 with production cost would dominate test time; tests exercise the same code
    # paths with a cheap hasher, and one test checks the production hasher list.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A fixed key so process notes can be exercised; never used outside the test run.
    ENCRYPTION_KEYS = ENCRYPTION_KEYS or ["x1uuBbwdfO8YDKnVeVBLd7sYp31ktR53-sCN9Hq0kWY="]
    # Likewise a fixed audit key; tests/conftest.py gives each test its own checkpoint dir.
    AUDIT_KEYS = AUDIT_KEYS or ["test-audit-key-never-used-outside-the-test-run"]
