"""WSGI entry point for gunicorn (``reverie serve``) or any other WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

from reverie.lib.files import use_private_umask

# Files this process creates (database, WAL, mail files) are private to its account,
# however the server was started (see reverie.lib.files).
use_private_umask()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reverie.settings")
application = get_wsgi_application()
