"""Erase engine: RLE hand masks, element detection per type, scope (keep printed product text),
inpainting quality and offline model loading. Images are drawn here; the detector runs on one
shared scene (cached) plus the network check, to keep the suite fast."""

from __future__ import annotations

import functools
import math
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from processing.engines import erase
from processing.engines.erase import InvalidMask, decode_rle_mask, encode_rle_mask, fill, masks, ocr, tiles
from processing.engines.erase.elements import (
    CHARACTER,
    COLOUR_BLOCK,
    SEMI_TRANSPARENT,
    SPECIFIC_NAME,
    TextBox,
)
from processing.engines.erase.glyphs import Glyphs

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
SEED_EXAMPLE = (
    "474556 160 475356 160 476156 160 476956 160 477756 160 478556 160 479356 160 480156 160 "
    "480956 160 481756 160 482556 160 483356 160 484156 160 484956 160 485756 160 486556 160 "
    "487356 160 488156 160 488956 160 489756 160 490556 160 491356 160 492156 160"
)
SIZE = 768


def make_font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / ("NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc")
    if not path.is_file():
        pytest.skip(f"needs Debian fonts-noto-cjk ({path} missing; `make system-deps` installs it)")
    return ImageFont.truetype(str(path), size, index=2)  # index 2: the Simplified Chinese face


