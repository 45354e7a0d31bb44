"""Outcome reports: a one-page client progress PDF, a practice outcomes PDF (fpdf2, with the
same matplotlib charts as the web pages) and the de-identified analysis dataset as CSV.

Views call these and write the audit entry (an export) themselves.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.utils import timezone

from reverie.lib import dates
from reverie.lib.pdf import Pdf
from reverie.outcomes import change, charts
from reverie.outcomes.dashboard import Dashboard, Effect, Rate
from reverie.outcomes.models import SCORE_COLUMNS, EpisodeOutcome
from reverie.outcomes.trajectory import Trajectory

DISCLAIMER = (
    "Decision support for a licensed clinician. These figures describe change on "
    "questionnaires; they are not a diagnosis."
)


def _Pdf(title: str) -> Pdf:
    return Pdf(title, margin=14, top=12, bottom=14)


def client_pdf(traj: Trajectory, *, practice_name: str, prepared_by: str) -> bytes:
    """One A4 page: each instrument's chart and its facts in sentences."""
    pdf = _Pdf(f"Progress report – {traj.client.display_name}")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.heading(f"Progress report: {traj.client.display_name}")
    pdf.para(
        f"{practice_name} · prepared by {prepared_by} on "
        f"{dates.format_date(timezone.localdate())} · {traj.sessions_attended} sessions attended"
    )
    pdf.ln(2)
    shown = traj.instruments[:2]
    if not shown:
        pdf.para("No questionnaire scores have been recorded yet.", 11)
    chart_h = 62.0 if len(shown) > 1 else 95.0
    for t in shown:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 6, t.name, new_x="LMARGIN", new_y="NEXT")
        fig = charts.trajectory_figure(t, width=8.0, height=4.2)
        png = charts.to_png(fig, dpi=150)
        pdf.image(png, x=14, w=182 * chart_h / 95.5 if len(shown) > 1 else 182, h=chart_h)
        lines = [line for line in t.summary[1:] if not line.endswith("sessions attended.")][:5]
        pdf.para(" ".join(lines), 8.5)
        pdf.ln(2)
    pdf.set_y(-22)
    pdf.para(DISCLAIMER + " Shared with a referrer only with the client's consent.", 7.5)
    return bytes(pdf.output())


def _effect_text(e: Effect) -> str:
    if e.suppressed or e.d is None:
        return f"not shown (n = {e.n}, fewer than 10)" if e.n < 10 else "not available"
    return f"{e.label} {e.d:.2f} (95% CI {e.ci_low:.2f} to {e.ci_high:.2f}), n = {e.n}"


def _rate_text(r: Rate) -> str:
    if r.suppressed or r.rate is None:
        return f"not shown (n = {r.n})"
    return f"{r.percent} ({r.interval}), {r.events} of {r.n}"


def practice_pdf(board: Dashboard, *, practice_name: str) -> bytes:
    """The practice outcomes report: headline figures, splits, follow-up chart, benchmarks."""
    pdf = _Pdf(f"Outcomes – {practice_name}")
    pdf.add_page()
    pdf.heading(f"Outcomes report: {practice_name}")
    pdf.para(
        f"{board.scope} · produced {dates.format_date(timezone.localdate())} · "
        f"{board.n_episodes:,} "
        f"episodes, {board.n_ended:,} ended, {board.n_paired:,} with PHQ-9 scores at the start "
        "and end of a finished course."
    )
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, "Headline figures", new_x="LMARGIN", new_y="NEXT")
    rows = [
        ("Pre–post effect size (PHQ-9, intake SD)", _effect_text(board.effect)),
        ("Recovery (NHS Talking Therapies)", _rate_text(board.recovery)),
        ("Reliable improvement", _rate_text(board.improvement)),
        (
            "Reliable deterioration (worse on one measure, better on neither)",
            _rate_text(board.deterioration),
        ),
        ("Mixed (reliably better on one measure, worse on the other)", _rate_text(board.mixed)),
        ("Dropout", _rate_text(board.dropout)),
        ("Response (PHQ-9 halved)", _rate_text(board.response)),
        ("Remission (PHQ-9 below 5)", _rate_text(board.remission)),
    ]
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(col_widths=(70, 112), text_align="LEFT", line_height=5) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(3)
    for split in board.splits:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 6, split.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        with pdf.table(
            col_widths=(48, 18, 46, 24, 24, 22), text_align="LEFT", line_height=4.5
        ) as table:
            head = table.row()
            for h in ("Group", "Ended", "Effect or change", "Recovery", "Improved", "Worse"):
                head.cell(h)
            for r in split.rows:
                row = table.row()
                row.cell(r.label)
                row.cell(str(r.n_ended))
                if r.effect is not None:
                    row.cell(
                        "suppressed"
                        if r.effect.suppressed
                        else f"{r.effect.d:.2f} [{r.effect.ci_low:.2f}, {r.effect.ci_high:.2f}]"
                    )
                else:
                    row.cell(
                        "suppressed" if r.change.suppressed else f"{r.change.mean:+.1f} points"
                    )
                for rate in (r.recovery, r.improvement, r.deterioration):
                    row.cell("suppressed" if rate.suppressed else rate.percent)
        pdf.ln(2)
    pdf.add_page()
    pdf.heading("Does it keep working after therapy ends?", 13)
    png = charts.to_png(charts.followup_figure(board.followup), dpi=150)
    pdf.image(png, x=14, w=182)
    pdf.para(
        "Mean change in PHQ-9 from the last session to each follow-up, with 95% confidence "
        "intervals. Points above the zero line mean fewer symptoms than at the last session. "
        "Only clients who answered a follow-up are counted, and points with fewer than 10 "
        "clients are left out."
    )
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, "Published benchmarks of the same design", new_x="LMARGIN", new_y="NEXT")
    for bench in board.benchmark_rows:
        b = bench.benchmark
        practice = (
            f"Practice, {bench.n} matching episodes: too few to compare."
            if bench.status == "too_few"
            else f"Practice, {bench.n} matching episodes: {bench.practice_figure}. {bench.verdict}"
        )
        pdf.para(
            f"{b.outcome}, {b.timepoint}: {b.statistic} {b.figure}. {b.design} {b.citation} "
            f"Matched: {bench.matched}. {practice}",
            8,
        )
        pdf.ln(1)
    if board.context:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(
            0,
            6,
            "Context only: controlled comparisons (not comparable)",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        for b in board.context:
            pdf.para(f"{b.statistic} {b.figure}. {b.design} {b.citation}", 8)
            pdf.ln(1)
    pdf.ln(2)
    pdf.para(
        "Methods: effect sizes are Cohen's d standardised by the intake SD (Hedges' g below 20 "
        "pairs) with Becker's (1988) confidence interval; rates use Wilson intervals; recovery, "
        "reliable improvement and deterioration follow the NHS Talking Therapies paired "
        "PHQ-9/GAD-7 rules (NHS Digital, A guide to IAPT data and publications); clients "
        "reliably better on one measure and worse on the other are shown as mixed, not as "
        "deterioration. Cells with fewer than 10 episodes are suppressed. " + DISCLAIMER,
        8,
    )
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# de-identified analysis dataset
# --------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "client",
    "episode",
    "therapist",
    "modality",
    "status",
    "end_reason",
    "start_year",
    "days_treated",
    "sessions_attended",
    *SCORE_COLUMNS,
    "phq9_reliable_change",
    "nhs_tt_recovery",
    "nhs_tt_reliable_improvement",
    "nhs_tt_reliable_deterioration",
    "nhs_tt_mixed",
)
_SOURCE_FIELDS = (
    "client_id",
    "episode_id",
    "therapist_id",
    "modality",
    "status",
    "end_reason",
    "start_date",
    "days_treated",
    "sessions_attended",
    *SCORE_COLUMNS,
)


