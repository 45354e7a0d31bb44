"""Billing's documents as PDFs (the shared setup of :mod:`reverie.lib.pdf`): the monthly
statement and invoice, the superbill for a period, and the Good Faith Estimate.

Each is drawn from the ledger when it is asked for, so a document never drifts from the
record it shows. The callers (views) audit each download as an export.

Superbill: the fields insurers ask for on an out-of-network claim, laid out like the CMS-1500
form's service lines (box 21 diagnosis codes lettered A–L, box 24 date of service, place of
service, CPT and modifier, diagnosis pointer, charges, units; box 25 the federal tax ID;
box 24J/33a the rendering provider's NPI).

Good Faith Estimate: the content 45 CFR 149.610(c) requires: the person's name and date of
birth; the primary service in clear words and its scheduled date; an itemised list of the
expected services with their diagnosis and service codes and expected charges; each
provider's name, NPI and TIN and where the services are furnished; and the four
disclaimers of 149.610(c)(1)(vii)–(x) (other services not included; an estimate, not a
bill; the right to patient-provider dispute resolution if billed charges exceed the
estimate by $400 or more, 45 CFR 149.620; not a contract). For recurring services one
estimate may cover up to 12 months (45 CFR 149.610, recurring primary items or services),
which is how Reverie words an estimate for a course of sessions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone

from reverie.billing import codes, ledger
from reverie.billing.models import (
    BillingSettings,
    Charge,
    ChargeKind,
    ChargeState,
    ClientBilling,
    GoodFaithEstimate,
    Payment,
    ProviderBilling,
    Refund,
    WriteOff,
)
from reverie.billing.money import fmt
from reverie.care.models import Client
from reverie.directory.models import TherapistProfile
from reverie.lib import dates
from reverie.lib.pdf import Pdf

#: The amount by which billed charges must exceed an estimate before an uninsured person
#: may start patient-provider dispute resolution (45 CFR 149.620(b)(1)(iii)).
DISPUTE_THRESHOLD_USD = 400


def month_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """``"2026-03"`` → (1 March, 31 March); ``"2026"`` → the calendar year.

    >>> month_bounds("2026-02")
    (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    >>> month_bounds("2025")
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    """
    parts = period.split("-")
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == 4:
        year = int(parts[0])
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    if len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12:
            start = datetime.date(year, month, 1)
            nxt = datetime.date(year + month // 12, month % 12 + 1, 1)
            return start, nxt - datetime.timedelta(days=1)
    raise ValueError(f"not a period: {period!r}")


def _day(value: object, client_or_estimate: Client | GoodFaithEstimate, style: str = "long") -> str:
    """A date written the practice's way (Practice → Date format)."""
    return dates.format_date(value, style, client_or_estimate.practice.date_locale)


def _practice_lines(client: Client) -> tuple[BillingSettings, list[str]]:
    settings = BillingSettings.for_practice(client.practice_id)
    lines = [client.practice.name, *[x for x in settings.address.splitlines() if x.strip()]]
    if settings.phone:
        lines.append(f"Telephone {settings.phone}")
    return settings, lines


# --- Statement ---------------------------------------------------------------------------


@dataclass
class StatementLine:
    day: datetime.date
    text: str
    amount: int  # + adds to what is owed, − reduces it


@dataclass
class Statement:
    client: Client
    start: datetime.date
    end: datetime.date
    currency: str
    opening: int
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def closing(self) -> int:
        return self.opening + sum(line.amount for line in self.lines)


def _balance_before(client: Client, day: datetime.date) -> int:
    live = Charge.objects.filter(client=client, state=ChargeState.LIVE)
    charged = live.filter(service_date__lt=day).aggregate(s=Sum("amount"))["s"] or 0
    paid = (
        Payment.objects.filter(client=client, received_on__lt=day).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    refunded = (
        Refund.objects.filter(payment__client=client, refunded_on__lt=day).aggregate(
            s=Sum("amount")
        )["s"]
        or 0
    )
    written = (
        WriteOff.objects.filter(charge__in=live, written_on__lt=day).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    return ledger.balance(charges=charged, payments=paid, refunds=refunded, write_offs=written)


def statement(client: Client, start: datetime.date, end: datetime.date, currency: str) -> Statement:
    result = Statement(client, start, end, currency, _balance_before(client, start))
    in_period = {"service_date__gte": start, "service_date__lte": end}
    for c in Charge.objects.filter(client=client, state=ChargeState.LIVE, **in_period):
        code = f" (CPT {c.cpt}{'-' + c.modifier if c.modifier else ''})" if c.cpt else ""
        result.lines.append(StatementLine(c.service_date, f"{c.label}{code}", c.amount))
    for p in Payment.objects.filter(client=client, received_on__gte=start, received_on__lte=end):
        result.lines.append(
            StatementLine(p.received_on, f"Payment, {p.get_method_display().lower()}", -p.amount)
        )
    for r in Refund.objects.filter(
        payment__client=client, refunded_on__gte=start, refunded_on__lte=end
    ):
        result.lines.append(StatementLine(r.refunded_on, "Refund to you", r.amount))
    for w in WriteOff.objects.filter(
        charge__client=client,
        charge__state=ChargeState.LIVE,
        written_on__gte=start,
        written_on__lte=end,
    ):
        result.lines.append(
            StatementLine(
                w.written_on, f"Written off ({w.get_reason_display().lower()})", -w.amount
            )
        )
    result.lines.sort(key=lambda line: line.day)
    return result


def statement_pdf(s: Statement) -> bytes:
    settings, practice = _practice_lines(s.client)
    c = s.currency
    pdf = Pdf(f"Statement – {s.client.display_name} – {_day(s.start, s.client, 'month')}")
    pdf.add_page()
    for line in practice:
        pdf.text_block(line, 9)
    if settings.tax_id:
        pdf.text_block(f"Tax ID (EIN) {settings.tax_id}", 9)
    pdf.ln(4)
    pdf.heading("Statement and invoice")
    pdf.para(
        f"For {s.client.given_name} {s.client.family_name} · "
        f"{_day(s.start, s.client)} to {_day(s.end, s.client)} · "
        f"issued {_day(timezone.localdate(), s.client)}"
    )
    pdf.ln(3)
    rows = [[s.start.strftime("%Y-%m-%d"), "Balance brought forward", fmt(s.opening, c)]]
    for entry in s.lines:
        rows.append([entry.day.strftime("%Y-%m-%d"), entry.text, fmt(entry.amount, c)])
    pdf.grid(["Date", "Description", "Amount"], rows, [28, 118, 28], right=(2,))
    pdf.ln(3)
    pdf.text_block(f"Balance at {_day(s.end, s.client)}: {fmt(s.closing, c)}", 11, bold=True)
    if s.closing > 0:
        pdf.text_block(f"Amount due: {fmt(s.closing, c)}", 11, bold=True)
    elif s.closing < 0:
        pdf.para(f"You have a credit of {fmt(-s.closing, c)}; nothing is due.")
    pdf.ln(2)
    pdf.para(
        "Amounts already paid are shown as negative lines. Please contact the practice about "
        "any line you do not recognise.",
        8,
    )
    return bytes(pdf.output())


# --- Superbill ----------------------------------------------------------------------------


@dataclass
class Provider:
    name: str
    credentials: str
    npi: str
    licence: str


@dataclass
class Superbill:
    client: Client
    start: datetime.date
    end: datetime.date
    currency: str
    diagnoses: list[str]
    charges: list[Charge]
    providers: list[Provider]

    @property
    def total(self) -> int:
        return sum(c.amount for c in self.charges)

    @property
    def paid(self) -> int:
        return sum(c.paid for c in self.charges)


def superbill(client: Client, start: datetime.date, end: datetime.date, currency: str) -> Superbill:
    """The sessions of the period (not policy fees, which are not medical services)."""
    charges = list(
        Charge.objects.filter(
            client=client,
            kind=ChargeKind.SESSION,
            state=ChargeState.LIVE,
            service_date__gte=start,
            service_date__lte=end,
        )
        .select_related("therapist")
        .order_by("service_date", "pk")
    )
    therapists = {c.therapist_id: c.therapist for c in charges}
    details = {p.therapist_id: p for p in ProviderBilling.objects.filter(therapist__in=therapists)}
    profiles = {p.user_id: p for p in TherapistProfile.objects.filter(user__in=therapists)}
    providers = []
    for pk, user in sorted(therapists.items()):
        d, prof = details.get(pk), profiles.get(pk)
        providers.append(
            Provider(
                user.display_name,
                prof.credentials if prof else "",
                d.npi if d else "",
                d.licence if d else "",
            )
        )
    billing = ClientBilling.objects.filter(client=client).first()
    diagnoses = billing.diagnosis_codes if billing else []
    return Superbill(client, start, end, currency, diagnoses, charges, providers)


def superbill_pdf(b: Superbill) -> bytes:
    settings, practice = _practice_lines(b.client)
    c = b.currency
    pdf = Pdf(f"Superbill – {b.client.display_name}", margin=14, top=12, bottom=14)
    pdf.add_page()
    pdf.heading("Superbill (statement for insurance reimbursement)", 14)
    pdf.para(
        f"Dates of service {_day(b.start, b.client)} to {_day(b.end, b.client)} · "
        f"issued {_day(timezone.localdate(), b.client)}",
        9,
    )
    pdf.ln(2)
    pdf.text_block("Practice (billing provider)", 10, bold=True)
    for line in practice:
        pdf.text_block(line, 9)
    pdf.text_block(f"Federal tax ID (EIN): {settings.tax_id or 'not recorded'}", 9)
    pdf.ln(2)
    pdf.text_block("Rendering provider" + ("s" if len(b.providers) > 1 else ""), 10, bold=True)
    for p in b.providers:
        cred = f", {p.credentials}" if p.credentials else ""
        npi, licence = p.npi or "not recorded", p.licence or "not recorded"
        pdf.text_block(f"{p.name}{cred} · NPI {npi} · Licence {licence}", 9)
    pdf.ln(2)
    pdf.text_block("Patient", 10, bold=True)
    dob = b.client.date_of_birth.strftime("%Y-%m-%d") if b.client.date_of_birth else "not recorded"
    pdf.text_block(f"{b.client.given_name} {b.client.family_name} · date of birth {dob}", 9)
    pdf.ln(2)
    pdf.text_block("Diagnosis codes (ICD-10-CM), entered by the clinician", 10, bold=True)
    letters = "ABCDEFGHIJKL"
    if b.diagnoses:
        pdf.text_block(
            "   ".join(f"{letters[i]}. {code}" for i, code in enumerate(b.diagnoses[:12])), 9
        )
    else:
        pdf.text_block("None recorded", 9)
    pointer = "".join(letters[: min(4, len(b.diagnoses))])
    pdf.ln(2)
    rows = [
        [
            ch.service_date.strftime("%m/%d/%Y"),
            ch.pos,
            ch.cpt,
            ch.modifier,
            pointer,
            "1",
            fmt(ch.amount, c),
            fmt(ch.paid, c),
            ch.therapist.display_name[:22],
        ]
        for ch in b.charges
    ]
    pdf.grid(
        ["Date", "POS", "CPT", "Mod.", "Dx", "Units", "Fee", "Paid", "Provider"],
        rows,
        [22, 11, 14, 11, 12, 11, 24, 24, 53],
        right=(6, 7),
    )
    pdf.ln(3)
    pdf.text_block(f"Total charges: {fmt(b.total, c)}", 10, bold=True)
    pdf.text_block(f"Total paid: {fmt(b.paid, c)}", 10, bold=True)
    pdf.text_block(f"Balance: {fmt(b.total - b.paid, c)}", 10, bold=True)
    pdf.ln(3)
    pdf.para(
        "Place of service: 11 office; 10 telehealth in the patient's home; 02 telehealth "
        "elsewhere. Modifier 95: synchronous audio-video telehealth. This superbill is not a "
        "claim: submit it to your insurer to claim out-of-network reimbursement.",
        7.5,
    )
    return bytes(pdf.output())


# --- Good Faith Estimate ------------------------------------------------------------------


def estimate_pdf(e: GoodFaithEstimate) -> bytes:
    settings = BillingSettings.for_practice(e.practice_id)
    provider = ProviderBilling.objects.filter(therapist=e.therapist).first()
    profile = TherapistProfile.objects.filter(user=e.therapist).first()
    billing = ClientBilling.objects.filter(client_id=e.client_id).first() if e.client_id else None
    c = e.currency
    pdf = Pdf(f"Good Faith Estimate – {e.name}")
    pdf.add_page()
    pdf.heading("Good Faith Estimate for health care items and services", 14)
    pdf.para(
        "Under the No Surprises Act (45 CFR 149.610), health care providers must give people "
        "who are uninsured or who are not using insurance an estimate of the bill for "
        "medical items and services.",
        8.5,
    )
    pdf.ln(2)
    dob = e.date_of_birth.strftime("%Y-%m-%d") if e.date_of_birth else "not given"
    pdf.text_block(f"Patient: {e.name} · date of birth: {dob}", 10, bold=True)
    pdf.text_block(
        f"Issued {_day(timezone.localtime(e.issued_at, e.practice.zone), e)} "
        f"({e.get_trigger_display().lower()}) · estimate no. {e.pk}",
        9,
    )
    pdf.ln(2)
    service = codes.SERVICES[e.service]
    pdf.text_block("Primary service", 10, bold=True)
    when = (
        f"scheduled for {_day(timezone.localtime(e.booking.starts_at, e.practice.zone), e)}"
        if e.booking_id and e.booking
        else f"expected from {_day(e.first_date, e)}"
    )
    pdf.para(
        f"{service.label} with {e.therapist.display_name}, {when}; "
        f"{e.sessions} session{'s' if e.sessions != 1 else ''} expected up to "
        f"{_day(e.last_date, e)}."
    )
    pdf.ln(2)
    pdf.text_block("Provider", 10, bold=True)
    cred = f", {profile.credentials}" if profile and profile.credentials else ""
    npi = provider.npi if provider and provider.npi else "not recorded"
    pdf.para(
        f"{e.therapist.display_name}{cred} · NPI {npi} · "
        f"{e.practice.name}, TIN {settings.tax_id or 'not recorded'}"
    )
    where = " ".join(settings.address.split()) or (profile.location if profile else "")
    pdf.para(
        f"Where: {where or 'the practice'}"
        + ("; or by video" if profile and profile.telehealth else "")
    )
    pdf.ln(2)
    diagnoses = ", ".join(billing.diagnosis_codes) if billing and billing.diagnosis_codes else "—"
    rows = [
        [
            service.label,
            e.cpt,
            diagnoses[:24],
            str(e.sessions),
            fmt(e.fee, c),
            fmt(e.total, c),
        ]
    ]
    pdf.grid(
        ["Service", "Service code", "Diagnosis codes", "Quantity", "Expected charge", "Total"],
        rows,
        [50, 22, 30, 18, 27, 27],
        right=(3, 4, 5),
    )
    pdf.ln(2)
    pdf.text_block(f"Total estimated cost: {fmt(e.total, c)}", 11, bold=True)
    pdf.ln(3)
    disclaimers = [
        "Other items or services may be recommended as part of your care that must be "
        "scheduled or requested separately; they are not included in this estimate.",
        "This Good Faith Estimate shows the costs of items and services that are reasonably "
        "expected for your health care needs for an item or service. The estimate is based "
        "on information known at the time it was created. It does not include unknown or "
        "unexpected costs that may arise during treatment. You could be charged more if "
        "complications or special circumstances occur.",
        f"If you are billed for more than this estimate, you have the right to dispute the "
        f"bill: you may be able to start a dispute resolution process with the U.S. "
        f"Department of Health and Human Services if the billed charges are at least "
        f"${DISPUTE_THRESHOLD_USD} more than this estimate for any provider (45 CFR "
        f"149.620). Keep a copy of this estimate. For questions or more information, visit "
        f"www.cms.gov/nosurprises or call 1-800-985-3059.",
        "This Good Faith Estimate is not a contract and does not require you to obtain the "
        "items or services from any of the providers listed.",
    ]
    for text in disclaimers:
        pdf.para("•  " + text, 8.5)
        pdf.ln(1)
    return bytes(pdf.output())
