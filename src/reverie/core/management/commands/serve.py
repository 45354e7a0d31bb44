"""``reverie serve``: the production web server (gunicorn), never Django's runserver."""

from __future__ import annotations

import gc
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.lib.forwarded import UNIX


def gunicorn_settings(
    bind: str,
    workers: int,
    threads: int,
    access_log: bool = False,
    trusted_proxies: list[str] | None = None,
) -> dict[str, Any]:
    """The gunicorn configuration for ``reverie serve``.

    One thread per worker selects the sync worker, the lightest per request: Reverie's
    requests are CPU-bound Python, so threads in one process mostly wait for the GIL, and
    more processes serve more (``bench/bench_fhir_submissions.py``). The sync worker
    answers one request per connection and leaves slow clients to the reverse proxy in
    front. With more threads, gthread, which keeps connections alive.

    No access log unless asked for (``REVERIE_ACCESS_LOG``): its lines name clients in
    their paths (``/clients/12/``, ``/fhir/Patient/12``) and would sit outside the audit
    trail's access rules, and writing them cost a submission about 2 % of its time.

    Gunicorn believes forwarded scheme headers only from ``REVERIE_TRUSTED_PROXIES``, the
    same peers whose ``X-Forwarded-For`` Reverie believes; none when the list is empty
    (gunicorn always trusts a Unix-socket peer, so ``unix`` needs no entry here).

    >>> gunicorn_settings("127.0.0.1:8000", 4, 1)["worker_class"]
    'sync'
    >>> gunicorn_settings("127.0.0.1:8000", 2, 4)["worker_class"]
    'gthread'
    >>> gunicorn_settings("0.0.0.0:8000", 2, 1, trusted_proxies=["10.0.0.0/8", "unix"])[
    ...     "forwarded_allow_ips"
    ... ]
    '10.0.0.0/8'
    >>> gunicorn_settings("0.0.0.0:8000", 2, 1)["forwarded_allow_ips"]
    ''
    """
    proxies = [p for p in (trusted_proxies or []) if p.lower() != UNIX]
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "sync" if threads == 1 else "gthread",
        "accesslog": "-" if access_log else None,
        "timeout": 60,
        "graceful_timeout": 20,
        "forwarded_allow_ips": ",".join(proxies),
        "pre_fork": _freeze_heap,
    }


def _freeze_heap(server: Any, worker: Any) -> None:
    """Move everything the master has loaded (Django, the FHIR models, the instruments)
    out of the garbage collector's sight before a worker is forked. The collector then
    stops rescanning a quarter of a million long-lived objects in every worker, and the
    shared pages are not dirtied by it (CPython's ``gc.freeze`` documents this use)."""
    gc.freeze()


def run_gunicorn(bind: str, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from reverie.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
        def load_config(self) -> None:
            shape = gunicorn_settings(
                bind, workers, threads, settings.ACCESS_LOG, settings.TRUSTED_PROXIES
            )
            for name, value in shape.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return application

    Server().run()


def check_secret_key() -> None:
    """Without a configured key a process signs with a throw-away one of its own: sessions
    and password links would not survive a restart, and a link the worker signs (a
    waitlist offer) would be refused by every web process. Refuse to start instead."""
    if not settings.SECRET_KEY_CONFIGURED:
        raise CommandError(
            "REVERIE_SECRET_KEY (or REVERIE_SECRET_KEY_FILE) is not set. Generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(50))"` and give the same '
            "key to every web and worker process."
        )


def check_safe_to_serve() -> None:
    """Refuse configurations that would be unsafe on a network."""
    check_secret_key()
    if settings.DEBUG:
        raise CommandError("REVERIE_DEBUG is on. Debug pages leak data; turn it off to serve.")
    check_audit_key()


def check_audit_key() -> None:
    """Without the audit key no audit entry can be written, so every audited page would
    fail; refuse at start-up instead, with the remedy."""
    if not settings.AUDIT_KEYS:
        raise CommandError(
            "REVERIE_AUDIT_KEYS (or REVERIE_AUDIT_KEYS_FILE) is not set; the audit trail is "
            "signed with it. Generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"` and keep it '
            "outside the database and its backups (docs/operations.md, Audit trail)."
        )


class Command(BaseCommand):
    help = "Serve Reverie with gunicorn (several processes, threads each)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=settings.BIND)
        parser.add_argument("--workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--threads", type=int, default=settings.WEB_THREADS)

    def handle(self, *args: Any, **options: Any) -> None:
        check_safe_to_serve()
        run_gunicorn(options["bind"], options["workers"], options["threads"])
