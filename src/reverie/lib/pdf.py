"""The one PDF setup Reverie's documents share (fpdf2): A4, the DejaVu fonts that ship with
matplotlib (so any character a name may hold prints, with no font files of our own),
Reverie as creator, and a few text helpers.

Signed forms (``paperwork.pdf``), outcome reports (``outcomes.reports``) and billing's
statements, superbills and Good Faith Estimates (``billing.documents``) all draw on
:class:`Pdf`; each sets its own margins.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fpdf import FPDF

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"


class Pdf(FPDF):
    def __init__(self, title: str, *, margin: float = 18, top: float = 16, bottom: float = 16):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("Reverie")
        self.set_margins(margin, top, margin)
        self.set_auto_page_break(auto=True, margin=bottom)

    def text_block(self, text: str, size: float = 10, bold: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str, size: float = 16) -> None:
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str, size: float = 9.5) -> None:
        self.set_font(FONT, "", size)
        self.multi_cell(0, size * 0.48, text, new_x="LMARGIN", new_y="NEXT")

    def grid(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        size: float = 8.5,
        right: Sequence[int] = (),
    ) -> None:
        """A simple ruled table; columns whose index is in ``right`` are right-aligned
        (amounts). The header repeats after a page break."""
        line = size * 0.55

        def head() -> None:
            self.set_font(FONT, "B", size)
            for i, (text, width) in enumerate(zip(header, widths, strict=True)):
                self.cell(width, line + 1, text, border="B", align="R" if i in right else "L")
            self.ln(line + 1)

        head()
        self.set_font(FONT, "", size)
        for row in rows:
            if self.will_page_break(line):
                self.add_page()
                head()
                self.set_font(FONT, "", size)
            for i, (text, width) in enumerate(zip(row, widths, strict=True)):
                self.cell(width, line, text, align="R" if i in right else "L")
            self.ln(line)
