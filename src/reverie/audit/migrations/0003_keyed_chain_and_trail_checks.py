"""Keyed chain: every existing entry becomes chain version 1 (unkeyed SHA-256, kept as it
is and verified as before); new entries are written as version 2 (HMAC-SHA256) by
``audit.trail``. Nothing already in the table is rewritten.

On SQLite, adding a NOT NULL column rebuilds the table (copy, drop, rename), which drops
its append-only triggers; they are lifted first and put back last, on both databases, so
the table is never left unguarded after this migration.
"""

import django.utils.timezone
from django.db import migrations, models

from reverie.audit import protection


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        protection.install(cursor, schema_editor.connection.vendor)


def remove(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        protection.remove(cursor, schema_editor.connection.vendor)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_head_row_and_append_only_triggers'),
    ]

    operations = [
        migrations.RunPython(remove, install),
        migrations.AddField(
            model_name='auditentry',
            name='chain_version',
            field=models.PositiveSmallIntegerField(default=1, help_text='1: unkeyed SHA-256 (written before keyed chains); 2: HMAC-SHA256.'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='auditentry',
            name='key_id',
            field=models.CharField(blank=True, default='', help_text='Fingerprint of the audit key that signed the entry; empty when unkeyed.', max_length=16),
        ),
        migrations.RunPython(install, remove),
        migrations.CreateModel(
            name='TrailCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('verify', 'verification'), ('checkpoint', 'checkpoint')], max_length=16)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('ok', models.BooleanField()),
                ('head_seq', models.BigIntegerField(default=0)),
                ('checked', models.BigIntegerField(default=0, help_text='Entries whose digest was recomputed.')),
                ('problems', models.PositiveIntegerField(default=0)),
                ('first_problem', models.CharField(blank=True, max_length=500)),
                ('by', models.CharField(help_text='The command or job that ran it.', max_length=100)),
            ],
            options={
                'indexes': [models.Index(fields=['kind', '-at'], name='audit_trail_kind_590f9b_idx')],
            },
        ),
    ]
