"""Outcome read models: the per-episode summary the practice dashboard is computed from,
the fitted expected-recovery curves, the state of the summary refresh, and the practice's
outcome settings.

Everything here but :class:`SupportReview` is *derived* data: it can be rebuilt at any time
from care and measures by ``reverie outcomes recompute``, and none of it is the clinical
record itself. A support review is a therapist's own record of what they reviewed after a
not-on-track alert: clinical record, exported with the client's record.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from reverie.vault.fields import EncryptedTextField

#: The score columns of :class:`EpisodeOutcome`, in the order the dashboard's frame, the
#: de-identified CSV and its query list them: per summarised instrument (PHQ-9, then GAD-7)
#: the number of in-treatment scores, the first and last of them, and the latest score at
#: each follow-up (1, 3, 6 and 12 months). The model spells the fields out below (Django
#: needs them written); ``tests/outcomes/test_summary.py`` holds the two together.
SCORE_COLUMNS: tuple[str, ...] = tuple(
    f"{prefix}_{part}"
    for prefix in ("phq9", "gad7")
    for part in ("n", "first", "last", "fu1", "fu3", "fu6", "fu12")
)


def _new_salt() -> str:
    return secrets.token_hex(32)


class EpisodeOutcome(models.Model):
    """One row per treatment episode: first, last and follow-up PHQ-9 and GAD-7 scores and the
    facts the dashboard splits by. Kept up to date by the ``outcomes.refresh`` worker job.

    "In treatment" scores are the intake and before-session administrations; follow-up scores
    are the 1, 3, 6 and 12 month administrations after ending (the latest one at each point).
    """

    episode = models.OneToOneField(
        "care.Episode", primary_key=True, on_delete=models.CASCADE, related_name="outcome"
    )
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey("care.Client", on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    modality = models.CharField(max_length=20)
    status = models.CharField(max_length=10)
    end_reason = models.CharField(max_length=20, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    sessions_attended = models.PositiveIntegerField(default=0)
    #: Days from start to end, for ended episodes only.
    days_treated = models.PositiveIntegerField(null=True, blank=True)

    phq9_n = models.PositiveIntegerField(default=0)
    phq9_first = models.SmallIntegerField(null=True, blank=True)
    phq9_last = models.SmallIntegerField(null=True, blank=True)
    phq9_fu1 = models.SmallIntegerField(null=True, blank=True)
    phq9_fu3 = models.SmallIntegerField(null=True, blank=True)
    phq9_fu6 = models.SmallIntegerField(null=True, blank=True)
    phq9_fu12 = models.SmallIntegerField(null=True, blank=True)
    gad7_n = models.PositiveIntegerField(default=0)
    gad7_first = models.SmallIntegerField(null=True, blank=True)
    gad7_last = models.SmallIntegerField(null=True, blank=True)
    gad7_fu1 = models.SmallIntegerField(null=True, blank=True)
    gad7_fu3 = models.SmallIntegerField(null=True, blank=True)
    gad7_fu6 = models.SmallIntegerField(null=True, blank=True)
    gad7_fu12 = models.SmallIntegerField(null=True, blank=True)

    #: The latest in-treatment PHQ-9 lies outside the expected-recovery band.
    not_on_track = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    # No (practice, therapist) index on purpose: walking it visits rows in therapist order, which
    # on SQLite means a random page read per episode (0.4 s at 100,000 episodes against 0.01 s
    # for rowid order). The foreign-key indexes on practice and therapist are enough.

    def __str__(self) -> str:
        return f"outcome summary of episode {self.episode_id}"


class ExpectedCurves(models.Model):
    """Expected-recovery curves of one instrument in one practice, fitted from its ended
    episodes, as JSON: ``{"dose": ...}``, the dose-indexed curves per modality shrunk toward a
    published reference and their measured accuracy (:func:`.recovery.payload`). Rows fitted
    before December 2026 also held percentile curves per intake band (``"percentiles"``,
    ``"edges"``, ``"bands"``); nothing reads them and the next refit drops them."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    instrument = models.CharField(max_length=50)
    curves = models.JSONField()
    n_episodes = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["practice", "instrument"], name="one_curve_set_per_instrument"
            )
        ]

    def __str__(self) -> str:
        return f"expected curves for {self.instrument}"


class RefreshState(models.Model):
    """The one row that says how far the summary refresh has got.

    A worker (or ``reverie outcomes recompute``) claims it with a conditional UPDATE on
    ``locked_until``, so two processes never refresh at once; ``done`` / ``total`` is the
    progress the dashboard shows during a long recomputation.
    """

    #: Highest ``measures.Administration`` id already folded into the summaries.
    watermark = models.BigIntegerField(default=0)
    full_requested = models.BooleanField(default=True)
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"outcome refresh at administration {self.watermark}"

    @property
    def running(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class PracticeSettings(models.Model):
    """Outcome settings of one practice."""

    practice = models.OneToOneField(
        "accounts.Practice", on_delete=models.CASCADE, related_name="outcome_settings"
    )
    publish_outcomes = models.BooleanField(
        default=False,
        help_text="Show the de-identified outcome summary on the public outcomes page.",
    )
    #: Secret per-practice key of the pseudonymous ids in the research export.
    pseudonym_salt = models.CharField(max_length=64, default=_new_salt)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "practice settings"

    def __str__(self) -> str:
        return f"outcome settings of practice {self.practice_id}"


class SupportReview(models.Model):
    """The clinical-support checklist a therapist completed after a not-on-track alert
    (``outcomes/support.py``): which areas they reviewed, and a note if they wrote one.

    One per alert, updated in place by whoever in the client's care saves it again (each
    save is audited). The note is encrypted with the client's data key, so erasing the
    client shreds it; the areas are keys from a fixed list, not free text.
    """

    alert = models.OneToOneField(
        "care.Alert", on_delete=models.PROTECT, related_name="support_review"
    )
    #: Who saved it last.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    #: Keys of the areas reviewed, in checklist order (``support.KEYS``).
    reviewed = models.JSONField(default=list)
    note = EncryptedTextField(owner="alert.client_id", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"clinical-support review of alert {self.alert_id}"

    @property
    def reviewed_titles(self) -> list[str]:
        from reverie.outcomes import support

        return support.titles(self.reviewed)
