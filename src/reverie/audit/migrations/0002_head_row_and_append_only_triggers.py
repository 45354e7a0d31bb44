"""Create the chain's head row and the append-only triggers (see audit/protection.py)."""

from django.db import migrations

from reverie.audit import protection


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        protection.install(cursor, schema_editor.connection.vendor)


def remove(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        protection.remove(cursor, schema_editor.connection.vendor)


def create_head(apps, schema_editor):
    apps.get_model("audit", "AuditHead").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(install, remove),
    ]
