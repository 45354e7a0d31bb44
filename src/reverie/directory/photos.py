"""Profile photos: any common image in, a small square JPEG with no metadata out.

Re-encoding does three jobs: it keeps the stored photo small (it lives in the database), it
drops EXIF data such as where a phone took the picture, and it guarantees the bytes served
back are a plain image whatever the upload contained.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

#: The stored photo is a square of this many pixels a side.
SIZE: Final = 480
#: Refuse images larger than this before decoding them fully (decompression bombs).
MAX_PIXELS: Final = 40_000_000


class PhotoError(ValueError):
    """The upload is not an image we can use; the message is safe to show."""


def prepare(data: bytes) -> bytes:
    """Centre-crop to a square, scale to :data:`SIZE` and encode as JPEG without metadata.

    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("RGB", (900, 600), "teal").save(buffer, "PNG")
    >>> out = Image.open(io.BytesIO(prepare(buffer.getvalue())))
    >>> out.format, out.size, bool(out.getexif())
    ('JPEG', (480, 480), False)
    """
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise PhotoError("This photo is too large. Choose one under 40 megapixels.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            square = ImageOps.fit(upright.convert("RGB"), (SIZE, SIZE), Image.Resampling.LANCZOS)
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoError("This file could not be read as a photo. Try a JPEG or PNG.") from None
    out = io.BytesIO()
    square.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
