"""Outcome charts drawn once with matplotlib and written as SVG (web) or PNG (PDF reports).

The web page and the PDF use the same drawing functions, so they show the same chart.

The web SVG is made safe for Reverie's Content-Security-Policy, which forbids inline styles:
:func:`to_web_svg` turns matplotlib's ``style="…"`` declarations into SVG presentation
attributes (``fill="…"``, ``stroke-width="…"``), drops the ``<style>`` block, the metadata and
every namespace URL, and wraps each data point in a focusable group with a ``<title>`` (the
hover text) and a ``data-i`` index that ``outcomes.js`` uses to show item-level detail on tap.
"""

from __future__ import annotations

import datetime
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reverie.outcomes.dashboard import FollowupGroup
from reverie.outcomes.trajectory import InstrumentTrajectory, numeric_dates

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 10,
        "svg.hashsalt": "reverie",
    }
)

INK = "#1b1f3b"
MUTED = "#555b7a"
ACCENT = "#2f4b9a"
WORSE = "#a4231a"
#: Severity band fills, lightest for the healthiest band (colour-blind safe: lightness only
#: changes, and every band is also labelled in text).
BAND_FILLS = ("#f3f6f1", "#eef0e6", "#f6efdc", "#f7e6d6", "#f5dcd8", "#f1d2cf")
SVG_NS = "http://www.w3.org/2000/svg"
XLINK = "{http://www.w3.org/1999/xlink}href"
FONT_FAMILY = "DejaVu Sans, Verdana, sans-serif"


# --------------------------------------------------------------------------------------------
# trajectory chart
# --------------------------------------------------------------------------------------------


