"""Find the removable elements of an image and classify them into the four API types.

`detect_elements` runs the steps of the pipeline in order: text lines (`ocr.detect_boxes`), a glyph
mask per line (`glyphs.glyph_mask`), repeated watermark groups (`tiles.repeated_lines`), round stamps
(`stamps.find_stamps`), colour blocks (`glyphs.colour_block`), the product region without the
overlays the cut-out took for product, recognition of only the lines whose type depends on their
words (`ocr.recognise`), tile trimming (`tiles.trim_tiles`), then the type of each line from
faintness, repetition, placement, the surrounding block and the recognised text.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from PIL import Image

from processing.engines.erase import ocr
from processing.engines.erase.elements import (
    CHARACTER,
    COLOUR_BLOCK,
    SEMI_TRANSPARENT,
    SPECIFIC_NAME,
    Element,
    TextBox,
    to_rgb_array,
)
from processing.engines.erase.fill import SUBJECT_THRESHOLD, without_overlay_parts
from processing.engines.erase.glyphs import Glyphs, colour_block, glyph_mask
from processing.engines.erase.masks import Box, fill_holes, overlap, share_on, text_angle, union
from processing.engines.erase.stamps import STAMP_HINTS, chord_quad, find_stamps
from processing.engines.erase.tiles import (
    HORIZONTAL_DEGREES,
    normalise_text,
    repeated_lines,
    repeated_texts,
    trim_tiles,
)

# Lines taller than this share of the short side are not text unless faint (the detector
# sometimes boxes a large product feature).
MAX_TEXT_SHARE = 0.3
# Recognised lines below this score, or read as nothing, are not text.
MIN_TEXT_SCORE = 0.3
# Glyphs closer than this to their background (Lab distance) read as a semi-transparent overlay.
FAINT_CONTRAST = 45.0
# A "block" that is mostly product is the product's own surface, not a banner.
BLOCK_MAX_ON_SUBJECT = 0.5
# A separate part of the cut-out at least this much covered by detected overlays is one of them.
MOSTLY_OVERLAY = 0.5
# Text lines no taller than this share of the photo's short side are small print.
SMALL_TEXT = 0.05
# One or two large letters or digits at least this much on the product are a product detail read as text.
LONE_GLYPH_ON_SUBJECT = 0.2

# Shop / brand markers; the © family is the strongest signal of a "specific name".
_LONE_GLYPH = re.compile(r"[A-Z0-9]{1,2}")
_NAME_MARKS = re.compile(r"[©®™]|\(c\)", re.IGNORECASE)
_SHOP_WORDS = re.compile(
    r"旗舰店|专营店|专卖店|官方店|商城|优选|小店|家居|数码|store|shop|mall|official|\bco\b|\binc\b|\bltd\b",
    re.IGNORECASE,
)


def _product_region(subject: np.ndarray, overlays: list[tuple[Box, np.ndarray]]) -> np.ndarray:
    """The subject mask without the parts the cut-out took for product that are overlays.

    On photos full of overlays the cut-out keeps a promo badge or a headline as a salient object
    of its own; text on it would then count as printed on the product and be kept. Thin strokes
    are opened away (watermark glyphs glued to the product's edge), then a separate part mostly
    covered by detected text, blocks and stamps is dropped, unless it is the largest part: the
    product itself may be covered in print. A subject made only of thin strokes stays as it is."""
    covered = np.zeros(subject.shape, bool)
    for box, local in overlays:
        x0, y0, x1, y1 = box
        covered[y0:y1, x0:x1] |= local
    region = without_overlay_parts(subject, covered, MOSTLY_OVERLAY, keep_largest=True)
    return region if region.any() else subject


def _is_corner(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    x0, y0, x1, y1 = box
    horizontal = x0 < 0.25 * width or x1 > 0.75 * width
    vertical = y0 < 0.2 * height or y1 > 0.8 * height
    return horizontal and vertical


def _product_detail(text: str, height: float, on_product: float, short_side: int) -> bool:
    """One or two large Latin letters or digits read off a shape that touches the product are a
    product detail (a megaphone's handle read as "U", a pair of round shapes as "00"), not a line
    of text. Small ones are print (part of a word the detector split up), which must stay.
    `on_product` is the share of the line's glyph pixels on the product."""
    return (
        height > SMALL_TEXT * short_side
        and on_product >= LONE_GLYPH_ON_SUBJECT
        and _LONE_GLYPH.fullmatch(normalise_text(text)) is not None
    )


def _looks_like_brand_word(text: str) -> bool:
    words = text.split()
    return len(words) == 1 and bool(re.fullmatch(r"[A-Za-z][A-Za-z&'.\-]{2,}", words[0]))


def detect_elements(
    image: Image.Image | np.ndarray, subject_alpha: np.ndarray | None = None
) -> list[Element]:
    """Find the removable elements of an image and classify them into the four API types.

    Detection runs once; recognition only on the lines whose type depends on their words (not
    tiles of a repeated watermark, not text in a colour block), plus one line per watermark
    group so the element still carries its text."""
    rgb = to_rgb_array(image)
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    subject = cut_out = None
    if subject_alpha is not None:
        alpha = np.asarray(subject_alpha)
        if alpha.shape != (height, width):
            raise ValueError(f"subject_alpha shape {alpha.shape} does not match image {(height, width)}")
        # Printed text may sit where the cut-out sees a hole (a label inside a pretzel's loop, the
        # pale face of a megaphone drawn as an outline): enclosed holes are product for this test.
        cut_out = alpha > SUBJECT_THRESHOLD
        subject = fill_holes(cut_out)
    boxes = ocr.detect_boxes(rgb, subject)
    glyph_list = [glyph_mask(rgb, lab, box.quad) for box in boxes]
    # A very tall "line" is a product feature unless it is faint (a large stamp or overlay).
    keep = [
        index
        for index, glyphs in enumerate(glyph_list)
        if glyphs is not None
        and (glyphs.height <= MAX_TEXT_SHARE * min(height, width) or glyphs.contrast < FAINT_CONTRAST)
    ]
    boxes = [boxes[index] for index in keep]
    glyph_list = [glyph_list[index] for index in keep]
    groups = repeated_lines(boxes, width, height)
    level = [
        group
        for group in groups
        if abs(float(np.median([text_angle(boxes[i].quad) for i in group]))) < HORIZONTAL_DEGREES
    ]
    repeated = {index for group in groups if group not in level for index in group}
    # Round stamps; the words inside one are part of it (type 1 with it), and a word the
    # detector missed on the same line is picked up by reading the glyphs along the chord.
    # The cut-out as it is: filling its holes would turn a stamp it traced into a solid disc.
    stamps = find_stamps(rgb, [tuple(box.quad.mean(axis=0)) for box in boxes[:STAMP_HINTS]], cut_out)
    stamp_lines: dict[int, list[int]] = {}
    for number, stamp in enumerate(stamps):
        inner = stamp.rings[0][0]
        members = [
            index
            for index, box in enumerate(boxes)
            if np.hypot(*(box.quad.mean(axis=0) - np.array(stamp.center))) < 0.8 * inner
        ]
        stamp_lines[number] = members
        for index in members:
            chord = chord_quad(boxes[index].quad, stamp.center, 0.95 * inner)
            extended = glyph_mask(rgb, lab, chord) if chord is not None else None
            if extended is not None:
                glyphs = glyph_list[index]
                glyphs.box, glyphs.mask = union(glyphs.box, glyphs.mask, extended.box, extended.mask)
        repeated.update(members)
    blocks: list[tuple[Box, np.ndarray] | None] = []
    for index, text_box in enumerate(boxes):
        block = None
        # Tiles of a faint repeated watermark are not banner text: skip the costly block search.
        if index not in repeated or glyph_list[index].contrast >= 1.6 * FAINT_CONTRAST:
            block = colour_block(rgb, lab, text_box.quad)
        blocks.append(block)
    if subject is not None:
        overlays = [(glyphs.box, glyphs.mask) for glyphs in glyph_list]
        overlays += [block for block in blocks if block is not None]
        overlays += [(stamp.box, stamp.mask) for stamp in stamps]
        subject = _product_region(subject, overlays)
        blocks = [
            None if block is not None and share_on(subject, *block) > BLOCK_MAX_ON_SUBJECT else block
            for block in blocks
        ]
    to_read = [index for index in range(len(boxes)) if index not in repeated and blocks[index] is None]
    tilted = [group for group in groups if group not in level]
    for group in tilted:
        to_read.append(max(group, key=lambda i: float(max(cv2.minAreaRect(boxes[i].quad)[1]))))
    # Every line inside a stamp is read: a product seen through the stamp may be among them.
    for members in stamp_lines.values():
        to_read.extend(members)
    ocr.recognise(rgb, [boxes[index] for index in to_read])
    if subject is not None:
        # A product inside a stamp read as one or two characters ("00" off a pair of round
        # shapes) is not the stamp's word: it goes on as a line of its own, a product detail.
        for members in stamp_lines.values():
            details = [
                i
                for i in members
                if _product_detail(
                    boxes[i].text,
                    glyph_list[i].height,
                    share_on(subject, glyph_list[i].box, glyph_list[i].mask),
                    min(height, width),
                )
            ]
            for index in details:
                members.remove(index)
                repeated.discard(index)
    stamp_texts = [
        " ".join(boxes[i].text.strip() for i in members if boxes[i].text.strip())
        for members in stamp_lines.values()
    ]
    # Level groups: repeated only when their words repeat.
    for group in level:
        members = [i for i in group if blocks[i] is None]
        same = repeated_texts([boxes[i] for i in members])
        repeated.update(members[i] for i in same)
    for group in tilted:
        text = next((boxes[i].text for i in group if boxes[i].text.strip()), "")
        for index in group:
            if not boxes[index].text.strip():
                boxes[index].text = text
    stamp_members = {index for members in stamp_lines.values() for index in members}
    for group in groups:
        tiles = [index for index in group if index in repeated and index not in stamp_members]
        trim_tiles(boxes, glyph_list, tiles, rgb.shape)
    # A recognised line read as nothing (or barely anything) is a product detail, not text.
    read = set(to_read) - repeated
    dropped = {i for i in read if not boxes[i].text.strip() or boxes[i].score < MIN_TEXT_SCORE}
    boxes, glyph_list, blocks, repeated = _drop(boxes, glyph_list, blocks, repeated, dropped)
    elements: list[Element] = []
    for index, text_box in enumerate(boxes):
        glyphs = glyph_list[index]
        block = blocks[index]
        box, mask = union(glyphs.box, glyphs.mask, *block) if block is not None else (glyphs.box, glyphs.mask)
        inside = share_on(subject, box, mask) if subject is not None else 0.0
        text = text_box.text.strip()
        # Without a block, `inside` is the share of the line's glyph pixels on the product.
        if (
            block is None
            and index not in repeated
            and subject is not None
            and _product_detail(text, glyphs.height, inside, min(height, width))
        ):
            continue
        angle = text_angle(text_box.quad)
        small = glyphs.height <= SMALL_TEXT * min(width, height)
        features = {
            "contrast": glyphs.contrast,
            "coverage": glyphs.coverage,
            "height": glyphs.height,
            "angle": angle,
            "inside": inside,
            "repeated": float(index in repeated),
            "block": float(block is not None),
        }
        if block is not None:
            kind = COLOUR_BLOCK
        elif index in repeated:
            kind = SEMI_TRANSPARENT
        elif _NAME_MARKS.search(text):
            kind = SPECIFIC_NAME
        elif glyphs.contrast < FAINT_CONTRAST:
            kind = SEMI_TRANSPARENT
        elif small and abs(angle) < 5 and (_is_corner(box, width, height) or _SHOP_WORDS.search(text)):
            kind = SPECIFIC_NAME
        else:
            kind = CHARACTER
        # Printed on the product: lies on it entirely and is neither an overlay watermark nor a
        # promo block.
        on_subject = kind in (SPECIFIC_NAME, CHARACTER) and inside >= 0.9
        if on_subject and _looks_like_brand_word(text):
            kind = SPECIFIC_NAME
        elements.append(
            Element(
                type=kind,
                box=box,
                polygon=[(float(x), float(y)) for x, y in text_box.quad],
                text=text,
                confidence=text_box.score,
                on_subject=on_subject,
                local_mask=mask,
                features=features,
            )
        )
    for stamp, text in zip(stamps, stamp_texts, strict=True):
        x, y = stamp.center
        outer = stamp.rings[-1][1]
        elements.append(
            Element(
                type=SEMI_TRANSPARENT,
                box=stamp.box,
                polygon=[
                    (x - outer, y - outer),
                    (x + outer, y - outer),
                    (x + outer, y + outer),
                    (x - outer, y + outer),
                ],
                text=text,
                confidence=1.0,
                on_subject=False,
                local_mask=stamp.mask,
                features={"stamp": 1.0, "rings": float(len(stamp.rings))},
            )
        )
    return _merge_blocks(elements)


def _drop(
    boxes: list[TextBox],
    glyph_list: list[Glyphs],
    blocks: list[tuple[Box, np.ndarray] | None],
    repeated: set[int],
    dropped: set[int],
) -> tuple[list[TextBox], list[Glyphs], list[tuple[Box, np.ndarray] | None], set[int]]:
    kept = [i for i in range(len(boxes)) if i not in dropped]
    renumber = {old: new for new, old in enumerate(kept)}
    return (
        [boxes[i] for i in kept],
        [glyph_list[i] for i in kept],
        [blocks[i] for i in kept],
        {renumber[i] for i in repeated if i in renumber},
    )


def _merge_blocks(elements: list[Element]) -> list[Element]:
    """Several text lines inside one banner are one colour-block element."""
    merged: list[Element] = []
    for element in elements:
        if element.type == COLOUR_BLOCK:
            for other in merged:
                if other.type != COLOUR_BLOCK:
                    continue
                shared = overlap(other.box, other.local_mask, element.box, element.local_mask)
                if shared > 0.5 * min(other.local_mask.sum(), element.local_mask.sum()):
                    other.box, other.local_mask = union(
                        other.box, other.local_mask, element.box, element.local_mask
                    )
                    other.text = f"{other.text}\n{element.text}".strip()
                    other.confidence = max(other.confidence, element.confidence)
                    break
            else:
                merged.append(element)
        else:
            merged.append(element)
    return merged
