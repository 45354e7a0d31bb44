"""Django's SQLite backend, creating the database file private (mode 0600).

SQLite creates a missing database file with the process umask, and gives the ``-wal``
and ``-shm`` files it makes later the database file's own mode. Creating the empty file
first, private, therefore keeps the database and its write-ahead log private even in a
process that did not set Reverie's umask (a script that calls ``django.setup()``).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

from reverie.lib.files import create_private_file


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        name = str(conn_params.get("database", ""))
        # In-memory databases (":memory:", "file:…?mode=memory") have no file.
        if name and not name.startswith((":memory:", "file:")):
            create_private_file(name)
        return super().get_new_connection(conn_params)
