"""Billing's data: the fee schedule, agreed fees, charges, payments and what changes them.

Amounts are integers in minor units (cents) with the practice's ISO 4217 currency beside
them; no column holds a float. Charges and payments keep running totals (``paid``,
``written_off``, ``outstanding``; ``allocated``, ``refunded``) that only
:mod:`reverie.billing.actions` moves, in the same transaction as the row that explains
the movement (an allocation, a write-off, a refund) and its audit entry; check
constraints keep them inside their amounts. Reports read the totals and so never add up
allocations row by row. A fee change is a new :class:`Fee` row from a date: charges store
the amount they were made with and are never recomputed.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from reverie.billing import codes
from reverie.billing.money import CURRENCY_CHOICES
from reverie.vault.fields import EncryptedTextField


class BillingSettings(models.Model):
    """A practice's billing details. Without a row the defaults apply (US dollars)."""

    practice = models.OneToOneField(
        "accounts.Practice", on_delete=models.CASCADE, related_name="billing_settings"
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    tax_id = models.CharField(
        "tax ID (EIN)", max_length=20, blank=True, help_text="Printed on superbills."
    )
    address = models.TextField(blank=True, help_text="Printed on statements and superbills.")
    phone = models.CharField(max_length=40, blank=True)
    telehealth_pos = models.CharField(
        "telehealth place of service",
        max_length=2,
        choices=[(k, f"{k} – {v}") for k, v in codes.PLACES_OF_SERVICE.items() if k != "11"],
        default="10",
        help_text="10 when clients join from home (the usual case), 02 otherwise.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "billing settings"
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return f"billing settings of practice {self.practice_id}"

    @classmethod
    def for_practice(cls, practice_id: int) -> BillingSettings:
        found = cls.objects.filter(practice_id=practice_id).first()
        return found or cls(practice_id=practice_id)


class ProviderBilling(models.Model):
    """What a superbill says about the therapist who provided the service."""

    therapist = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_billing"
    )
    npi = models.CharField("NPI", max_length=10, blank=True)
    licence = models.CharField(
        max_length=100,
        blank=True,
        help_text='Licence type, state and number, e.g. "LCSW NY 012345".',
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"billing details of {self.therapist_id}"


class Fee(models.Model):
    """One entry of the practice's fee schedule: ``amount`` for ``service`` from
    ``effective_from`` until the next entry of the same service."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    service = models.CharField(max_length=32, choices=codes.SERVICE_CHOICES)
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    effective_from = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["service", "effective_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["practice", "service", "effective_from"], name="one_fee_per_service_and_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} from {self.effective_from}"


class ClientBilling(models.Model):
    """How one client is billed, and the diagnosis codes their clinician entered."""

    client = models.OneToOneField("care.Client", on_delete=models.CASCADE, related_name="billing")
    self_pay = models.BooleanField(
        default=True,
        help_text="Pays the practice directly (a Good Faith Estimate is due, 45 CFR 149.610).",
    )
    session_service = models.CharField(
        max_length=32,
        blank=True,
        choices=[(k, codes.SERVICES[k].label) for k in codes.SESSION_SERVICES],
        help_text="Blank: by the session's length (CPT time rule).",
    )
    diagnoses = EncryptedTextField(
        owner="client_id", blank=True, help_text="ICD-10-CM codes, entered by the clinician."
    )
    diagnoses_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"billing of client {self.client_id}"

    @property
    def diagnosis_codes(self) -> list[str]:
        return [c for c in self.diagnoses.split(",") if c] if self.diagnoses else []


class AgreedFee(models.Model):
    """A fee agreed with one client (a sliding-scale fee), from a date; blank ``service``
    means every session service."""

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="agreed_fees")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    service = models.CharField(max_length=32, blank=True, choices=codes.SERVICE_CHOICES)
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    effective_from = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["effective_from", "created_at"]

    def __str__(self) -> str:
        return f"agreed fee of client {self.client_id} from {self.effective_from}"


class ChargeKind(models.TextChoices):
    SESSION = "session", "Session"
    LATE_CANCEL = "late_cancel", "Late cancellation"
    NO_SHOW = "no_show", "Missed session"


class ChargeState(models.TextChoices):
    LIVE = "live", "Charged"
    WAIVED = "waived", "Waived"
    VOIDED = "voided", "Voided (attendance corrected)"


class Charge(models.Model):
    """What a client owes for one session or one policy fee, with its codes."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="charges")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    appointment = models.ForeignKey(
        "care.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    kind = models.CharField(max_length=12, choices=ChargeKind.choices)
    service = models.CharField(max_length=32, choices=codes.SERVICE_CHOICES)
    cpt = models.CharField("CPT", max_length=5, blank=True)
    modifier = models.CharField(max_length=2, blank=True)
    pos = models.CharField("place of service", max_length=2, blank=True)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    service_date = models.DateField()
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    fee_source = models.CharField(max_length=10, default="schedule")
    state = models.CharField(max_length=8, choices=ChargeState.choices, default=ChargeState.LIVE)
    paid = models.PositiveIntegerField(default=0)
    written_off = models.PositiveIntegerField(default=0)
    outstanding = models.PositiveIntegerField(
        default=0, help_text="amount − paid − written off while charged; 0 when waived or voided."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["service_date", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["client", "service_date"]),
            # The income report reads whole months from IncomeMonth; the days of a period
            # that are not a whole month are read from live charges, from this index alone
            # (``state`` is in it too: SQLite reads an index alone only when it holds every
            # column the query names, the partial index's condition included).
            models.Index(
                fields=[
                    "practice",
                    "service_date",
                    "therapist",
                    "service",
                    "amount",
                    "written_off",
                    "state",
                ],
                condition=Q(state="live"),
                name="charge_income_live",
            ),
            # The ageing report reads open charges only (a small part of a mature ledger),
            # client by client, from this index alone (every column it needs is in it).
            models.Index(
                fields=["practice", "client", "service_date", "outstanding", "therapist"],
                condition=Q(outstanding__gt=0),
                name="charge_open_by_client",
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(paid__gte=0) & Q(written_off__gte=0),
                name="charge_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(paid__lte=F("amount") - F("written_off")),
                name="charge_not_overpaid",
            ),
            models.CheckConstraint(
                condition=Q(state="live", outstanding=F("amount") - F("paid") - F("written_off"))
                | (~Q(state="live") & Q(outstanding=0, paid=0)),
                name="charge_outstanding_consistent",
            ),
            # A session is charged once: attendance recorded twice, or by two people at
            # once, cannot bill it twice. A corrected attendance voids the old charge.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(state__in=["live", "waived"]),
                name="one_charge_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"charge {self.pk} on {self.service_date}"

    @property
    def label(self) -> str:
        return codes.SERVICES[self.service].label if self.service in codes.SERVICES else ""

    @property
    def counts(self) -> int:
        """What the charge adds to the balance (nothing once waived or voided)."""
        return self.amount if self.state == ChargeState.LIVE else 0


class IncomeMonth(models.Model):
    """The live charges of one practice, month, therapist and service, summed: what the
    income report reads for whole months instead of the charges themselves.

    :mod:`reverie.billing.summary` moves these rows in the same transaction as the charge
    change they summarise (a charge made, waived or voided, a write-off), so they always
    equal a sum over ``Charge`` rows in state ``live``; ``reverie billing summary
    --check`` compares them, and ``reverie billing summary --rebuild`` recomputes them
    from the charges."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month of the dates of service.")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    service = models.CharField(max_length=32, choices=codes.SERVICE_CHOICES)
    sessions = models.IntegerField(default=0, help_text="How many live charges.")
    charged = models.BigIntegerField(default=0, help_text="Their amounts, minor units.")
    written_off = models.BigIntegerField(default=0, help_text="Written off them, minor units.")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["practice", "month", "therapist", "service"], name="one_income_month_row"
            ),
            models.CheckConstraint(
                condition=Q(sessions__gte=0, charged__gte=0, written_off__gte=0),
                name="income_month_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"income of {self.month:%Y-%m}, {self.service}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    CARD = "card", "Card (taken elsewhere)"
    TRANSFER = "bank_transfer", "Bank transfer"
    INSURER = "insurer", "Insurer"


class Payment(models.Model):
    """Money received from (or for) a client, allocated to their charges."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    received_on = models.DateField()
    reference = models.CharField(
        max_length=40, blank=True, help_text="A cheque or transfer number; no card numbers."
    )
    allocated = models.PositiveIntegerField(default=0)
    refunded = models.PositiveIntegerField(default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["received_on", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["client", "received_on"]),
            models.Index(fields=["practice", "received_on"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("amount") - F("refunded")),
                name="payment_not_overallocated",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} on {self.received_on}"

    @property
    def unallocated(self) -> int:
        return self.amount - self.refunded - self.allocated


class Allocation(models.Model):
    """Part of a payment applied to a charge. Released allocations keep their row with
    ``released_at`` set, so the history of every cent stays readable."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="allocations")
    amount = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to charge {self.charge_id}"


class RefundReason(models.TextChoices):
    OVERPAYMENT = "overpayment", "Overpayment"
    SESSION_NOT_HELD = "session_not_held", "Session not held"
    CLIENT_REQUEST = "client_request", "At the client's request"
    ENDING = "ending", "Credit returned at the end of treatment"
    ERROR = "error", "Recorded in error"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    refunded_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive")
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} of payment {self.payment_id}"


class WriteOffReason(models.TextChoices):
    HARDSHIP = "hardship", "Financial hardship"
    UNCOLLECTABLE = "uncollectable", "Uncollectable"
    SMALL_BALANCE = "small_balance", "Small balance"
    INSURER_ADJUSTMENT = "insurer_adjustment", "Insurer adjustment"
    ERROR = "error", "Charged in error"


class WriteOff(models.Model):
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=WriteOffReason.choices)
    written_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "write-off"
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="write_off_positive")
        ]

    def __str__(self) -> str:
        return f"write-off {self.pk} of charge {self.charge_id}"


class WaiverReason(models.TextChoices):
    ILLNESS = "illness", "Illness"
    EMERGENCY = "emergency", "Emergency"
    FIRST_OCCURRENCE = "first_occurrence", "First time; policy explained"
    CLINICAL = "clinical", "Clinical judgement"
    PRACTICE = "practice", "The practice's own error"


class Waiver(models.Model):
    """A late-cancellation or missed-session fee the therapist chose not to charge."""

    charge = models.OneToOneField(Charge, on_delete=models.PROTECT, related_name="waiver")
    reason = models.CharField(max_length=20, choices=WaiverReason.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"waiver of charge {self.charge_id}"


class EstimateTrigger(models.TextChoices):
    BOOKING = "booking", "At booking"
    REQUEST = "request", "On request"


class GoodFaithEstimate(models.Model):
    """A Good Faith Estimate for a self-pay (or uninsured) person, as 45 CFR 149.610
    requires: issued when a first consultation is booked and whenever one is asked for.
    The figures are fixed when it is issued; the PDF is drawn from this row each time.
    ``name`` and ``email`` are those the person gave (at booking they are not a client)."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(
        "care.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="estimates"
    )
    booking = models.OneToOneField(
        "scheduling.Booking",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="good_faith_estimate",
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(max_length=8, choices=EstimateTrigger.choices)
    name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    service = models.CharField(max_length=32, choices=codes.SERVICE_CHOICES)
    cpt = models.CharField(max_length=5)
    fee = models.PositiveIntegerField(help_text="Expected charge per session, minor units.")
    sessions = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    first_date = models.DateField(help_text="The first expected (or scheduled) date of service.")
    last_date = models.DateField(help_text="At most 12 months after the first.")
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-issued_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(last_date__gte=F("first_date")), name="estimate_period_forwards"
            )
        ]

    def __str__(self) -> str:
        return f"good faith estimate {self.pk}"

    @property
    def total(self) -> int:
        return self.fee * self.sessions
