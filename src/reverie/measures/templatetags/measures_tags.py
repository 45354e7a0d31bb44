"""Template helpers for measurement pages."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Three or more digits, optionally grouped by spaces or hyphens: 988, 911, 116 123,
# 0800-123-4567. Short numbers such as "24" in "24/7" are left alone.
_PHONE = re.compile(r"(?<![\w/])(\+?\d{3,}(?:[ -]\d{2,})*)(?![\w/])")


@register.filter
def crisis_text(text: str) -> SafeString:
    """The practice's crisis information, escaped, with paragraphs kept and every phone
    number made a tap-to-call link - on a phone, one tap should be enough to call."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = escape(paragraph).replace("\n", "<br>")
        linked = _PHONE.sub(
            lambda m: (
                f'<a class="tel" href="tel:{re.sub(r"[ -]", "", m.group(1))}">{m.group(1)}</a>'
            ),
            escaped,
        )
        out.append(f"<p>{linked}</p>")
    return mark_safe("".join(out))  # noqa: S308  (every piece was escaped above)
