"""The client's own progress chart: the facts of the clinician's trajectory chart, for a lay
reader on a phone.

The clinician's chart (``charts.trajectory_figure``) carries severity bands, the caseness
line, reliable-change limits around intake, the expected range from similar clients,
sessions and follow-ups, in the vocabulary of outcome monitoring. A client reading their own
scores gets the same facts here in plain words and a chart drawn for a 390 px screen: a
few large labels, the direction ("lower is better") stated, no abbreviations that need a
glossary. The numbers come from the same :class:`~reverie.outcomes.trajectory.Trajectory`,
so the two cannot disagree.

Wording rules (tests/outcomes/test_my_progress.py holds them): no "caseness",
"reliable change", "percentile", "trajectory", "clinical", "episode", "intake" or
"administration" on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from reverie.lib import dates
from reverie.outcomes.trajectory import InstrumentTrajectory, Point, Trajectory

#: What each shipped questionnaire asks about, in everyday words (from each instrument's
#: published instructions: PHQ-9 asks how often problems of low mood bothered the person
#: over the last two weeks; GAD-7 the same for worry and anxiety).
PLAIN_TITLES = {
    "phq-9": (
        "Low mood",
        "It asks how often low mood and related problems bothered you in the two weeks "
        "before you filled it in.",
    ),
    "gad-7": (
        "Worry and anxiety",
        "It asks how often worry and anxiety bothered you in the two weeks before you filled "
        "it in.",
    ),
}

#: Words that belong to the clinician's chart and not to this one.
JARGON = (
    "caseness",
    "reliable change",
    "reliably",
    "percentile",
    "trajectory",
    "clinical",
    "episode",
    "intake",
    "administration",
)

# The drawing, in viewBox units: 360 wide so that on a 390 px phone (16 px margins) one unit
# is about one CSS pixel and a 16-unit label reads as 16 px text.
WIDTH, HEIGHT = 360, 230
LEFT, RIGHT, TOP, BOTTOM = 40, 14, 14, 36
FONT = 16
# Band tints from the better end to the worse end: pale and calm, never alarm-red.
TINTS = ("#e8f3ec", "#eef3e4", "#f6f1df", "#f8eadb", "#f6e1dc", "#f2dcdc")


@dataclass(frozen=True)
class LayPoint:
    date: str
    score: int
    band: str
    when: str


@dataclass(frozen=True)
class LayChart:
    dom_id: str
    title: str
    asks: str
    questionnaire: str
    direction: str
    svg: SafeString
    summary: str
    sentences: list[str]
    points: list[LayPoint]


def _when(p: Point) -> str:
    if p.followup_months:
        months = p.followup_months
        return f"{months} month{'s' if months != 1 else ''} after your sessions ended"
    if p.session:
        return "before your sessions began" if p.session == 1 else "during your sessions"
    return "before your sessions began" if p.timepoint in ("intake", "screening") else ""


def _band_phrase(label: str) -> str:
    return f"the “{label.lower()}” range" if label else ""


def _sentences(t: InstrumentTrajectory) -> tuple[str, list[str]]:
    """The summary line and the plain sentences, for the latest course of sessions that has
    scores (earlier courses are in the chart and the list)."""
    better = "lower" if t.higher_is_worse else "higher"
    first_all, last_all = t.points[0], t.points[-1]
    if len(t.points) == 1:
        text = (
            f"You have filled this in once, on {dates.format_date(first_all.at)}: "
            f"your score was {first_all.total}"
            + (f", in {_band_phrase(first_all.band)}" if first_all.band else "")
            + "."
        )
        return text, [text]
    span = next((s for s in reversed(t.episodes) if s.intake is not None), None)
    treated = [p for p in t.points if span is not None and p.episode_id == span.id and p.session]
    start = treated[0] if treated else first_all
    # The newest score of the course, a follow-up after ending included: the last dot drawn.
    course = [p for p in t.points if span is not None and p.episode_id == span.id]
    latest = course[-1] if len(course) > 1 else last_all
    diff = latest.total - start.total
    moved = "lower" if diff < 0 else "higher"
    if diff == 0:
        change = "That is the same as when you started."
        summary = f"Your latest score, {latest.total}, is the same as when you started."
    else:
        improved = (diff < 0) == t.higher_is_worse
        change = (
            f"That is {abs(diff)} point{'s' if abs(diff) != 1 else ''} {moved} than when you "
            f"started ({start.total} on {dates.format_date(start.at)}). "
            + (
                f"{better.capitalize()} is better, so this is a step in a good direction."
                if improved
                else f"{better.capitalize()} is better, so things have been harder lately."
            )
        )
        summary = (
            f"Your latest score, {latest.total}, is {abs(diff)} point"
            f"{'s' if abs(diff) != 1 else ''} {moved} than when you started."
        )
    lines = [
        f"Your latest score is {latest.total}, on {dates.format_date(latest.at)}"
        + (f" ({_when(latest)})" if latest.followup_months else "")
        + (f", in {_band_phrase(latest.band)}" if latest.band else "")
        + ".",
        change,
    ]
    if t.reliable_change and diff != 0:
        size = "bigger than" if abs(diff) >= t.reliable_change else "within"
        lines.append(
            f"A change of {t.reliable_change:g} points or more is bigger than the usual ups "
            f"and downs of answering the same questions twice; this change is {size} those "
            "ups and downs."
        )
    if t.caseness is not None:
        side = "at or above" if latest.total >= t.caseness else "below"
        lines.append(
            f"The dashed line at {t.caseness:g} marks where the questionnaire counts these "
            f"problems as significant. Your latest score is {side} it."
        )
    # The expected range only once the practice's own ended episodes have moved it away from
    # the published reference (the reference alone says little about this practice).
    if (
        latest.expected_low is not None
        and latest.expected_high is not None
        and latest.session
        and latest.session > 1
        and span is not None
        and span.expected_source == "practice"
    ):
        where = (
            "higher than that"
            if latest.not_on_track and t.higher_is_worse
            else "lower than that"
            if latest.not_on_track
            else "within that range"
        )
        lines.append(
            f"People who started with scores like yours usually score between "
            f"{latest.expected_low:.0f} and {latest.expected_high:.0f} at this point; yours is "
            f"{where}."
            + (
                " Your therapist sees this too and may talk it over with you."
                if latest.not_on_track
                else ""
            )
        )
    if span is not None:
        n = len(span.sessions)
        lines.append(f"You have come to {n} session{'s' if n != 1 else ''} in this course.")
    for p in course:
        if p.followup_months and p is not latest:
            lines.append(f"{_when(p).capitalize()} your score was {p.total}.")
    return summary, lines


def _n(value: float) -> str:
    """A coordinate for the drawing (format_html escapes its arguments before formatting,
    so numbers are written out here)."""
    return f"{value:.1f}"


def _svg(t: InstrumentTrajectory, title_id: str, desc: str) -> SafeString:
    d = t.definition
    lo, hi = float(d.score_min), float(d.score_max)
    span_y = (hi - lo) or 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - lo) / span_y)

    times = [p.at.timestamp() for p in t.points]
    t0, t1 = min(times), max(times)

    def x(ts: float) -> float:
        if t1 == t0:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (ts - t0) / (t1 - t0)

    parts: list[SafeString] = []
    bands = sorted(d.bands, key=lambda b: b.min, reverse=not t.higher_is_worse)
    for i, b in enumerate(bands):
        top_v = min(float(b.max) + 0.5, hi) if b.max < hi else hi
        bottom_v = max(float(b.min) - 0.5, lo) if b.min > lo else lo
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                LEFT,
                _n(y(top_v)),
                plot_w,
                _n(y(bottom_v) - y(top_v)),
                TINTS[min(i, len(TINTS) - 1)],
            )
        )
    ticks = {lo, hi}
    if t.caseness is not None:
        ticks.add(float(t.caseness))
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#555b7a" '
                'stroke-width="2" stroke-dasharray="6 5"/>',
                LEFT,
                LEFT + plot_w,
                _n(y(t.caseness)),
                _n(y(t.caseness)),
            )
        )
    for v in sorted(ticks):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="{}" fill="#1b1f3b">{}</text>',
                LEFT - 6,
                _n(y(v) + FONT * 0.35),
                FONT,
                f"{v:g}",
            )
        )
    coords = [(x(ts), y(p.total)) for ts, p in zip(times, t.points, strict=True)]
    if len(coords) > 1:
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="#2f4b9a" stroke-width="3" '
                'stroke-linejoin="round"/>',
                " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords),
            )
        )
    radius = 5 if len(coords) <= 40 else 2.5
    for cx, cy in coords[:-1]:
        parts.append(
            format_html('<circle cx="{}" cy="{}" r="{}" fill="#2f4b9a"/>', _n(cx), _n(cy), radius)
        )
    lx, ly = coords[-1]
    last = t.points[-1]
    parts.append(
        format_html(
            '<circle cx="{}" cy="{}" r="8" fill="#fff" stroke="#2f4b9a" stroke-width="4"/>',
            _n(lx),
            _n(ly),
        )
    )
    label_y = ly - 14 if ly - 14 > TOP + FONT else ly + 26
    parts.append(
        format_html(
            '<text x="{}" y="{}" text-anchor="{}" font-size="{}" font-weight="700" '
            'fill="#1b1f3b">{}</text>',
            _n(min(lx, WIDTH - RIGHT)),
            _n(label_y),
            "end" if lx > LEFT + plot_w / 2 else "start",
            FONT + 2,
            str(last.total),
        )
    )
    first_label = dates.format_date(t.points[0].at, "mon")
    last_label = dates.format_date(last.at, "mon")
    parts.append(
        format_html(
            '<text x="{}" y="{}" text-anchor="start" font-size="{}" fill="#1b1f3b">{}</text>',
            LEFT,
            HEIGHT - 10,
            FONT,
            first_label,
        )
    )
    if last_label != first_label:
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="{}" fill="#1b1f3b">{}</text>',
                LEFT + plot_w,
                HEIGHT - 10,
                FONT,
                last_label,
            )
        )
    body = format_html_join("", "{}", ((p,) for p in parts))
    return format_html(
        '<svg class="lay-chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}">{}</title>{}</svg>',
        WIDTH,
        HEIGHT,
        title_id,
        title_id,
        desc,
        body,
    )


def chart(t: InstrumentTrajectory) -> LayChart:
    title, asks = PLAIN_TITLES.get(t.code, (t.name, ""))
    direction = "Lower is better" if t.higher_is_worse else "Higher is better"
    summary, lines = _sentences(t)
    dom_id = f"lay-{t.dom_id}"
    desc = f"{title}: your scores over time. {direction}. {summary}"
    return LayChart(
        dom_id=dom_id,
        title=title,
        asks=asks,
        questionnaire=t.short_name,
        direction=direction,
        svg=_svg(t, f"{dom_id}-title", desc),
        summary=summary,
        sentences=lines,
        points=[
            LayPoint(dates.format_date(p.at), p.total, p.band, _when(p)) for p in reversed(t.points)
        ],
    )


def charts_for(traj: Trajectory) -> list[LayChart]:
    return [chart(t) for t in traj.instruments if t.points]
