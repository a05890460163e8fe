"""The shared decoder: every kind of awkward file a merchant's camera or supplier produces."""

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageFilter

from processing.engines.imagefacts import compute_facts, make_thumbnail
from processing.engines.imageio import ImageDecodeError, decode_image, encode_image
from tests.conftest import make_image_bytes


def make_exif_rotated_jpeg() -> bytes:
    # Stored 300 wide x 100 high, with orientation 6: the camera was turned; it displays 100 x 300.
    image = Image.new("RGB", (300, 100), (250, 250, 250))
    image.paste((0, 0, 0), (0, 0, 30, 100))  # a black band on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def make_cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("CMYK", (200, 150), (0, 255, 255, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


def make_16bit_png() -> bytes:
    pixels = (np.arange(200 * 150, dtype=np.uint32).reshape(150, 200) * 2).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def make_palette_png_with_transparency() -> bytes:
    image = Image.new("P", (160, 120), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (40, 30, 120, 90))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    return buffer.getvalue()


def make_bomb_png(side: int = 20000) -> bytes:
    # A 1-bit PNG compresses a 20000 x 20000 canvas into a few kilobytes: a decompression bomb.
    buffer = io.BytesIO()
    Image.new("1", (side, side), 0).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_it_refuses_a_truncated_jpeg():
    data = make_image_bytes(800, 600)
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(data[: len(data) // 2])
    assert caught.value.code == "corrupt"


def test_it_refuses_text_named_like_an_image():
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(b"this is a shopping list, not a photo\n" * 20)
    assert caught.value.code == "not_an_image"


def test_it_refuses_images_below_the_minimum_side():
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(make_image_bytes(1, 1, image_format="PNG"), min_side=100)
    assert caught.value.code == "too_small"
    assert "1×1" in caught.value.message


def test_it_refuses_a_decompression_bomb_before_decoding_pixels():
    bomb = make_bomb_png()
    assert len(bomb) < 200_000
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(bomb, max_pixels=50_000_000)
    assert caught.value.code == "too_many_pixels"


def test_it_refuses_formats_outside_the_list():
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200)).save(buffer, "GIF")
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(buffer.getvalue())
    assert caught.value.code == "unsupported_format"


def test_it_applies_exif_orientation():
    decoded = decode_image(make_exif_rotated_jpeg())
    assert (decoded.width, decoded.height) == (100, 300)
    pixels = np.asarray(decoded.image)
    # Orientation 6 turns the stored left edge into the top edge.
    assert pixels[:20, :, :].mean() < 60
    assert pixels[-20:, :, :].mean() > 200


def test_it_converts_cmyk_to_rgb():
    decoded = decode_image(make_cmyk_jpeg())
    assert decoded.image.mode == "RGB"
    red, green, blue = decoded.image.getpixel((100, 75))
    assert red > 180 and green < 80 and blue < 80  # C=0 M=255 Y=255 is red


def test_it_scales_16_bit_images_to_8_bit():
    decoded = decode_image(make_16bit_png())
    assert decoded.image.mode == "RGB"
    pixels = np.asarray(decoded.image)
    assert pixels.max() > 200  # not clipped to black or saturated into white
    assert pixels.min() < 10


def test_it_keeps_palette_transparency_as_alpha():
    decoded = decode_image(make_palette_png_with_transparency())
    assert decoded.image.mode == "RGBA"
    assert decoded.image.getpixel((5, 5))[3] == 0
    assert decoded.image.getpixel((80, 60)) == (0, 0, 255, 255)


def make_adobe_rgb_like_profile() -> bytes:
    """A minimal ICC v2 matrix/TRC display profile with Adobe RGB (1998) primaries and gamma 2.2."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz_tag(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0\0"  # gamma 563/256 = 2.2
    tags = [
        (b"wtpt", xyz_tag(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz_tag(0.6097559, 0.3111242, 0.0194811)),
        (b"gXYZ", xyz_tag(0.2052401, 0.6256560, 0.0608902)),
        (b"bXYZ", xyz_tag(0.1492240, 0.0632197, 0.7448387)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + b"none"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + body


def test_it_converts_embedded_icc_profiles_to_srgb():
    buffer = io.BytesIO()
    Image.new("RGB", (200, 120), (40, 200, 60)).save(buffer, "PNG", icc_profile=make_adobe_rgb_like_profile())
    decoded = decode_image(buffer.getvalue())
    assert "icc_profile" not in decoded.image.info
    red, green, blue = decoded.image.getpixel((10, 10))
    # Adobe RGB's green is wider than sRGB's: in sRGB the same colour needs a purer, stronger green.
    assert green > 200 and red < 40


def test_it_computes_facts_and_a_thumbnail():
    decoded = decode_image(make_image_bytes(640, 480, colour=(200, 40, 40)))
    facts = compute_facts(decoded.image)
    assert (facts.width, facts.height) == (640, 480)
    assert facts.dominant_colours[0].share > 0.5
    red, green, blue = (int(facts.dominant_colours[0].hex[i : i + 2], 16) for i in (1, 3, 5))
    assert red > 150 and green < 90
    thumbnail = Image.open(io.BytesIO(make_thumbnail(decoded.image)))
    assert thumbnail.format == "WEBP" and max(thumbnail.size) == 480


def test_it_scores_a_blurred_photo_below_a_sharp_one():
    rng = np.random.default_rng(7)
    blocks = rng.integers(0, 255, size=(50, 50), dtype=np.uint8)
    sharp = Image.fromarray(np.kron(blocks, np.ones((8, 8), dtype=np.uint8))).convert("RGB")
    blurred = sharp.filter(ImageFilter.GaussianBlur(4))
    assert compute_facts(blurred).sharpness < compute_facts(sharp).sharpness / 2
    assert compute_facts(blurred).is_blurry and not compute_facts(sharp).is_blurry


def test_it_does_not_call_a_flat_image_blurry():
    assert not compute_facts(Image.new("RGB", (300, 300), (240, 240, 240))).is_blurry


def test_it_flattens_transparency_onto_white_for_jpeg():
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    encoded = Image.open(io.BytesIO(encode_image(image, "JPEG")))
    assert encoded.getpixel((25, 25))[0] > 245