def trajectory_figure(
    t: InstrumentTrajectory, *, width: float = 8.0, height: float = 4.2
) -> Figure:
    """The trajectory of one instrument: severity bands, caseness line, reliable-change band
    around intake, expected-recovery band, session ticks, ending and follow-up points."""
    d = t.definition
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.07, right=0.8, top=0.94, bottom=0.27)
    lo, hi = float(d.score_min), float(d.score_max)
    ax.set_ylim(lo - 0.5, hi + 0.5)

    # Severity bands with their names at the right edge.
    for i, band in enumerate(d.bands):
        ax.axhspan(float(band.min) - 0.5, float(band.max) + 0.5, color=BAND_FILLS[i % 6], lw=0)
        ax.text(
            1.01,
            (float(band.min) + float(band.max)) / 2,
            band.label,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
            color=MUTED,
        )
    if t.caseness is not None:
        ax.axhline(t.caseness - 0.5, color=INK, lw=1, ls=(0, (5, 3)))
        ax.text(
            0.005,
            t.caseness - 0.4,
            f"caseness {t.caseness:g}",
            transform=ax.get_yaxis_transform(),
            fontsize=8,
            color=INK,
            va="bottom",
        )

    all_dates = [p.at for p in t.points]
    for span in t.episodes:
        start = datetime.datetime.combine(span.start, datetime.time(), tzinfo=datetime.UTC)
        end_day = span.end or max(
            (p.at.date() for p in t.points if p.episode_id == span.id), default=span.start
        )
        end = datetime.datetime.combine(end_day, datetime.time(23, 59), tzinfo=datetime.UTC)
        if span.rc_low is not None and span.rc_high is not None:
            x = numeric_dates([start, end])
            for edge in (span.rc_low, span.rc_high):
                ax.plot(
                    x,
                    [edge, edge],
                    color="#3d5a99",
                    lw=1,
                    ls=(0, (1, 2)),
                    label="Reliable change limits around intake",
                )
        treated = [p for p in t.points if p.episode_id == span.id and p.session]
        band_pts = [p for p in treated if p.expected_low is not None]
        if len(band_pts) >= 2:
            x = numeric_dates([p.at for p in band_pts])
            ax.fill_between(
                x,
                [float(p.expected_low or 0.0) for p in band_pts],
                [float(p.expected_high or 0.0) for p in band_pts],
                color="#6f8f5f",
                alpha=0.22,
                lw=0,
                step="mid",
                label="Expected range (10th–90th percentile)",
            )
        if span.sessions:
            xs = numeric_dates(list(span.sessions))
            ax.vlines(xs, lo - 0.5, lo + 0.3, color=MUTED, lw=0.6, label="Session attended")
        if span.end is not None:
            ax.axvline(numeric_dates([end])[0], color=INK, lw=1.2, label="Ending")
            ax.text(numeric_dates([end])[0], hi + 0.3, " ended", fontsize=8, color=INK, va="top")
        if treated:
            ax.plot(
                numeric_dates([p.at for p in treated]),
                [p.total for p in treated],
                "-",
                color=ACCENT,
                lw=1.6,
            )
        follow = [p for p in t.points if p.episode_id == span.id and p.followup_months]
        if follow and treated:
            seq = [treated[-1], *follow]
            ax.plot(
                numeric_dates([p.at for p in seq]),
                [p.total for p in seq],
                ":",
                color=ACCENT,
                lw=1.4,
            )
            ax.plot(
                numeric_dates([p.at for p in follow]),
                [p.total for p in follow],
                "D",
                ms=9,
                mfc="white",
                mec=ACCENT,
                mew=1.6,
                label="Follow-up after ending",
            )

    if t.points:
        flagged = [p for p in t.points if p.not_on_track]
        if flagged:
            ax.plot(
                numeric_dates([p.at for p in flagged]),
                [p.total for p in flagged],
                "o",
                ms=11,
                mfc="none",
                mec=WORSE,
                mew=2,
                label="Above expected range",
            )
        (marks,) = ax.plot(
            numeric_dates(all_dates),
            [p.total for p in t.points],
            "o",
            ms=6,
            color=ACCENT,
            mec="white",
            mew=0.8,
            label=t.short_name,
        )
        marks.set_gid(f"pts-{t.dom_id}")
        first = min(all_dates)
        last = max(all_dates)
        pad = datetime.timedelta(days=max(7, (last - first).days // 30))
        ax.set_xlim(numeric_dates([first - pad])[0], numeric_dates([last + pad])[0])
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_ylabel(f"{t.short_name} total")
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    ax.legend(
        unique.values(),
        unique.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    return fig


# --------------------------------------------------------------------------------------------
# follow-up chart of the dashboard
# --------------------------------------------------------------------------------------------


def followup_figure(
    groups: Sequence[FollowupGroup], *, width: float = 8.0, height: float = 3.4
) -> Figure:
    """PHQ-9 points better (or worse) than at the last session, 1, 3, 6 and 12 months after
    ending, as means with 95 % CIs; points with fewer than 10 clients are left out."""
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.27)
    ax.axhline(0, color=INK, lw=1)
    styles = (("o", ACCENT, "-"), ("s", "#7a4f9a", "--"), ("^", "#6f5f2a", ":"))
    shown = 0
    for i, g in enumerate(groups):
        marker, color, ls = styles[i % 3]
        xs, ys, below, above = [0.0], [0.0], [0.0], [0.0]
        for c in g.cells:
            if c.suppressed or c.mean_change is None or c.ci_low is None or c.ci_high is None:
                continue
            # Plot improvement (last score minus follow-up): up means fewer symptoms.
            gain = -c.mean_change
            xs.append(float(c.months) + (i - 1) * 0.12)
            ys.append(gain)
            below.append(gain - (-c.ci_high))
            above.append((-c.ci_low) - gain)
        if len(xs) < 2:
            continue
        ax.errorbar(
            xs,
            ys,
            yerr=[below, above],
            marker=marker,
            color=color,
            ls=ls,
            lw=1.5,
            capsize=3,
            label=g.label,
        )
        shown += 1
    ax.set_xlim(-0.6, 12.8)
    ax.set_xticks([0, 1, 3, 6, 12], ["end", "1 mo", "3 mo", "6 mo", "12 mo"])
    ax.set_xlabel("time since the last session")
    ax.set_ylabel("PHQ-9 points better\nthan at the last session")
    ax.text(12.7, 0.15, "no change", fontsize=8, color=MUTED, ha="right", va="bottom")
    ax.spines[["top", "right"]].set_visible(False)
    if shown:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, fontsize=8, frameon=False
        )
    else:
        ax.text(
            6,
            0.5,
            "Not enough follow-up scores yet (each point needs 10 clients).",
            ha="center",
            va="center",
            fontsize=10,
            color=MUTED,
        )
    return fig


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def to_png(fig: Figure, dpi: int = 200) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


_FONT_RE = re.compile(
    r"^(?:(?P<style>italic|oblique|normal)\s+)?(?:(?P<weight>\d{3}|bold|normal)\s+)?(?P<size>[\d.]+px)\s+(?P<family>.+)$"
)


def _style_to_attributes(el: ET.Element) -> None:
    style = el.attrib.pop("style", None)
    if not style:
        return
    for decl in style.split(";"):
        if ":" not in decl:
            continue
        key, value = (part.strip() for part in decl.split(":", 1))
        if key == "font":
            m = _FONT_RE.match(value)
            if m:
                el.set("font-size", m.group("size"))
                el.set("font-family", FONT_FAMILY)
                if m.group("weight"):
                    el.set("font-weight", m.group("weight"))
            continue
        if key == "font-family":
            value = FONT_FAMILY
        el.set(key, value)


def _strip_namespaces(el: ET.Element) -> None:
    for node in el.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]
        if XLINK in node.attrib:
            node.set("href", node.attrib.pop(XLINK))


