"""What kind of file an upload is, judged from its first bytes and never from its name or
the browser's claim: a file named ``letter.pdf`` that is an HTML page stays an HTML page.

The signatures are the formats' own: a PDF file begins with ``%PDF-`` (ISO 32000-1:2008,
§7.5.2, "File header"); a PNG file with the eight bytes 137 80 78 71 13 10 26 10 (ISO/IEC
15948:2004, §5.2, "PNG signature"); a JPEG file with the SOI marker FF D8 followed by
another marker's FF (ITU-T T.81, Annex B.1.1.3; JFIF and Exif files both start so).

>>> detect(b"%PDF-1.7\\n...")
'application/pdf'
>>> detect(b"\\x89PNG\\r\\n\\x1a\\n....")
'image/png'
>>> detect(b"\\xff\\xd8\\xff\\xe0..JFIF")
'image/jpeg'
>>> detect(b"<html><script>") is None
True
"""

from __future__ import annotations

from typing import Final

#: Accepted types: (content type, first bytes, file-name extension for downloads).
SIGNATURES: Final[tuple[tuple[str, bytes, str], ...]] = (
    ("application/pdf", b"%PDF-", "pdf"),
    ("image/png", b"\x89PNG\r\n\x1a\n", "png"),
    ("image/jpeg", b"\xff\xd8\xff", "jpg"),
)

#: The largest file accepted: a scanned letter of a few pages fits well within it.
MAX_BYTES: Final = 10 * 1024 * 1024


def detect(head: bytes) -> str | None:
    """The content type of a file that begins with ``head``, or None if not accepted."""
    for content_type, magic, _ in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def extension(content_type: str) -> str:
    """The extension a download of this type gets.

    >>> extension("image/png")
    'png'
    """
    return next(ext for ct, _, ext in SIGNATURES if ct == content_type)
