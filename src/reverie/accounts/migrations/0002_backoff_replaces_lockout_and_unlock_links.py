"""Sign-in back-off replaces account lockout: attempts record an outcome (a success or an
unlock clears an email's back-off) and the known browser they came from; the per-user
lockout columns go; one-time unlock links are stored as digests."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def outcomes_from_succeeded(apps, schema_editor):
    LoginAttempt = apps.get_model("accounts", "LoginAttempt")
    LoginAttempt.objects.filter(succeeded=True).update(outcome="succeeded")


def succeeded_from_outcomes(apps, schema_editor):
    LoginAttempt = apps.get_model("accounts", "LoginAttempt")
    LoginAttempt.objects.exclude(outcome="failed").update(succeeded=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        # Schema: the new columns, every existing row a failure until the data step.
        migrations.AddField(
            model_name="loginattempt",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("failed", "failed"),
                    ("succeeded", "succeeded"),
                    ("unlocked", "unlocked"),
                ],
                default="failed",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="loginattempt",
            name="browser",
            field=models.CharField(
                blank=True,
                help_text="The id of the known browser the attempt came from, if it was one.",
                max_length=32,
            ),
        ),
        # Data: successes keep clearing what came before them.
        migrations.RunPython(outcomes_from_succeeded, succeeded_from_outcomes),
        migrations.RemoveField(model_name="loginattempt", name="succeeded"),
        # A lock in force is dropped with its column; the failures that caused it are rows
        # above, so the new back-off applies to them at once.
        migrations.RemoveField(model_name="user", name="failed_login_count"),
        migrations.RemoveField(model_name="user", name="locked_until"),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(fields=["email", "at"], name="accounts_lo_email_f06f55_idx"),
        ),
        migrations.CreateModel(
            name="UnlockLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="unlock_links",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["user", "created_at"], name="accounts_un_user_id_e130b2_idx"
                    )
                ],
            },
        ),
    ]