def to_web_svg(
    fig: Figure,
    *,
    title: str,
    points_gid: str | None = None,
    point_titles: Sequence[str] = (),
) -> str:
    """An inline-ready SVG string without inline styles, scripts or URLs.

    Parameters
    ----------
    fig : Figure
        The drawing.
    title : str
        Accessible name of the chart (first ``<title>`` child).
    points_gid : str, optional
        The ``gid`` of the marker line whose markers become focusable data points.
    point_titles : sequence of str
        Hover text of each point, in data order.
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    root = ET.fromstring(buf.getvalue())  # noqa: S314 (matplotlib's own output, not input)
    _strip_namespaces(root)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in ("metadata", "style"):
                parent.remove(child)
    for el in root.iter():
        _style_to_attributes(el)
    root.attrib.pop("width", None)
    root.attrib.pop("height", None)
    root.attrib.pop("version", None)
    root.set("role", "img")
    root.set("class", "chart-svg")
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    root.set("focusable", "false")
    title_el = ET.Element("title")
    title_el.text = title
    root.insert(0, title_el)
    if points_gid:
        group = next((g for g in root.iter("g") if g.get("id") == points_gid), None)
        if group is not None:
            uses = [(parent, u) for parent in group.iter() for u in list(parent) if u.tag == "use"]
            for i, (parent, use) in enumerate(uses):
                wrapper = ET.Element(
                    "g",
                    {"class": "pt", "tabindex": "0", "data-i": str(i), "role": "button"},
                )
                tip = ET.SubElement(wrapper, "title")
                tip.text = point_titles[i] if i < len(point_titles) else ""
                # A larger, invisible target behind the marker: easier to hit and to show focus.
                ET.SubElement(
                    wrapper,
                    "circle",
                    {
                        "class": "hit",
                        "cx": use.get("x", "0"),
                        "cy": use.get("y", "0"),
                        "r": "9",
                        "fill": "transparent",
                    },
                )
                index = list(parent).index(use)
                parent.remove(use)
                wrapper.append(use)
                parent.insert(index, wrapper)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)
