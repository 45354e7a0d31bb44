"""The signed copy of a form as a PDF (fpdf2): the exact words of the version signed,
what the client wrote, and the evidence of the signature (who, when, from where, the
document's SHA-256 and the consent to electronic records).

It is drawn from the stored version and signature each time it is asked for, so the copy
can never drift from the record it shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reverie.lib.pdf import Pdf


@dataclass(frozen=True)
class SignedCopy:
    practice: str
    title: str
    version: int
    body: str
    sha256: str
    client_name: str
    typed_name: str
    account: str
    signed_at: str  # already formatted, with its time zone
    signed_from: str
    esign_consent_at: str
    answers: list[tuple[str, str]]
    expires_on: str = ""


def _plain(line: str) -> str:
    """Markdown emphasis and links read as their words."""
    line = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), line)
    line = re.sub(r"(?<!\w)[*_](.+?)[*_](?!\w)", r"\1", line)
    return re.sub(r"\[(.+?)\]\([^)]*\)", r"\1", line)


def render(copy: SignedCopy) -> bytes:
    pdf = Pdf(f"{copy.title} – signed by {copy.client_name}", margin=18, top=16, bottom=16)
    pdf.add_page()
    pdf.text_block(copy.practice, 9)
    pdf.text_block(copy.title, 16, bold=True)
    pdf.text_block(f"Version {copy.version}", 9)
    pdf.ln(3)
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            pdf.text_block(_plain(" ".join(paragraph)))
            pdf.ln(1.5)
            paragraph.clear()

    for raw in copy.body.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            pdf.text_block(line.lstrip("#").strip(), 11.5, bold=True)
            pdf.ln(1)
        elif line[:2] in ("- ", "* "):
            flush()
            paragraph.append("•  " + line[2:])
        else:
            paragraph.append(line)
    flush()
    if copy.answers:
        pdf.ln(2)
        for question, answer in copy.answers:
            pdf.text_block(question, 10, bold=True)
            pdf.text_block(answer or "—")
            pdf.ln(1)
    pdf.ln(4)
    pdf.text_block("Electronic signature", 12, bold=True)
    lines = [
        f"Signed by: {copy.typed_name} (typed name)",
        f"Client: {copy.client_name}, portal account {copy.account}",
        f"Signed at: {copy.signed_at}",
        f"From address: {copy.signed_from or 'not recorded'}",
        f"Consent to electronic records and signatures given: {copy.esign_consent_at}",
        f"Document: {copy.title}, version {copy.version}",
        f"SHA-256 of the document signed: {copy.sha256}",
    ]
    if copy.expires_on:
        lines.append(f"This authorisation ends on: {copy.expires_on}")
    for line in lines:
        pdf.text_block(line, 9)
    pdf.ln(2)
    pdf.text_block(
        "The SHA-256 fingerprint is computed over the title, a blank line and the text of the "
        "version above; Reverie keeps that version unchanged for as long as the record is kept.",
        7.5,
    )
    return bytes(pdf.output())
