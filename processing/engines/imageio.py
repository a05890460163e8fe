"""Safe decoding of untrusted image bytes, shared by every engine and every upload path.

Everything that reaches an engine went through `decode_image`: the format comes from the bytes,
never from a file name; the pixel count is checked from the header before any pixel is decoded
(decompression bombs); EXIF orientation is applied; ICC profiles are converted to sRGB; CMYK,
16-bit, palette and grey images come out as plain 8-bit RGB or RGBA.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

# A truncated file must be refused, not silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

SUPPORTED_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}
FORMAT_EXTENSIONS: dict[str, str] = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}

_SRGB_PROFILE = ImageCms.createProfile("sRGB")


class ImageDecodeError(ValueError):
    """The bytes are not an image we accept. `code` is stable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # mode RGB or RGBA, orientation applied, sRGB
    format: str  # one of SUPPORTED_FORMATS
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return SUPPORTED_FORMATS[self.format]

    @property
    def extension(self) -> str:
        return FORMAT_EXTENSIONS[self.format]

    @property
    def has_alpha(self) -> bool:
        return self.image.mode == "RGBA"


def decode_image(
    data: bytes,
    *,
    allowed_formats: tuple[str, ...] | frozenset[str] = tuple(SUPPORTED_FORMATS),
    min_side: int = 1,
    max_side: int = 12_000,
    max_pixels: int = 50_000_000,
) -> DecodedImage:
    if not data:
        raise ImageDecodeError("empty", "The file is empty.")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns below 2x its limit; ours is the one that counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ImageDecodeError("too_many_pixels", _too_many_pixels_message(max_pixels)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageDecodeError("not_an_image", "The file is not an image we can read.") from None

    image_format = (opened.format or "").upper()
    if image_format not in allowed_formats:
        shown = ", ".join(FORMAT_EXTENSIONS.get(f, f.lower()).upper() for f in allowed_formats)
        raise ImageDecodeError(
            "unsupported_format", f"{image_format or 'This'} images are not supported; use {shown}."
        )

    width, height = opened.size
    if width * height > max_pixels:
        raise ImageDecodeError("too_many_pixels", _too_many_pixels_message(max_pixels, width, height))
    if max(width, height) > max_side:
        raise ImageDecodeError(
            "too_large", f"The image is {width}×{height} pixels; each side must be at most {max_side} pixels."
        )
    if min(width, height) < min_side:
        raise ImageDecodeError(
            "too_small",
            f"The image is {width}×{height} pixels; each side must be at least {min_side} pixels.",
        )

    try:
        opened.load()
    except Image.DecompressionBombError:
        raise ImageDecodeError("too_many_pixels", _too_many_pixels_message(max_pixels)) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageDecodeError("corrupt", "The image file is damaged or truncated.") from None

    image = _to_srgb_8bit(opened)
    # A broken EXIF block must not cost the merchant the photo: keep it unrotated.
    with contextlib.suppress(SyntaxError, ValueError, OSError, KeyError, TypeError):
        image = ImageOps.exif_transpose(image)
    return DecodedImage(image=image, format=image_format, width=image.width, height=image.height)


def _too_many_pixels_message(max_pixels: int, width: int | None = None, height: int | None = None) -> str:
    size = f"{width}×{height} pixels" if width else "far too many pixels"
    return f"The image has {size}; at most {max_pixels / 1_000_000:g} megapixels are accepted."


def _to_srgb_8bit(image: Image.Image) -> Image.Image:
    """Return an RGB or RGBA sRGB image, keeping EXIF so the caller can still orient it."""
    exif = image.getexif()
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        converted = _wide_grey_to_rgb(image)
    elif mode == "P":
        converted = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "PA", "RGBa", "La"):
        converted = image.convert("RGBA")
    elif mode == "RGBA" or mode == "RGB":
        converted = image
    elif mode == "CMYK":
        converted = _icc_to_srgb(image, "RGB") or image.convert("RGB")
        exif_out = converted.getexif()
        exif_out.update(exif)
        converted.info.pop("icc_profile", None)
        return converted
    else:  # 1, L, F, YCbCr, LAB, HSV
        converted = image.convert("RGB")

    if converted.info.get("icc_profile"):
        target_mode = converted.mode
        icc_converted = _icc_to_srgb(converted, target_mode)
        if icc_converted is not None:
            converted = icc_converted
        else:
            # A profile lcms cannot apply is dropped: the pixels are then read as sRGB, as browsers do.
            converted = converted.copy()
            converted.info.pop("icc_profile", None)
    if converted is image:
        return image
    converted.getexif().update(exif)
    if "exif" in image.info:
        converted.info["exif"] = image.info["exif"]
    return converted


def _wide_grey_to_rgb(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image, dtype=np.int64)
    peak = int(pixels.max(initial=0))
    # 16-bit data lives in 0..65535; a mode-I image that only uses 0..255 is already 8-bit.
    scale = 257.0 if peak > 255 else 1.0
    grey = np.clip(np.round(pixels / scale), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _icc_to_srgb(image: Image.Image, output_mode: str) -> Image.Image | None:
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if output_mode == "RGBA":
            rgb = image.convert("RGB")
            converted = ImageCms.profileToProfile(rgb, source, _SRGB_PROFILE, outputMode="RGB")
            converted.putalpha(image.getchannel("A"))
        else:
            converted = ImageCms.profileToProfile(image, source, _SRGB_PROFILE, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    if converted is None:
        return None
    converted.info.pop("icc_profile", None)
    return converted


def encode_image(image: Image.Image, image_format: str = "PNG", *, quality: int = 90) -> bytes:
    """Encode for storage or download; JPEG flattens transparency onto white."""
    buffer = io.BytesIO()
    image_format = image_format.upper()
    if image_format in ("JPEG", "JPG"):
        if image.mode == "RGBA":
            flattened = Image.new("RGB", image.size, (255, 255, 255))
            flattened.paste(image, mask=image.getchannel("A"))
            image = flattened
        elif image.mode != "RGB":
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=quality, optimize=True)
    elif image_format == "WEBP":
        image.save(buffer, "WEBP", quality=quality, method=4)
    elif image_format == "PNG":
        image.save(buffer, "PNG", optimize=False, compress_level=6)
    else:
        raise ValueError(f"cannot encode {image_format}")
    return buffer.getvalue()
