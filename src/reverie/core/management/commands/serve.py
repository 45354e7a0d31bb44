"""``reverie serve``: the production web server (gunicorn), never Django's runserver."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def run_gunicorn(bind: str, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from reverie.wsgi import application

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("forwarded_allow_ips", "127.0.0.1,::1")

        def load(self) -> Any:
            return application

    Server().run()


def check_safe_to_serve() -> None:
    """Refuse configurations that would be unsafe on a network."""
    if not settings.SECRET_KEY_CONFIGURED:
        raise CommandError(
            "REVERIE_SECRET_KEY (or REVERIE_SECRET_KEY_FILE) is not set. Generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
        )
    if settings.DEBUG:
        raise CommandError("REVERIE_DEBUG is on. Debug pages leak data; turn it off to serve.")


class Command(BaseCommand):
    help = "Serve Reverie with gunicorn (several processes, threads each)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=settings.BIND)
        parser.add_argument("--workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--threads", type=int, default=settings.WEB_THREADS)

    def handle(self, *args: Any, **options: Any) -> None:
        check_safe_to_serve()
        run_gunicorn(options["bind"], options["workers"], options["threads"])
