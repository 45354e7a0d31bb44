"""What a restore must give back, as one comparable value; also run as a script.

For every client: the FHIR ``Patient/$everything`` resources (decrypted note text
included). For every uploaded document: its file's SHA-256. For every model's table: the
row count and a SHA-256 over all its rows in key order, values as the ORM reads them (so
a SQLite archive restored into PostgreSQL must give the same values, not merely the same
bytes). The audit tables are left out: a restore adds
its own entry, and the backup's entry is written after its snapshot.

As a script (``python fingerprint.py OUT.json``, with Django configured by the caller's
environment) it writes the fingerprint of the configured database to OUT.json; the
cross-engine test runs it against the SQLite database it backs up.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

LEFT_OUT = {
    "audit_auditentry",
    "audit_trailcheck",
    "backups_backuprun",
    "django_session",
}


def fingerprint() -> dict[str, Any]:
    from django.apps import apps

    from reverie.care.models import Client
    from reverie.fhir import everything

    clients = {
        str(c.pk): json.loads(json.dumps(everything.collect(c), sort_keys=True, default=str))
        for c in Client.objects.order_by("pk")
    }
    tables: dict[str, Any] = {}
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in LEFT_OUT or not model._meta.managed or model._meta.proxy:
            continue
        names = [f.attname for f in model._meta.concrete_fields]
        digest = hashlib.sha256()
        count = 0
        for row in model._base_manager.order_by("pk").values_list(*names).iterator():
            digest.update(
                json.dumps([_plain(v) for v in row], sort_keys=True, default=str).encode()
            )
            count += 1
        tables[table] = [count, digest.hexdigest()]
    from reverie.paperwork import storage
    from reverie.paperwork.models import Document

    documents = {
        d.stored_name: hashlib.sha256(storage.read(d.stored_name)).hexdigest()
        for d in Document.objects.order_by("pk")
    }
    return {"clients": clients, "tables": tables, "documents": documents}


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value).hex()
    if isinstance(value, bytes):
        return value.hex()
    return value


if __name__ == "__main__":
    import django

    django.setup()
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(fingerprint(), out, sort_keys=True)
