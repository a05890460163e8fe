"""Inputs a client written from the seed documents alone may send, for the compatibility tests.

tests/test_compat_aidge.py, test_compat_aliyun_async.py and test_compat_imagesearch.py each check one
dialect against its seed text; what they share is here: JSON no endpoint may choke on (huge numbers, deep
nesting, lone surrogates, non-JSON numbers), bodies in the wrong framing, methods no endpoint takes, and
pictures that are hard on decoders (a 30000 x 30000 PNG, an EXIF-rotated JPEG). Everything is built here,
nothing is read from disk.
"""

from __future__ import annotations

import functools
import io
import json
import struct
import zlib

from django.test import Client
from PIL import Image, ImageDraw

# The placeholder `json_with` swaps for raw JSON text (values json.dumps could never write).
ODD = "<odd value>"

ODD_JSON_VALUES: dict[str, str] = {
    "a number of 5,000 digits": "9" * 5000,
    "a negative number of 5,000 digits": "-" + "1" * 5000,
    "an array nested 100,000 levels deep": "[" * 100_000 + "]" * 100_000,
    "an object nested 100,000 levels deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "an array nested 40 levels deep": "[" * 40 + "1" + "]" * 40,
    "a lone high surrogate": '"\\ud800"',
    "a lone low surrogate inside text": '"red \\udc00 mug"',
    "a NUL character": '"red\\u0000mug"',
    "NaN": "NaN",
    "-Infinity": "-Infinity",
    "a number beyond any float": "1e999",
}
# Text no database column holds (SQLite refuses lone surrogates, PostgreSQL NUL): the error names the field.
UNSTORABLE_TEXT = ("a lone high surrogate", "a lone low surrogate inside text", "a NUL character")

# Methods no endpoint takes (HEAD answers without a body, so it is checked apart).
OTHER_METHODS = ("PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def json_with(body: dict, raw: str) -> bytes:
    """`body` as JSON text, with the `ODD` placeholder replaced by the raw JSON text `raw`."""
    text = json.dumps(body)
    placeholder = json.dumps(ODD)
    assert placeholder in text, "the body needs the ODD placeholder somewhere"
    return text.replace(placeholder, raw).encode("utf-8")


def wrong_framings(body: dict) -> dict[str, tuple[str, bytes]]:
    """A reasonable body sent with the wrong content type, or the wrong bytes for its content type."""
    text = json.dumps(body)
    return {
        "JSON sent as text/plain": ("text/plain", text.encode()),
        "JSON labelled as a form": ("application/x-www-form-urlencoded", text.encode()),
        "a form labelled as JSON": ("application/json", b"a=1&b=2"),
        "XML": ("application/xml", b"<?xml version='1.0'?><request><a>1</a></request>"),
        "multipart without a boundary": (
            "multipart/form-data",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
        ),
        "multipart with a broken part": (
            "multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff\xfe\r\n",
        ),
        "binary bytes": ("application/octet-stream", bytes(range(256)) * 4),
        "invalid UTF-8 labelled as JSON": ("application/json", b'{"a": "\xff\xfe\xfd"}'),
        "JSON in UTF-16": ("application/json; charset=utf-16", text.encode("utf-16")),
        "a JSON array instead of an object": ("application/json", b"[1, 2, 3]"),
        "JSON null": ("application/json", b"null"),
    }


def send(method: str, path: str, body: bytes = b"", content_type: str = "application/json", **headers: str):
    """One raw request through the whole middleware stack (the test client re-raises server errors)."""
    return Client().generic(method, path, data=body, content_type=content_type, headers=headers)


def assert_json_answer(response) -> dict:
    """Never HTML, never an empty page: a JSON object whose request id is the X-Request-ID header."""
    content_type = response.get("Content-Type", "")
    assert content_type.startswith("application/json"), (
        response.status_code,
        content_type,
        response.content[:200],
    )
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    request_id = body.get("requestId") or body.get("RequestId")
    assert request_id and request_id == response["X-Request-ID"], body
    return body


# --- pictures ----------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@functools.cache
def huge_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid, complete black-and-white PNG of `width` x `height` pixels that compresses to ~100 KB
    (built row by row: Pillow would need the whole 900-megapixel image in memory to write it)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte "none", then 1 bit per pixel
    compressor = zlib.compressobj(9)
    parts = []
    rows_per_chunk = 512
    block = row * rows_per_chunk
    for start in range(0, height, rows_per_chunk):
        parts.append(
            compressor.compress(block if start + rows_per_chunk <= height else row * (height - start))
        )
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def rotated_jpeg(width: int = 320, height: int = 200, orientation: int = 6) -> bytes:
    """A landscape JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6): upright it is
    `height` x `width` pixels, with the red block (drawn along the stored picture's left) along the top."""
    image = Image.new("RGB", (width, height), (236, 236, 232))
    ImageDraw.Draw(image).rectangle((20, 20, width // 3, height - 20), fill=(190, 30, 40))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()