def make_layer(size: tuple[int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    return layer, ImageDraw.Draw(layer)


def make_alpha_mask(layer: Image.Image) -> np.ndarray:
    return np.asarray(layer)[..., 3] >= 4


def make_scene() -> dict[str, object]:
    """A product photo with one element of every type, each drawn on its own layer so the test
    knows exactly which pixels belong to which element."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    base = np.stack([236 - ys / 40, 232 - ys / 30, 224 - xs / 50], axis=2)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).convert("RGBA")
    size = (SIZE, SIZE)

    subject_layer, draw = make_layer(size)
    draw.ellipse((250, 250, 560, 600), fill=(40, 90, 150, 255))
    image.alpha_composite(subject_layer)
    subject_alpha = np.asarray(subject_layer)[..., 3].copy()

    layers: dict[str, Image.Image] = {}
    printed, draw = make_layer(size)
    draw.text((330, 400), "MAPLE", font=make_font(44), fill=(245, 220, 120, 255))
    layers["printed"] = printed

    promo, draw = make_layer(size)
    draw.text((230, 40), "限时特价 Big Sale", font=make_font(54), fill=(220, 30, 30, 255))
    layers["promo"] = promo

    name, draw = make_layer(size)
    draw.text((560, 728), "© 青禾旗舰店", font=make_font(24, bold=False), fill=(90, 90, 90, 255))
    layers["name"] = name

    block, draw = make_layer(size)
    draw.rounded_rectangle((30, 640, 250, 710), radius=14, fill=(225, 37, 27, 255))
    draw.text((52, 648), "会员专享", font=make_font(44), fill=(255, 255, 255, 255))
    layers["block"] = block

    # Tiled, rotated, 35% opacity watermark over everything (product included).
    tile, draw = make_layer((300, 80))
    draw.text((10, 10), "SAMPLE ONLY", font=make_font(40), fill=(120, 120, 120, 90))
    tile = tile.rotate(25, expand=True, resample=Image.BICUBIC)
    watermark, _ = make_layer(size)
    for row, y in enumerate(range(-60, SIZE, 230)):
        for x in range(-120 + (row % 2) * 170, SIZE, 340):
            watermark.alpha_composite(tile, (x, y))
    layers["watermark"] = watermark

    for key in ("printed", "promo", "name", "block", "watermark"):
        image.alpha_composite(layers[key])
    truth = {key: make_alpha_mask(layer) for key, layer in layers.items()}
    # The tiled watermark also covers the other elements; keep each element's own pixels apart.
    truth["watermark"] &= ~(truth["printed"] | truth["promo"] | truth["name"] | truth["block"])
    return {"image": np.asarray(image.convert("RGB")), "alpha": subject_alpha, "truth": truth}


@functools.cache
def make_detected_scene() -> tuple[dict[str, object], tuple[erase.Element, ...]]:
    scene = make_scene()
    return scene, tuple(erase.detect_elements(scene["image"], scene["alpha"]))


def make_type_mask(elements: tuple[erase.Element, ...], kind: int, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for element in elements:
        if element.type == kind:
            element.paint_into(mask)
    return mask


# --- RLE -------------------------------------------------------------------------------------


def test_it_decodes_the_seed_example_as_one_rectangle() -> None:
    mask = decode_rle_mask(SEED_EXAMPLE, 800, 800)
    ys, xs = np.nonzero(mask)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (593, 615, 156, 315)
    assert mask.sum() // 255 == 23 * 160
    assert encode_rle_mask(mask) == SEED_EXAMPLE


def test_it_round_trips_random_masks() -> None:
    rng = np.random.default_rng(7)
    for shape in [(31, 17), (64, 64), (5, 200)]:
        mask = (rng.random(shape) > 0.7).astype(np.uint8)
        mask[0, 0] = 1
        mask[-1, -1] = 1  # runs touching both ends of the flattened image
        text = encode_rle_mask(mask)
        assert np.array_equal(decode_rle_mask(text, shape[1], shape[0]) > 0, mask > 0)
        assert np.array_equal(
            decode_rle_mask(encode_rle_mask(mask, base=1), shape[1], shape[0], base=1), mask * 255
        )
    assert encode_rle_mask(np.zeros((4, 4))) == ""
    assert not decode_rle_mask("", 4, 4).any()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10 5 20", "odd number"),
        ("10 five", "not a non-negative integer"),
        ("-3 4", "not a non-negative integer"),
        ("10 0", "length must be positive"),
        ("10 5 12 4", "overlaps"),
        ("20 5 10 2", "overlaps"),
        ("95 10", "exceed"),
    ],
)
def test_it_rejects_malformed_rle_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidMask, match=message):
        decode_rle_mask(text, 10, 10)


def test_it_rejects_a_zero_start_when_counting_from_one() -> None:
    with pytest.raises(InvalidMask, match="below the first pixel"):
        decode_rle_mask("0 3", 10, 10, base=1)


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind", "recall"),
    # Tiles crossing the product or other elements are often missed by the text detector
    # (lattice completion of tiled watermarks is not implemented yet), hence the lower bound.
    [("watermark", 1, 0.5), ("name", 2, 0.9), ("promo", 3, 0.95), ("block", 4, 0.95)],
)
def test_it_detects_each_element_type(key: str, kind: int, recall: float) -> None:
    scene, elements = make_detected_scene()
    truth = scene["truth"][key]
    found = make_type_mask(elements, kind, truth.shape)
    covered = (found & truth).sum() / truth.sum()
    assert covered >= recall, f"type {kind} covers {covered:.2f} of the {key} pixels"


def test_it_grows_the_colour_block_to_the_whole_banner() -> None:
    scene, elements = make_detected_scene()
    blocks = [element for element in elements if element.type == COLOUR_BLOCK]
    assert blocks
    x0, y0, x1, y1 = blocks[0].box
    assert x0 <= 32 and y0 <= 642 and x1 >= 248 and y1 >= 708


def test_it_keeps_mask_tight_around_glyphs() -> None:
    scene, elements = make_detected_scene()
    promo = [element for element in elements if element.type == CHARACTER and not element.on_subject]
    assert promo
    x0, y0, x1, y1 = promo[0].box
    box_area = (x1 - x0) * (y1 - y0)
    # A loose box would mark every pixel; strokes plus a few pixels of fringe mark far fewer.
    assert promo[0].local_mask.sum() < 0.8 * box_area


def test_it_keeps_text_printed_on_the_product_when_only_the_background_is_cleaned() -> None:
    scene, elements = make_detected_scene()
    printed = scene["truth"]["printed"]
    on_product = [element for element in elements if element.on_subject]
    assert on_product and all(element.type in (SPECIFIC_NAME, CHARACTER) for element in on_product)

    background_only = erase.build_removal_mask(
        scene["image"], list(elements), scene["alpha"], set(), erase.ALL_TYPES
    )
    assert (background_only[printed] == 0).mean() >= 0.95
    assert (background_only[scene["truth"]["promo"]] > 0).mean() >= 0.95

    everything = erase.build_removal_mask(
        scene["image"], list(elements), scene["alpha"], erase.ALL_TYPES, erase.ALL_TYPES
    )
    assert (everything[printed] > 0).mean() >= 0.9


def test_it_stores_each_element_mask_inside_its_box_only() -> None:
    scene, elements = make_detected_scene()
    shape = scene["image"].shape[:2]
    assert elements
    union = np.zeros(shape, bool)
    for element in elements:
        x0, y0, x1, y1 = element.box
        # Box-local: never more than the box (not a full-image array per element).
        assert element.local_mask.dtype == bool and element.local_mask.shape == (y1 - y0, x1 - x0)
        assert element.local_mask.size < shape[0] * shape[1]
        full = element.full_mask(shape)
        # The full mask is what the element used to carry: its set pixels lie in the box, which is
        # tight on them (x1, y1 exclusive), and match the stored pixels there.
        assert full.shape == shape and full.any()
        assert masks.mask_box(full) == element.box
        assert np.array_equal(full[y0:y1, x0:x1], element.local_mask)
        assert full.sum() == element.local_mask.sum()
        assert np.array_equal(element.mask_in((0, 0, shape[1], shape[0])), full)
        element.paint_into(union)
    # Erasing every type is the union of the elements' full masks, as before.
    everything = erase.build_removal_mask(
        scene["image"], list(elements), scene["alpha"], erase.ALL_TYPES, erase.ALL_TYPES
    )
    assert np.array_equal(everything, union.astype(np.uint8) * 255)


def test_it_combines_box_local_masks_as_full_masks_would() -> None:
    rng = np.random.default_rng(11)
    height, width = 60, 80
    whole = (0, 0, width, height)

    def make_patch() -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]:
        full = np.zeros((height, width), bool)
        x0, y0 = int(rng.integers(3, width)), int(rng.integers(5, height))
        full[y0 : y0 + int(rng.integers(1, 30)), x0 : x0 + int(rng.integers(1, 30))] = True
        full &= rng.random((height, width)) > 0.4
        # Cut from a window whose corner is (3, 5): nothing is set above or left of it.
        box, local = masks.tight(full[5:, 3:], 3, 5)
        assert box == (masks.mask_box(full) if full.any() else (0, 0, 0, 0))
        assert local.shape == (box[3] - box[1], box[2] - box[0])
        assert np.array_equal(masks.window_of(box, local, whole), full)
        return full, box, local

    for _ in range(60):
        a, box_a, local_a = make_patch()
        b, box_b, local_b = make_patch()
        box, local = masks.union(box_a, local_a, box_b, local_b)
        assert np.array_equal(masks.window_of(box, local, whole), a | b)
        assert box == (masks.mask_box(a | b) if (a | b).any() else (0, 0, 0, 0))
        assert masks.overlap(box_a, local_a, box_b, local_b) == (a & b).sum()
        assert np.array_equal(masks.window_of(box_a, local_a, (10, 7, 50, 44)), a[7:44, 10:50])


def make_stamp_scene(rings: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A product on a gradient under a grey, semi-transparent round seal: `rings` concentric
    rings around a word. Returns the image, the subject alpha and the ring pixels."""
    size = 768
    image = Image.fromarray(make_gradient(size, size)).convert("RGBA")
    product, draw = make_layer((size, size))
    draw.ellipse((470, 470, 740, 740), fill=(180, 60, 40, 255))
    image.alpha_composite(product)
    ring_layer, draw = make_layer((size, size))
    for radius, thickness in [(230, 16), (200, 6)][:rings]:
        draw.ellipse(
            (330 - radius, 330 - radius, 330 + radius, 330 + radius),
            outline=(60, 60, 60, 120),
            width=thickness,
        )
    word, draw = make_layer((size, size))
    draw.text((200, 290), "SAMPLE", font=make_font(64), fill=(60, 60, 60, 120))
    image.alpha_composite(ring_layer)
    image.alpha_composite(word)
    return np.asarray(image.convert("RGB")), np.asarray(product)[..., 3].copy(), make_alpha_mask(ring_layer)


def test_it_finds_a_round_stamp_and_masks_its_rings() -> None:
    image, alpha, rings = make_stamp_scene(rings=2)
    elements = erase.detect_elements(image, alpha)
    stamps = [element for element in elements if element.features.get("stamp")]
    assert len(stamps) == 1 and stamps[0].type == SEMI_TRANSPARENT and not stamps[0].on_subject
    stamp = stamps[0].full_mask(rings.shape)
    covered = (stamp & rings).sum() / rings.sum()
    assert covered >= 0.9, f"the stamp mask covers {covered:.2f} of the ring pixels"
    near_rings = cv2.dilate(rings.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (stamp & near_rings).sum() >= 0.9 * stamp.sum()


def test_it_finds_a_stamp_the_cut_out_traced_as_part_of_the_product() -> None:
    image, alpha, rings = make_stamp_scene(rings=2)
    traced = np.where(rings, 255, alpha).astype(np.uint8)  # the rings came out as a salient shape
    elements = erase.detect_elements(image, traced)
    stamps = [element for element in elements if element.features.get("stamp")]
    assert len(stamps) == 1 and not stamps[0].on_subject
    assert (stamps[0].full_mask(rings.shape) & rings).sum() >= 0.9 * rings.sum()


def test_it_does_not_take_the_rings_on_a_round_product_for_a_stamp() -> None:
    image, alpha, _ = make_stamp_scene(rings=2)
    plate = np.zeros_like(alpha)
    cv2.circle(plate, (330, 330), 240, 255, -1)  # the rings are printed on a round product's face
    elements = erase.detect_elements(image, np.maximum(alpha, plate))
    assert not [element for element in elements if element.features.get("stamp")]


def test_it_does_not_take_a_single_circle_for_a_stamp() -> None:
    image, alpha, _ = make_stamp_scene(rings=1)
    elements = erase.detect_elements(image, alpha)
    assert not [element for element in elements if element.features.get("stamp")]


def test_it_rejects_unknown_element_types() -> None:
    with pytest.raises(ValueError, match="unknown element types"):
        erase.build_removal_mask(np.zeros((8, 8, 3), np.uint8), [], None, {5}, set())


# --- inpainting -----------------------------------------------------------------------------


def make_gradient(height: int = 256, width: int = 320) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.clip(np.stack([60 + xs / 3, 90 + ys / 4, 200 - xs / 5], axis=2), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["auto", "telea", "harmonic"])
def test_it_inpaints_a_line_on_a_gradient_without_a_trace(method: str) -> None:
    clean = make_gradient()
    mask = np.zeros(clean.shape[:2], np.uint8)
    lined = clean.copy()
    for y in range(40, 210):
        x = int(30 + y * 1.1)
        lined[y, x - 3 : x + 3] = (10, 10, 10)
        mask[y, x - 5 : x + 5] = 255
    result = np.asarray(erase.inpaint(lined, mask, method=method)).astype(np.int16)
    error = np.abs(result - clean.astype(np.int16))
    assert error[mask > 0].max() <= 8, f"{method}: worst error {error[mask > 0].max()}"
    assert error[mask > 0].mean() <= 2.5
    assert np.array_equal(result[mask == 0], clean[mask == 0].astype(np.int16))


def test_it_does_not_bleed_product_colour_into_the_background() -> None:
    image = np.full((200, 200, 3), 245, np.uint8)
    yy, xx = np.mgrid[0:200, 0:200]
    disc = (yy - 100) ** 2 + (xx - 100) ** 2 < 60**2
    image[disc] = (200, 20, 20)
    alpha = disc.astype(np.uint8) * 255
    mask = np.zeros((200, 200), np.uint8)
    mask[92:108, 10:190] = 255  # a bar of text crossing the product edge
    result = np.asarray(erase.inpaint(image, mask, alpha)).astype(int)
    background = (mask > 0) & ~disc
    product = (mask > 0) & disc
    assert np.abs(result[background] - 245).max() <= 6
    assert np.abs(result[product] - np.array([200, 20, 20])).max() <= 6


def test_it_fills_crops_two_at_a_time_exactly_as_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    image = make_gradient(200, 300)
    rng = np.random.default_rng(3)
    image = np.clip(image.astype(np.int16) + rng.integers(-12, 12, image.shape), 0, 255).astype(np.uint8)
    mask = np.zeros(image.shape[:2], np.uint8)
    for index in range(6):
        x, y = 20 + 45 * index, 30 + 20 * index
        mask[y : y + 8 + 4 * index, x : x + 30] = 255
    alpha = np.zeros(image.shape[:2], np.uint8)
    alpha[100:, 150:] = 255
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(fill, "INPAINT_THREADS", threads)
        results.append(fill.inpaint_array(image, mask, alpha, "auto"))
    assert np.array_equal(results[0], results[1])
    assert not np.array_equal(results[0], image)


def test_it_erases_only_the_hand_painted_mask_when_given() -> None:
    image = make_gradient(64, 80)
    image[20:30, 20:60] = 0
    painted = encode_rle_mask(np.pad(np.ones((14, 44), np.uint8), ((18, 32), (18, 18))))
    hand = decode_rle_mask(painted, 80, 64)
    result = erase.remove_elements(image, subject_alpha=None, extra_mask=hand)
    assert result.elements == []
    assert np.array_equal(result.mask, hand)
    assert np.abs(np.asarray(result.image).astype(int) - make_gradient(64, 80)).max() <= 8


# --- offline --------------------------------------------------------------------------------


def test_it_loads_the_detector_from_the_package_without_any_network(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []

    def refuse(name: str):
        def blocked(*args: object, **kwargs: object) -> object:
            attempts.append(name)
            raise OSError(f"network disabled ({name})")

        return blocked

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(ocr, "_ocr", None)  # force a fresh load under the guard
    assert ocr.rapidocr_model_dir().is_dir()

    image = Image.new("RGB", (320, 120), (250, 250, 250))
    ImageDraw.Draw(image).text((20, 30), "OFFLINE 离线", font=make_font(40), fill=(0, 0, 0))
    lines = erase.detect_text(np.asarray(image))
    assert lines and any("OFFLINE" in line.text.upper() for line in lines)
    assert attempts == []
    assert math.isfinite(lines[0].score)


def test_it_fills_a_badge_and_strokes_the_cut_out_glued_to_the_product_from_the_background():
    # The cut-out kept a promo badge and a watermark stroke with the product; both are being erased.
    subject = np.zeros((400, 400), bool)
    subject[200:300, 100:300] = True  # the product
    subject[60:100, 120:260] = True  # a badge above it, a salient object of its own
    subject[150:200, 199:201] = True  # a 2 px watermark stroke touching the product's top edge
    hole = np.zeros_like(subject)
    hole[60:100, 120:260] = True  # the whole badge is erased
    hole[150:200, 199:201] = True
    hole[240:250, 150:250] = True  # a watermark line across the product

    product_side = fill.fill_subject(subject, hole)

    assert product_side[210:290, 110:290].all()  # the product body stays product
    assert not product_side[60:100, 120:260].any()  # the badge is background
    assert not product_side[150:195, 199:201].any()  # so is the stroke
    # Filled from the backdrop, the badge takes the backdrop's colour, not the product's.
    image = np.full((400, 400, 3), 200, np.uint8)
    image[subject] = (230, 180, 20)
    image[60:100, 120:260] = (220, 30, 30)
    filled = fill.inpaint_array(image, hole.astype(np.uint8) * 255, subject.astype(np.uint8) * 255)
    assert np.abs(filled[80, 190].astype(int) - 200).max() <= 10


# --- on the product, when the cut-out is wrong ------------------------------------------------


def make_outlined_product_scene() -> dict[str, object]:
    """A pale product drawn with a dark outline, a word printed on its face, promo text beside
    it; the cut-out's alpha is the outline only (it took the pale face for backdrop)."""
    image = Image.new("RGB", (SIZE, SIZE), (214, 212, 206))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (200, 260, 600, 560), radius=30, fill=(222, 220, 216), outline=(20, 20, 20), width=14
    )
    outline = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(outline).rounded_rectangle((200, 260, 600, 560), radius=30, outline=255, width=14)
    printed, layer = make_layer((SIZE, SIZE))
    layer.text((300, 380), "PREMIUM", font=make_font(48), fill=(40, 50, 110, 255))
    promo, layer = make_layer((SIZE, SIZE))
    layer.text((60, 60), "今日爆款 Hot Deal", font=make_font(54), fill=(200, 30, 30, 255))
    composed = image.convert("RGBA")
    composed.alpha_composite(printed)
    composed.alpha_composite(promo)
    return {
        "image": np.asarray(composed.convert("RGB")),
        "alpha": np.asarray(outline).copy(),
        "printed": make_alpha_mask(printed),
        "promo": make_alpha_mask(promo),
    }


def test_it_keeps_text_printed_where_the_cut_out_sees_a_hole_in_the_product() -> None:
    scene = make_outlined_product_scene()
    elements = erase.detect_elements(scene["image"], scene["alpha"])

    background_only = erase.build_removal_mask(
        scene["image"], elements, scene["alpha"], set(), erase.ALL_TYPES
    )

    assert (background_only[scene["printed"]] == 0).mean() >= 0.95
    assert (background_only[scene["promo"]] > 0).mean() >= 0.9


def test_it_erases_a_badge_the_cut_out_took_for_part_of_the_product() -> None:
    scene = make_scene()
    badge = scene["truth"]["block"]
    # The cut-out kept the red member badge as a salient object of its own.
    alpha = scene["alpha"].copy()
    alpha[640:711, 30:251] = 255
    elements = erase.detect_elements(scene["image"], alpha)

    background_only = erase.build_removal_mask(scene["image"], elements, alpha, set(), erase.ALL_TYPES)

    assert (background_only[badge] > 0).mean() >= 0.95
    assert (background_only[scene["truth"]["printed"]] == 0).mean() >= 0.95
    badge_elements = [
        element
        for element in elements
        if element.box[0] >= 20 and element.box[1] >= 630 and element.box[2] <= 260 and element.box[3] <= 720
    ]
    assert badge_elements and all(
        element.type == COLOUR_BLOCK and not element.on_subject for element in badge_elements
    )


def make_quad(centre: tuple[float, float], size: tuple[float, float], angle: float) -> np.ndarray:
    return cv2.boxPoints((centre, size, -angle)).astype(np.float32)


def test_it_keeps_small_print_on_the_product_that_a_tilted_watermark_line_crosses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watermark = make_quad((600, 420), (420, 50), 28)  # a tile of a tilted watermark over the product
    printed = make_quad((590, 418), (60, 18), 0)  # small print under it, seen only by the fine pass
    same_line_again = make_quad((620, 405), (200, 46), 27)  # the watermark's own words, seen again

    def run_detector(bgr: np.ndarray, limit: int) -> list[TextBox]:
        if bgr.shape[:2] == (800, 1200):  # the coarse pass over the whole photo
            return [TextBox(watermark, "", 0.9)]
        offset = np.array([464, 284], np.float32)  # the fine pass over the product's box, 16 px wider
        return [TextBox(quad - offset, "", 0.8) for quad in (printed, same_line_again)]

    monkeypatch.setattr(ocr, "run_detector", run_detector)
    subject = np.zeros((800, 1200), bool)
    subject[300:540, 480:720] = True  # the watermark line runs beyond it: not replaced by fine lines

    boxes = ocr.detect_boxes(np.zeros((800, 1200, 3), np.uint8), subject)

    centres = sorted(tuple(np.round(box.quad.mean(axis=0)).astype(int)) for box in boxes)
    assert centres == [(590, 418), (600, 420)]


def test_it_takes_one_or_two_characters_read_off_a_shape_on_the_product_for_a_product_detail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = Image.new("RGB", (SIZE, SIZE), (214, 212, 206))
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 200, 560, 420), fill=(200, 200, 204), outline=(10, 10, 10), width=10)
    draw.rounded_rectangle((260, 380, 330, 560), radius=20, outline=(10, 10, 10), width=12)  # a handle
    alpha = np.zeros((SIZE, SIZE), np.uint8)
    alpha[200:421, 200:561] = 255  # the cut-out missed the handle's lower part
    handle = make_quad((295, 470), (190, 80), 90)
    monkeypatch.setattr(ocr, "detect_boxes", lambda rgb, subject=None: [TextBox(handle, "", 0.9)])

    def read_as(text: str):
        def recognise(rgb: np.ndarray, boxes: list[TextBox]) -> None:
            for box in boxes:
                box.text, box.score = text, 0.99

        return recognise

    for misread in ("U", "00"):
        monkeypatch.setattr(ocr, "recognise", read_as(misread))
        assert erase.detect_elements(np.asarray(image), alpha) == []

    monkeypatch.setattr(ocr, "recognise", read_as("UPS"))
    assert [element.text for element in erase.detect_elements(np.asarray(image), alpha)] == ["UPS"]

    # Two small letters on the product are print (a word the detector split), not a detail.
    draw.text((400, 300), "LE", font=make_font(16), fill=(40, 50, 110))
    small_print = make_quad((411, 311), (30, 18), 0)
    monkeypatch.setattr(ocr, "detect_boxes", lambda rgb, subject=None: [TextBox(small_print, "", 0.9)])
    monkeypatch.setattr(ocr, "recognise", read_as("LE"))
    printed = erase.detect_elements(np.asarray(image), alpha)
    assert [(element.text, element.on_subject) for element in printed] == [("LE", True)]


def test_it_does_not_take_a_product_seen_through_a_stamp_for_the_stamps_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image, _, rings = make_stamp_scene(rings=2)
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    for x in (250, 340):  # a pair of round dark products in the middle of the seal
        draw.ellipse((x, 380, x + 80, 460), fill=(40, 40, 50))
    alpha = np.zeros(rings.shape, np.uint8)
    for x in (250, 340):
        cv2.ellipse(alpha, (x + 40, 420), (40, 40), 0, 0, 360, 255, -1)
    pair = make_quad((330, 420), (180, 84), 0)
    monkeypatch.setattr(ocr, "detect_boxes", lambda rgb, subject=None: [TextBox(pair, "", 0.9)])

    def read_as_zeros(rgb: np.ndarray, boxes: list[TextBox]) -> None:
        for box in boxes:
            box.text, box.score = "00", 0.95

    monkeypatch.setattr(ocr, "recognise", read_as_zeros)
    elements = erase.detect_elements(np.asarray(picture), alpha)

    assert [element.features.get("stamp") for element in elements] == [1.0]  # the seal alone
    everything = erase.build_removal_mask(
        np.asarray(picture), elements, alpha, erase.ALL_TYPES, erase.ALL_TYPES
    )
    assert (everything[alpha > 0] == 0).mean() >= 0.95


def make_watermark_tiles(
    angle: float, origins: list[tuple[int, int]]
) -> tuple[list[TextBox], list, list[np.ndarray]]:
    """Tiles of one rotated watermark on a 900x700 canvas: their text boxes, glyph masks grown as
    detection grows them, and each tile's letter pixels."""
    font = make_font(48)
    layer, draw = make_layer((420, 100))
    draw.text((20, 20), "SAMPLE ONLY", font=font, fill=(0, 0, 0, 255))
    x0, y0, x1, y1 = draw.textbbox((20, 20), "SAMPLE ONLY", font=font)
    rotated = layer.rotate(angle, expand=True, resample=Image.BICUBIC)
    tile = np.asarray(rotated)[..., 3] >= 128
    radians = np.radians(angle)
    turn = np.array([[np.cos(radians), np.sin(radians)], [-np.sin(radians), np.cos(radians)]])
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    tile_quad = (corners - (210.0, 50.0)) @ turn.T + (rotated.width / 2, rotated.height / 2)
    boxes, glyph_list, letters = [], [], []
    for ox, oy in origins:
        mine = np.zeros((700, 900), bool)
        mine[oy : oy + tile.shape[0], ox : ox + tile.shape[1]] = tile
        letters.append(mine)
        grown = cv2.dilate(tile.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        box, local = masks.tight(grown, ox, oy)
        boxes.append(TextBox((tile_quad + (ox, oy)).astype(np.float32), "SAMPLE ONLY", 0.9))
        glyph_list.append(Glyphs(box, local, 60.0, 0.2, float(y1 - y0)))
    return boxes, glyph_list, letters


def test_it_cuts_a_watermark_tiles_mask_down_to_the_letters_its_tiles_share() -> None:
    boxes, glyph_list, letters = make_watermark_tiles(25, [(10, 10), (450, 20), (30, 330), (460, 350)])
    assert abs(masks.text_angle(boxes[0].quad) - 25) < 1
    # Over a lamp, the third tile's mask also took a bright blob beside its letters.
    lamp = np.zeros((700, 900), np.uint8)
    cv2.circle(lamp, (200, 470), 28, 1, -1)
    lamp = lamp.astype(bool) & ~cv2.dilate(letters[2].astype(np.uint8), masks.disk(8)).astype(bool)
    third = glyph_list[2]
    third.box, third.mask = masks.union(third.box, third.mask, *masks.tight(lamp))
    whole = (0, 0, 900, 700)
    assert masks.window_of(third.box, third.mask, whole)[lamp].all() and lamp.sum() > 500

    tiles.trim_tiles(boxes, glyph_list, [0, 1, 2, 3], (700, 900, 3))

    assert not masks.window_of(third.box, third.mask, whole)[lamp].any()  # the lamp is not erased
    for glyphs, mine in zip(glyph_list, letters, strict=True):
        assert masks.window_of(glyphs.box, glyphs.mask, whole)[mine].mean() >= 0.99  # the letters are
