"""Psychodynamic process: session reflections, relationship episodes (CCRT), the client's
journal and recurring themes.

Everything here is clinical data. Changes go through :mod:`reverie.process.actions`,
which writes the audit trail; views record every read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from reverie.process.reflection import FEATURE_KEYS, SCALE_MAX, SCALE_MIN
from reverie.vault.fields import EncryptedJSONField, EncryptedTextField


def _rating(label: str) -> models.PositiveSmallIntegerField[int, int]:
    return models.PositiveSmallIntegerField(
        verbose_name=label,
        validators=[MinValueValidator(SCALE_MIN), MaxValueValidator(SCALE_MAX)],
    )


class SessionReflection(models.Model):
    """The therapist's 0–6 rating of how much each of the seven features of
    psychodynamic technique was part of one session (see ``process/reflection.py``)."""

    appointment = models.OneToOneField(
        "care.Appointment", on_delete=models.PROTECT, related_name="reflection"
    )
    episode = models.ForeignKey("care.Episode", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    session_date = models.DateField()
    affect = _rating("Feelings")
    avoidance = _rating("Avoidance")
    patterns = _rating("Recurring patterns")
    past = _rating("The past")
    relationships = _rating("Relationships")
    therapy_relationship = _rating("Our relationship")
    fantasy = _rating("Inner life")
    comment = EncryptedTextField(owner="episode.client_id", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session_date", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["episode", "session_date"]),
            models.Index(fields=["author", "session_date"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(
                    affect__lte=SCALE_MAX,
                    avoidance__lte=SCALE_MAX,
                    patterns__lte=SCALE_MAX,
                    past__lte=SCALE_MAX,
                    relationships__lte=SCALE_MAX,
                    therapy_relationship__lte=SCALE_MAX,
                    fantasy__lte=SCALE_MAX,
                ),
                name="reflection_ratings_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"reflection on {self.session_date}"

    def scores(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in FEATURE_KEYS}


class OtherPerson(models.TextChoices):
    PARENT = "parent", "Parent"
    PARTNER = "partner", "Partner"
    BOSS = "boss", "Boss or manager"
    FRIEND = "friend", "Friend"
    SIBLING = "sibling", "Brother or sister"
    CHILD = "child", "Child"
    THERAPIST = "therapist", "The therapist"
    SELF = "self", "Self"
    OTHER = "other", "Someone else"


class EpisodeSource(models.TextChoices):
    SESSION = "session", "Told in a session"
    JOURNAL = "journal", "Written in the journal"


class Valence(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neither"


class Component(models.TextChoices):
    WISH = "wish", "Wish (W)"
    RO = "ro", "Response of the other (RO)"
    RS = "rs", "Response of the self (RS)"


class RelationshipEpisode(models.Model):
    """A relationship episode in Luborsky's CCRT method, with the therapist's
    tailor-made formulation of wish, response of the other and response of the self."""

    client = models.ForeignKey(
        "care.Client", on_delete=models.PROTECT, related_name="relationship_episodes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    occurred_on = models.DateField(help_text="When the client told or wrote it.")
    source = models.CharField(max_length=10, choices=EpisodeSource.choices)
    appointment = models.ForeignKey(
        "care.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    journal_entry = models.ForeignKey(
        "process.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="relationship_episodes",
    )
    other_person = models.CharField(max_length=10, choices=OtherPerson.choices)
    other_person_note = EncryptedTextField(max_length=100, blank=True)
    narrative = EncryptedTextField()
    wish = EncryptedTextField(blank=True)
    response_of_other = EncryptedTextField(blank=True)
    ro_valence = models.CharField(max_length=10, choices=Valence.choices, blank=True)
    response_of_self = EncryptedTextField(blank=True)
    rs_valence = models.CharField(max_length=10, choices=Valence.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_on", "-pk"]
        indexes: ClassVar = [models.Index(fields=["client", "occurred_on"])]

    def __str__(self) -> str:
        return f"relationship episode {self.occurred_on}"

    @property
    def is_transference(self) -> bool:
        """Episodes about the therapist are where transference shows most directly."""
        return self.other_person == OtherPerson.THERAPIST

    def formulation(self, component: str) -> str:
        parts: dict[str, str] = {
            "wish": self.wish,
            "ro": self.response_of_other,
            "rs": self.response_of_self,
        }
        return parts[component]


class CategorySet(models.Model):
    """A CCRT category list a practice imported because it is licensed to use it."""

    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.PROTECT, related_name="ccrt_category_sets"
    )
    name = models.CharField(max_length=120)
    licence_note = models.CharField(max_length=300)
    is_active = models.BooleanField(default=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["practice", "name"], name="one_category_set_name")
        ]

    def __str__(self) -> str:
        return self.name


class StandardCategory(models.Model):
    category_set = models.ForeignKey(
        CategorySet, on_delete=models.CASCADE, related_name="categories"
    )
    component = models.CharField(max_length=4, choices=Component.choices)
    code = models.CharField(max_length=20, blank=True)
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["category_set", "component", "position"]

    def __str__(self) -> str:
        return f"{self.code} {self.label}".strip()


class FormulationGroup(models.Model):
    """A client's own (tailor-made) category: formulations of one component that say
    the same thing. Counting groups gives the CCRT."""

    client = models.ForeignKey(
        "care.Client", on_delete=models.PROTECT, related_name="formulation_groups"
    )
    component = models.CharField(max_length=4, choices=Component.choices)
    # Sealed with the client's key: a label is named after a formulation (the client's
    # words) or written by the therapist about the client. Being ciphertext, it can be
    # neither filtered on nor sorted by in SQL; pages sort groups in Python (``by_label``).
    label = EncryptedTextField(max_length=200)
    standard_category = models.ForeignKey(
        StandardCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["component", "pk"]

    def __str__(self) -> str:
        return str(self.label)

    @staticmethod
    def by_label(groups: Iterable[FormulationGroup]) -> list[FormulationGroup]:
        """``groups`` in the order a reader expects (component, then label), which SQL
        cannot give since the label is sealed."""
        return sorted(groups, key=lambda g: (g.component, g.label.casefold(), g.pk))


class AssignmentStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    CONFIRMED = "confirmed", "Confirmed"


class FormulationAssignment(models.Model):
    """Which group one component of one RE belongs to. Suggested assignments wait for
    the therapist; only confirmed ones are counted."""

    relationship_episode = models.ForeignKey(
        RelationshipEpisode, on_delete=models.CASCADE, related_name="assignments"
    )
    component = models.CharField(max_length=4, choices=Component.choices)
    group = models.ForeignKey(
        FormulationGroup, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(max_length=10, choices=AssignmentStatus.choices)
    method = models.CharField(max_length=120, help_text="How the group was suggested.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["relationship_episode", "component"], name="one_group_per_component"
            )
        ]

    def __str__(self) -> str:
        return f"{self.component} of RE {self.relationship_episode_id} in {self.group_id}"


class JournalKind(models.TextChoices):
    DREAM = "dream", "A dream"
    FANTASY = "fantasy", "A fantasy or daydream"
    ASSOCIATION = "association", "Free association"
    THOUGHT = "thought", "A thought between sessions"


class Mood(models.IntegerChoices):
    VERY_LOW = 1, "Very low"
    LOW = 2, "Low"
    MIXED = 3, "Mixed or flat"
    GOOD = 4, "Good"
    VERY_GOOD = 5, "Very good"


class JournalEntry(models.Model):
    """A client's journal entry. Private to the client until they share it with the
    clinicians treating them; sharing can be undone at any time."""

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="journal")
    kind = models.CharField(max_length=12, choices=JournalKind.choices)
    title = EncryptedTextField(max_length=120, blank=True)
    text = EncryptedTextField()
    mood = models.PositiveSmallIntegerField(choices=Mood.choices, null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    entry_date = models.DateField(help_text="The day it happened or came to mind.")
    shared_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        "care.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-entry_date", "-created_at"]
        verbose_name_plural = "journal entries"
        indexes: ClassVar = [models.Index(fields=["client", "shared_at"])]

    def __str__(self) -> str:
        return f"journal entry {self.pk}"

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Running"
    DONE = "done", "Finished"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class ThemeRun(models.Model):
    """One request to look for recurring themes, carried out by the background worker.

    The worker claims a queued run with a conditional UPDATE, so two workers never run
    the same one. ``message`` never holds clinical text.
    """

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    use_fallback = models.BooleanField(
        default=False, help_text="The therapist chose the word-overlap fallback explicitly."
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default="queued")
    cancel_requested = models.BooleanField(default=False)
    stage = models.CharField(max_length=120, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    embedder = models.CharField(max_length=200, blank=True)
    document_counts = models.JSONField(default=dict, blank=True)
    theme_count = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["status", "created_at"])]
        constraints: ClassVar = [
            # One run at a time per client and therapist: a double click queues one run.
            models.UniqueConstraint(
                fields=["client", "requested_by"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_theme_run",
            )
        ]

    def __str__(self) -> str:
        return f"theme run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class ThemeStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"
    MERGED = "merged", "Merged"


class ThemeOrigin(models.TextChoices):
    FOUND = "found", "Found by a search"
    SEEDED = "seeded", "Seeded by you"


class RecurringTheme(models.Model):
    """A recurring theme found for one client by one therapist's run, or seeded by them.

    A *seeded* theme (``origin="seeded"``) is one the therapist named and marked a few
    sentences for; Reverie then ranks the client's other sentences by likeness
    (``themes.rank_by_seeds``) and the therapist accepts or rejects each suggestion. Runs
    never touch seeded themes.

    Themes belong to the therapist who ran the discovery (``owner``): their runs may
    include that therapist's own process notes, so nobody else sees them.

    ``centroid`` is the unit mean embedding of the theme's sentences from journal
    entries, relationship episodes and progress notes only: process-note embeddings are
    never stored (the engine leaves them out, and a theme built only from process notes
    has no centroid). ``label`` is stored (sealed) only when it can be shown without quoting
    a process note (see ``theme_runs.safe_label``); a theme whose evidence is all from
    process notes is ``private`` and its label is worked out when its owner opens it.
    """

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stable_key = models.CharField(max_length=40)
    # Label and terms are words drawn from the client's text: sealed with the client's key
    # (process migration 0004), so erasure shreds them. Lists never sort by them.
    label = EncryptedTextField(max_length=200, blank=True)
    renamed = models.BooleanField(default=False)
    terms = EncryptedJSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=ThemeStatus.choices, default="suggested")
    origin = models.CharField(max_length=10, choices=ThemeOrigin.choices, default="found")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    private = models.BooleanField(default=False)
    centroid = models.BinaryField(null=True, blank=True)
    embedder = models.CharField(max_length=200, blank=True)
    fallback = models.BooleanField(default=False)
    first_seen = models.DateField()
    last_seen = models.DateField()
    count_by_month = models.JSONField(default=dict, blank=True)
    document_count = models.PositiveIntegerField(default=0)
    kind_counts = models.JSONField(default=dict, blank=True)
    last_run = models.ForeignKey(
        ThemeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    in_last_run = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-document_count", "first_seen", "pk"]
        indexes: ClassVar = [models.Index(fields=["client", "owner", "status"])]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["client", "owner", "stable_key"], name="one_theme_per_key"
            )
        ]

    def __str__(self) -> str:
        return self.label or f"theme {self.pk}"


class EvidenceRole(models.TextChoices):
    FOUND = "found", "Found by a search"
    SEED = "seed", "Marked by you as the seed"
    ACCEPTED = "accepted", "Suggested and accepted by you"
    REJECTED = "rejected", "Suggested and rejected by you"


class EvidenceKind(models.TextChoices):
    JOURNAL = "journal", "Journal entry"
    EPISODE = "episode", "Relationship episode"
    PROGRESS_NOTE = "progress_note", "Progress note"
    PROCESS_NOTE = "process_note", "Your process note"


class ThemeEvidence(models.Model):
    """One sentence supporting a theme.

    For journal entries, relationship episodes and progress notes the exact sentence is
    kept, sealed with the client's data key like the text it quotes (process migration
    0004; before it, these copies were the one place that text sat in the clear). For
    process notes only the note and
    the character span are kept; the sentence is cut from the decrypted note, through
    ``process.actions.read_process_note``, when its author opens the theme. When a client
    stops sharing an entry its sentences are blanked and marked ``withdrawn``.
    """

    theme = models.ForeignKey(RecurringTheme, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    journal_entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    relationship_episode = models.ForeignKey(
        RelationshipEpisode, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    progress_note = models.ForeignKey(
        "care.ProgressNote", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    process_note = models.ForeignKey(
        "care.ProcessNote", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    date = models.DateField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    sentence = EncryptedTextField(owner="theme.client_id", blank=True)
    withdrawn = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    # Seeded themes only: what the sentence is to the theme, and the ranking score it had
    # when the therapist judged it (seeds have none). A rejected suggestion keeps only its
    # span, so that it is not suggested again; its words are not stored.
    role = models.CharField(max_length=10, choices=EvidenceRole.choices, default="found")
    score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["theme", "position"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="journal",
                        journal_entry__isnull=False,
                        relationship_episode__isnull=True,
                        progress_note__isnull=True,
                        process_note__isnull=True,
                    )
                    | models.Q(
                        kind="episode",
                        journal_entry__isnull=True,
                        relationship_episode__isnull=False,
                        progress_note__isnull=True,
                        process_note__isnull=True,
                    )
                    | models.Q(
                        kind="progress_note",
                        journal_entry__isnull=True,
                        relationship_episode__isnull=True,
                        progress_note__isnull=False,
                        process_note__isnull=True,
                    )
                    | models.Q(
                        kind="process_note",
                        journal_entry__isnull=True,
                        relationship_episode__isnull=True,
                        progress_note__isnull=True,
                        process_note__isnull=False,
                        sentence="",
                    )
                ),
                name="evidence_has_one_matching_source",
            )
        ]

    def __str__(self) -> str:
        return f"evidence {self.pk} for theme {self.theme_id}"