def pseudonym(salt: str, kind: str, pk: int) -> str:
    """A stable pseudonymous id: HMAC-SHA-256 of the kind and primary key under the practice's
    secret salt, shortened to 16 hex digits. The same record gets the same id in every export
    of the practice; without the salt the id cannot be turned back into a record.

    >>> pseudonym("s", "client", 1) == pseudonym("s", "client", 1) != pseudonym("s", "client", 2)
    True
    """
    digest = hmac.new(salt.encode(), f"{kind}:{pk}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}{digest[:16]}"


class _Echo:
    def write(self, value: str) -> str:
        return value


def analysis_rows(practice_id: int, salt: str) -> Iterator[str]:
    """CSV lines of the de-identified dataset: no names, no dates of birth, no exact dates."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    rows = (
        EpisodeOutcome.objects.filter(practice_id=practice_id)
        .order_by("episode_id")
        .values_list(*_SOURCE_FIELDS)
        .iterator(chunk_size=5000)
    )
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            yield from _emit(writer, batch, salt)
            batch = []
    if batch:
        yield from _emit(writer, batch, salt)


def _emit(writer: Any, batch: list[tuple[object, ...]], salt: str) -> Iterator[str]:
    def col(i: int) -> np.ndarray:
        return np.array([np.nan if r[i] is None else r[i] for r in batch], dtype=np.float64)

    ended = np.array([r[4] == "ended" for r in batch])
    sessions = col(8)
    paired = ended & (sessions >= 2) & (col(9) >= 2) & (col(16) >= 2)
    p1, p2, g1, g2 = col(10), col(11), col(17), col(18)
    nan = np.nan
    out = change.nhs_tt_paired_outcomes(
        np.where(paired, p1, nan),
        np.where(paired, p2, nan),
        np.where(paired, g1, nan),
        np.where(paired, g2, nan),
    )
    phq_ok = ended & (col(9) >= 2)
    direction = change.reliable_change_direction(
        np.where(phq_ok, p1, 0), np.where(phq_ok, p2, 0), change.PHQ9_RELIABLE_CHANGE
    )

    def flag(value: bool, known: bool) -> str:
        return "" if not known else ("1" if value else "0")

    for i, r in enumerate(batch):
        start = r[6]
        yield writer.writerow(
            [
                pseudonym(salt, "client", int(str(r[0]))),
                pseudonym(salt, "episode", int(str(r[1]))),
                pseudonym(salt, "therapist", int(str(r[2]))),
                r[3],
                r[4],
                r[5],
                getattr(start, "year", ""),
                *("" if v is None else v for v in r[7:]),
                "" if not phq_ok[i] else int(direction[i]),
                flag(bool(out.recovery[i]), bool(out.caseness_start[i])),
                flag(bool(out.reliable_improvement[i]), bool(paired[i])),
                flag(bool(out.reliable_deterioration[i]), bool(paired[i])),
                flag(bool(out.mixed[i]), bool(paired[i])),
            ]
        )
