"""Erase elements: find watermarks, shop names, promo text and colour blocks, and paint them out.

Pure engine (numpy / Pillow in and out, no Django). Element types follow the Aidge "Image
Elements Removal" API: 1 semi-transparent element, 2 specific name, 3 character, 4 colour block
with characters. `object_types` apply to elements printed on the product (the subject),
`non_object_types` to everything else; a watermark that merely crosses the product is not
printed on it, so it follows `non_object_types`.

Text is found by PP-OCR (RapidOCR, ONNX Runtime) whose weights ship inside the `rapidocr` wheel:
nothing is fetched at run time. Each detection is then turned into a tight pixel mask (glyph
strokes against a locally estimated background, then grown over anti-aliasing), a colour block
is grown to its whole extent, and the type is decided from faintness, repetition, placement,
the surrounding block and the recognised text.

Round stamps (seal watermarks: two or more concentric thin rings, the words in the middle) are
found beside the text detector, by gradient voting for circle centres and a radial profile
around each candidate; they are type 1 with the words inside them.

Cost: the text detector sees the whole image at 640 px (large words are found more reliably
there than at 1024 px) and, when lines lie on the product, that part again at 1024 px scale for
small print (ONNX sessions built once per process, two intra-op threads); the recogniser runs in
one batch, only on lines whose type depends on their words (tiles of a tilted repeated
watermark are grouped by geometry, text inside a colour block is type 4 whatever it says), plus
one line per watermark group or stamp so the element carries its text. Crops are inpainted two
at a time.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from processing.engines.erase_inpaint import METHODS, SUBJECT_THRESHOLD, inpaint_array, without_overlay_parts
from processing.engines.erase_rle import InvalidMask, decode_rle_mask, encode_rle_mask

__all__ = [
    "ALL_TYPES",
    "Element",
    "EraseResult",
    "InvalidMask",
    "METHODS",
    "TYPE_NAMES",
    "build_removal_mask",
    "decode_rle_mask",
    "detect_elements",
    "detect_text",
    "encode_rle_mask",
    "inpaint",
    "remove_elements",
]

SEMI_TRANSPARENT, SPECIFIC_NAME, CHARACTER, COLOUR_BLOCK = 1, 2, 3, 4
TYPE_NAMES = {
    SEMI_TRANSPARENT: "semi_transparent",
    SPECIFIC_NAME: "specific_name",
    CHARACTER: "character",
    COLOUR_BLOCK: "colour_block_with_characters",
}
ALL_TYPES = frozenset(TYPE_NAMES)

# The detector sees the image at most this large (long side); bigger photos are scaled down for
# detection only, masks are built at full resolution.
DETECT_LONG_SIDE = 640
# The product's box is looked at again at this scale (long side of the whole image) for small
# print on it.
DETECT_FINE_SIDE = 1024
# Coarse lines at least this much on the product give way to the fine pass.
FINE_REPLACES_ON_SUBJECT = 0.9
# Below the package defaults (0.3 / 0.5) so faint watermarks are not dropped; the glyph mask
# step rejects boxes with nothing in them.
DET_THRESH, DET_BOX_THRESH = 0.2, 0.3
# Glyph masks: strokes are grown by GLYPH_GROW + height/30 pixels over their anti-aliased fringe;
# fringe pixels count from this share of the stroke threshold.
GLYPH_GROW, GLYPH_WEAK = 1, 0.45
# Kept printed text is protected this many pixels beyond its mask (its anti-aliased fringe).
KEEP_MARGIN = 2
# A kept printed line also keeps pixels of its ink colour (within this Lab distance) up to this
# many letter heights beyond its ends (letters a crossing watermark hid from the detector).
KEEP_LINE_REACH, KEEP_INK_DISTANCE = 3.0, 22.0
# Lines within this many degrees of level are "horizontal" for the repetition test.
HORIZONTAL_DEGREES = 3.0
# Lines taller than this share of the short side are not text unless faint (the detector
# sometimes boxes a large product feature).
MAX_TEXT_SHARE = 0.3
# Recognised lines below this score, or read as nothing, are not text.
MIN_TEXT_SCORE = 0.3
# ONNX Runtime intra-op threads per session (the target machine has two cores).
ORT_THREADS = 2

# Glyphs closer than this to their background (Lab distance) read as a semi-transparent overlay.
FAINT_CONTRAST = 45.0
# A "block" that is mostly product is the product's own surface, not a banner.
BLOCK_MAX_ON_SUBJECT = 0.5
# A separate part of the cut-out at least this much covered by detected overlays is one of them.
MOSTLY_OVERLAY = 0.5
# Lines whose baselines differ by less than this are the same text when one is centred in the other.
SAME_LINE_DEGREES = 10.0
# Text lines no taller than this share of the photo's short side are small print.
SMALL_TEXT = 0.05
# One or two large letters or digits at least this much on the product are a product detail read as text.
LONE_GLYPH_ON_SUBJECT = 0.2
# Pixels a colour block is grown by to cover its anti-aliased edge.
BLOCK_EDGE = 2

# Round stamps (seal watermarks): searched at this long side; ring radii between these shares
# of it; a ring edge is a radius where at least STAMP_EDGE_SHARE of the directions change colour
# (by more than STAMP_EDGE_STEP in Lab, summed) and STAMP_EDGE_EXCESS more than at nearby radii;
# a ring band is at most STAMP_MAX_BAND of its radius wide.
STAMP_SIDE = 1024
STAMP_MIN_RADIUS, STAMP_MAX_RADIUS = 0.04, 0.75
STAMP_ANGLES = 120
STAMP_EDGE_STEP = 4.0
STAMP_EDGE_SHARE, STAMP_EDGE_EXCESS = 0.6, 0.15
STAMP_MAX_BAND = 0.15
STAMP_MAX_EDGES = 6000
STAMP_CANDIDATES = 3
# At most this many text line centres are tried as stamp centres.
STAMP_HINTS = 12
# Summed excess of the four sharpest radii of a stamp centre (at the coarse size), at least;
# a text line centre is climbed from when it scores STAMP_HINT_SCORE.
STAMP_MIN_SCORE = 0.8
STAMP_HINT_SCORE = 0.7
STAMP_START_SCORE = 0.35
# Hill-climbing moves per candidate, and candidates climbed from, at most.
STAMP_MAX_MOVES = 12
STAMP_MAX_CLIMBS = 4
# Rings lying mostly on the product are its own outline or rim, not a stamp.
STAMP_MAX_ON_SUBJECT = 0.5
# Tiles of one watermark needed to vote on its letters.
TILE_VOTERS = 3
# Largest tile frame worth aligning (pixels); bigger tiles keep their own masks.
TILE_FRAME_PIXELS = 1_500_000
# A tile is trimmed only when its own mask holds this share of the shared letters (it is aligned).
TILE_HOLDS_LETTERS = 0.7
# Phase-correlation peak below which a tile's alignment is not trusted.
TILE_MATCH = 0.15
# Largest alignment move of a whole tile, in text heights.
TILE_MAX_SHIFT = 0.5
# Pixels a tile keeps around the shared letters (alignment error, anti-aliasing).
TILE_REACH = 3
# Pixels kept clear of the rings when reading the gaps between them (anti-aliasing, a loose cut-out).
STAMP_GAP_MARGIN = 2.0
# Ring bands are grown by this many pixels (plus half a working pixel) over anti-aliasing.
STAMP_EDGE_PAD = 1.0
# A run of edge radii at least this long (working pixels) is a thin ring's two edges in one.
STAMP_THIN_RING = 8

# Shop / brand markers; the © family is the strongest signal of a "specific name".
_LONE_GLYPH = re.compile(r"[A-Z0-9]{1,2}")
_NAME_MARKS = re.compile(r"[©®™]|\(c\)", re.IGNORECASE)
_SHOP_WORDS = re.compile(
    r"旗舰店|专营店|专卖店|官方店|商城|优选|小店|家居|数码|store|shop|mall|official|\bco\b|\binc\b|\bltd\b",
    re.IGNORECASE,
)


@dataclass
class TextBox:
    quad: np.ndarray  # 4x2 float, full-resolution pixel coordinates
    text: str
    score: float


# x0, y0, x1, y1 (exclusive) in image pixels.
Box = tuple[int, int, int, int]


@dataclass
class Element:
    """One removable element. Its pixel mask is stored only inside `box` (a full-size mask per
    element would cost height x width bytes each: 9 MB on a 3000 px photo); `full_mask` and
    `paint_into` give it at image size when needed."""

    type: int
    box: Box  # x0, y0, x1, y1 (exclusive) of the mask's set pixels
    polygon: list[tuple[float, float]]
    text: str
    confidence: float
    on_subject: bool
    local_mask: np.ndarray = field(repr=False)  # bool (y1 - y0) x (x1 - x0): the mask inside `box`
    features: dict[str, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        if self.local_mask.shape != (y1 - y0, x1 - x0):
            raise ValueError(f"local_mask shape {self.local_mask.shape} does not match box {self.box}")

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.type]

    def paint_into(self, canvas: np.ndarray) -> None:
        """Set the element's pixels in a bool HxW image-size canvas (or-ed in, nothing cleared)."""
        x0, y0, x1, y1 = self.box
        canvas[y0:y1, x0:x1] |= self.local_mask

    def full_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """The element's pixels as a new bool HxW mask for an image of `shape` (height, width, ...).
        Image size: build it when needed and let it go."""
        mask = np.zeros(shape[:2], bool)
        self.paint_into(mask)
        return mask

    def mask_in(self, window: Box) -> np.ndarray:
        """The element's pixels inside `window` (x0, y0, x1, y1 exclusive), as a new bool array."""
        return _window_of(self.box, self.local_mask, window)


@dataclass
class EraseResult:
    image: Image.Image
    mask: np.ndarray  # uint8 HxW, 255 = erased
    elements: list[Element]


# --- detector (PP-OCR via RapidOCR), cached per process -------------------------------------

_ocr_lock = threading.Lock()
_run_lock = threading.Lock()
_ocr: Any = None


def rapidocr_model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def get_ocr() -> Any:
    """The RapidOCR pipeline, built once; model paths are pinned to the wheel's own files so the
    package never tries its download fallback. Its ONNX Runtime sessions are reused for every
    image (two intra-op threads: the target machine has two cores)."""
    global _ocr
    if _ocr is None:
        with _ocr_lock:
            if _ocr is None:
                from rapidocr import RapidOCR

                models = rapidocr_model_dir()
                params = {
                    "Global.log_level": "error",
                    "Global.use_cls": False,
                    "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
                    "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
                    "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
                    "Det.limit_type": "max",
                    "Det.limit_side_len": DETECT_LONG_SIDE,
                    "Det.thresh": DET_THRESH,
                    "Det.box_thresh": DET_BOX_THRESH,
                    "Global.text_score": 0.3,
                    "EngineConfig.onnxruntime.intra_op_num_threads": ORT_THREADS,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
                for path in (params["Det.model_path"], params["Rec.model_path"]):
                    if not Path(path).is_file():
                        raise RuntimeError(f"OCR model missing from the rapidocr package: {path}")
                ocr = RapidOCR(params=params)
                ocr._load_det_model()
                ocr._load_rec_model()
                _ocr = ocr
    return _ocr


def to_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.array(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8, copy=False)


def _run_detector(bgr: np.ndarray, limit: int) -> list[TextBox]:
    detector = get_ocr()._load_det_model()
    with _run_lock:
        detector.limit_side_len = int(limit)
        result = detector(bgr)
    if result is None or result.boxes is None:
        return []
    scores = list(result.scores if result.scores is not None else [1.0] * len(result.boxes))
    return [
        TextBox(np.asarray(quad, np.float32), "", float(score))
        for quad, score in zip(result.boxes, scores, strict=False)
    ]


def detect_boxes(rgb: np.ndarray, subject: np.ndarray | None = None) -> list[TextBox]:
    """Text line quadrilaterals only (no recognition); `text` is empty and `score` is the
    detector's box score.

    The whole image is seen at most DETECT_LONG_SIDE on the long side: large promo words and
    watermarks are found more reliably at that size than at a finer one, at a third of the cost.
    Small print on the product (which must be told apart from a watermark over it to be kept)
    needs more pixels: with a `subject` mask, the product's box is looked at again at
    DETECT_FINE_SIDE scale; its lines replace the coarse lines lying on the product and fill
    gaps elsewhere."""
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    height, width = rgb.shape[:2]
    boxes = _run_detector(bgr, DETECT_LONG_SIDE)
    if subject is None or not subject.any() or max(height, width) <= DETECT_LONG_SIDE:
        return boxes
    pad = 16
    x0, y0, x1, y1 = _mask_box(subject)
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)
    scale = min(1.0, DETECT_FINE_SIDE / max(height, width))
    limit = max(32, int(round(max(x1 - x0, y1 - y0) * scale)))
    if limit <= 32:
        return boxes
    # On the product the fine lines replace the coarse ones (at 640 px a printed word and a
    # watermark or product strokes next to it can merge into one line, or product details
    # read as text); elsewhere they only fill gaps.
    kept = []
    for box in boxes:
        inside = _poly_mask(subject.shape, box.quad)
        if not inside.any() or float(subject[inside].mean()) < FINE_REPLACES_ON_SUBJECT:
            kept.append(box)
    for box in _run_detector(np.ascontiguousarray(bgr[y0:y1, x0:x1]), limit):
        quad = box.quad + np.array([x0, y0], np.float32)
        centre = (float(quad[:, 0].mean()), float(quad[:, 1].mean()))
        # A fine line centred in a kept coarse line is the same text seen again, unless it runs
        # at another angle: small print on the product crossed by a tilted watermark tile.
        if any(
            cv2.pointPolygonTest(other.quad, centre, False) >= 0
            and _angle_gap(_text_angle(quad), _text_angle(other.quad)) < SAME_LINE_DEGREES
            for other in kept
        ):
            continue
        kept.append(TextBox(quad, "", box.score))
    return kept


def recognise(rgb: np.ndarray, boxes: list[TextBox]) -> None:
    """Fill in `text` and `score` of the given lines, in one batched recognition pass."""
    if not boxes:
        return
    from rapidocr.ch_ppocr_rec import TextRecInput
    from rapidocr.utils.process_img import get_rotate_crop_image

    ocr = get_ocr()
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    crops = [get_rotate_crop_image(bgr, box.quad.copy()) for box in boxes]
    with _run_lock:
        result = ocr._load_rec_model()(TextRecInput(img=crops))
    for box, text, score in zip(boxes, result.txts, result.scores, strict=False):
        box.text, box.score = str(text), float(score)


def detect_text(rgb: np.ndarray) -> list[TextBox]:
    """Raw text lines: quadrilateral, recognised text and score (lines read as nothing, or below
    the recognition score floor, are dropped)."""
    boxes = detect_boxes(rgb)
    recognise(rgb, boxes)
    return [box for box in boxes if box.text.strip() and box.score >= 0.3]


# --- geometry helpers -----------------------------------------------------------------------


def _grown_quad(quad: np.ndarray, pad: float) -> np.ndarray:
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad.astype(np.float32))
    return cv2.boxPoints(((cx, cy), (w + 2 * pad, h + 2 * pad), angle))


def _text_height(quad: np.ndarray) -> float:
    _, (w, h), _ = cv2.minAreaRect(quad.astype(np.float32))
    return float(max(2.0, min(w, h)))


def _text_angle(quad: np.ndarray) -> float:
    """Baseline angle in degrees (-90, 90], from the long side of the box."""
    q = quad.astype(np.float64)
    edges = [q[(i + 1) % 4] - q[i] for i in range(4)]
    longest = max(edges, key=lambda e: float(np.hypot(*e)))
    angle = float(np.degrees(np.arctan2(-longest[1], longest[0])))
    if angle <= -90:
        angle += 180
    if angle > 90:
        angle -= 180
    return angle


def _angle_gap(a: float, b: float) -> float:
    gap = abs(a - b) % 180
    return min(gap, 180 - gap)


def _poly_mask(shape: tuple[int, int], quad: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    points = np.round(quad - np.array(offset, np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [points], 1)
    return mask.astype(bool)


def _disk(radius: int) -> np.ndarray:
    radius = max(1, int(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


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


def _mask_box(mask: np.ndarray) -> Box:
    """x0, y0, x1, y1 (exclusive) of the set pixels of a non-empty bool mask."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    return (int(x), int(y), int(x + w), int(y + h))


# Masks are kept box-local: a box (x0, y0, x1, y1 exclusive, image pixels) and a bool array of
# its shape. These helpers never build an image-size array.


def _tight(mask: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[Box, np.ndarray]:
    """A bool mask lying in a window whose top-left corner is (x0, y0), cut down to its set
    pixels: their box in image pixels and a copy of the mask inside it (a copy, so the window's
    array is not kept alive). Empty: box (0, 0, 0, 0), as `_mask_box` of an empty mask."""
    if mask.size == 0:
        return (0, 0, 0, 0), np.zeros((0, 0), bool)
    bx0, by0, bx1, by1 = _mask_box(mask)
    if bx1 == bx0 or by1 == by0:
        return (0, 0, 0, 0), np.zeros((0, 0), bool)
    x0, y0 = int(x0), int(y0)
    return (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1), mask[by0:by1, bx0:bx1].copy()


def _window_of(box: Box, local: np.ndarray, window: Box) -> np.ndarray:
    """A box-local mask seen through `window`: a new bool array of the window's shape."""
    wx0, wy0, wx1, wy1 = (int(v) for v in window)
    out = np.zeros((max(0, wy1 - wy0), max(0, wx1 - wx0)), bool)
    x0, y0, x1, y1 = box
    ix0, iy0, ix1, iy1 = max(x0, wx0), max(y0, wy0), min(x1, wx1), min(y1, wy1)
    if ix0 < ix1 and iy0 < iy1:
        out[iy0 - wy0 : iy1 - wy0, ix0 - wx0 : ix1 - wx0] = local[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
    return out


def _union(box_a: Box, a: np.ndarray, box_b: Box, b: np.ndarray) -> tuple[Box, np.ndarray]:
    """Pixels set in either box-local mask, as a box-local mask tight on its set pixels."""
    if not b.size:
        return _tight(a, box_a[0], box_a[1])
    if not a.size:
        return _tight(b, box_b[0], box_b[1])
    window = (
        min(box_a[0], box_b[0]),
        min(box_a[1], box_b[1]),
        max(box_a[2], box_b[2]),
        max(box_a[3], box_b[3]),
    )
    merged = _window_of(box_a, a, window)
    merged |= _window_of(box_b, b, window)
    return _tight(merged, window[0], window[1])


def _overlap(box_a: Box, a: np.ndarray, box_b: Box, b: np.ndarray) -> int:
    """Number of pixels set in both box-local masks."""
    ix0, iy0 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    ix1, iy1 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if ix0 >= ix1 or iy0 >= iy1:
        return 0
    window = (ix0, iy0, ix1, iy1)
    return int((_window_of(box_a, a, window) & _window_of(box_b, b, window)).sum())


def _share_on(subject: np.ndarray, box: Box, local: np.ndarray) -> float:
    """Share of a box-local mask's pixels that lie on the subject (NaN when it has none, as the
    mean of an empty selection)."""
    x0, y0, x1, y1 = box
    return float(subject[y0:y1, x0:x1][local].mean())


def _normalise_text(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).upper()


# --- per-detection analysis -----------------------------------------------------------------


@dataclass
class _Glyphs:
    box: Box  # of the set pixels of `mask`
    mask: np.ndarray  # bool, inside `box`
    contrast: float  # typical colour distance (Lab) of glyph pixels from the background
    coverage: float  # glyph pixels / text box pixels
    height: float


def _smooth_background(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """What the box would look like without its text: a Telea fill from around it, computed at
    half resolution when the box is large (the estimate is smooth anyway, at a quarter the cost)."""
    height, width = hole.shape
    if min(height, width) < 48:
        return cv2.inpaint(crop, hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    size = (width // 2, height // 2)
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
    filled = cv2.inpaint(small, small_hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    return cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)


def _glyph_mask(rgb: np.ndarray, lab: np.ndarray, quad: np.ndarray) -> _Glyphs | None:
    """Glyph strokes of one text line: pixels that stand out from the background that a smooth
    fill from around the box predicts, grown over their anti-aliased fringe."""
    height, width = rgb.shape[:2]
    text_h = _text_height(quad)
    pad = max(3.0, 0.3 * text_h)
    ring = max(4.0, 0.25 * text_h)
    inner_quad = _grown_quad(quad, pad)
    outer_quad = _grown_quad(quad, pad + ring)
    x0, y0 = np.floor(outer_quad.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(outer_quad.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    shape = (y1 - y0, x1 - x0)
    inner = _poly_mask(shape, inner_quad, (x0, y0))
    if not inner.any() or inner.all():
        return None
    crop = rgb[y0:y1, x0:x1]
    background = _smooth_background(crop, inner)
    crop_lab = lab[y0:y1, x0:x1]
    background_lab = cv2.cvtColor(background, cv2.COLOR_RGB2LAB).astype(np.float32)
    distance = np.linalg.norm(crop_lab - background_lab, axis=2)
    values = distance[inner]
    # Background texture sets the noise floor: a box over a wooden table differs from its
    # smooth fill everywhere a little.
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = np.abs(gray - cv2.blur(gray, (5, 5)))
    surround = ~inner & _poly_mask(shape, outer_quad, (x0, y0))
    noise = float(np.median(detail[surround])) if surround.any() else 1.0
    scaled = np.clip(values * (255.0 / max(values.max(), 1.0)), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = float(otsu) * max(values.max(), 1.0) / 255.0
    threshold = max(threshold, 5.0 + 2.5 * noise)
    strong = (distance > threshold) & inner
    if strong.sum() < 6:
        return None
    contrast = float(np.percentile(distance[strong], 75))
    grow = int(round(GLYPH_GROW + text_h / 30))
    near = cv2.dilate(strong.astype(np.uint8), _disk(grow + 2)).astype(bool)
    # Hysteresis: faint fringe pixels count when they touch a stroke.
    weak = (distance > max(3.0, GLYPH_WEAK * threshold)) & near
    glyphs = cv2.dilate((strong | weak).astype(np.uint8), _disk(grow)).astype(bool)
    glyphs &= _poly_mask(shape, _grown_quad(quad, pad + grow), (x0, y0))
    box, local = _tight(glyphs, x0, y0)
    return _Glyphs(box, local, contrast, float(strong.sum() / max(1, inner.sum())), text_h)


def _colour_block(rgb: np.ndarray, lab: np.ndarray, quad: np.ndarray) -> tuple[Box, np.ndarray] | None:
    """The uniform coloured shape that encloses a text line (banner, badge, label, ribbon), as a
    box and the mask inside it, or None when the text sits on the open background."""
    text_h = _text_height(quad)
    # A thin ring just outside the detector's box, then one just inside it: the detector's box
    # can overshoot a tight label.
    for outer_pad, inner_pad in ((0.12, 0.0), (0.0, -0.1)):
        block = _block_from_ring(rgb, lab, quad, outer_pad * text_h, inner_pad * text_h)
        if block is not None:
            return block
    return None


def _block_from_ring(
    rgb: np.ndarray, lab: np.ndarray, quad: np.ndarray, outer_pad: float, inner_pad: float
) -> tuple[Box, np.ndarray] | None:
    """Work in a window around the line (a banner is rarely much larger than its text); only
    when the shape runs into the window's edge is the whole frame searched."""
    height, width = rgb.shape[:2]
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    margin = int(max(x1 - x0, y1 - y0)) + 16
    window = (max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin))
    found = _block_in_window(rgb, lab, quad, outer_pad, inner_pad, window)
    if found is None:
        return None
    region, touches = found
    if touches:
        found = _block_in_window(rgb, lab, quad, outer_pad, inner_pad, (0, 0, width, height))
        if found is None:
            return None
        region = found[0]
    return region


def _block_in_window(
    rgb: np.ndarray,
    lab_full: np.ndarray,
    quad: np.ndarray,
    outer_pad: float,
    inner_pad: float,
    window: Box,
) -> tuple[tuple[Box, np.ndarray], bool] | None:
    """The block as a box-local mask, and whether it runs into the window's edge (then the mask
    is the flood region inside the window, untrimmed, and only the flag matters)."""
    full_height, full_width = rgb.shape[:2]
    wx0, wy0, wx1, wy1 = window
    crop = rgb[wy0:wy1, wx0:wx1].copy()
    lab = lab_full[wy0:wy1, wx0:wx1]
    height, width = crop.shape[:2]
    text_h = _text_height(quad)
    offset = (wx0, wy0)
    inner = _poly_mask((height, width), _grown_quad(quad, inner_pad), offset)
    ring = _poly_mask((height, width), _grown_quad(quad, outer_pad), offset) & ~inner
    if ring.sum() < 20:
        return None
    ring_lab = lab[ring]
    # The dominant colour (coarse histogram mode), not the median: glyph strokes may poke in.
    bins = (ring_lab // 8).astype(np.int64)
    keys = bins[:, 0] * 1_000_000 + bins[:, 1] * 1_000 + bins[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    median = ring_lab[keys == values[counts.argmax()]].mean(axis=0)
    distance = np.linalg.norm(ring_lab - median, axis=1)
    if (distance < 12).mean() < 0.7:
        return None
    ys, xs = np.nonzero(ring)
    flood = np.zeros((height + 2, width + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    tolerance = (16, 16, 16)
    # Several seeds: a watermark stroke crossing the block can cut it into pieces.
    order = np.argsort(distance)
    for seed_index in order[: max(1, int((distance < 12).sum()))][:: max(1, len(order) // 64)][:12]:
        x, y = int(xs[seed_index]), int(ys[seed_index])
        if flood[y + 1, x + 1]:
            continue
        cv2.floodFill(crop, flood, (x, y), (0, 0, 0), tolerance, tolerance, flags)
    region = flood[1:-1, 1:-1].astype(bool)
    area = int(region.sum())
    text_area = int(inner.sum())
    if area > 0.3 * full_height * full_width:
        return None
    touches = bool(
        (wx0 > 0 and region[:, 0].any())
        or (wy0 > 0 and region[0].any())
        or (wx1 < full_width and region[:, -1].any())
        or (wy1 < full_height and region[-1].any())
    )
    if touches:
        return (window, region), True
    region = _fill_holes(cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_CLOSE, _disk(2)).astype(bool))
    if region.sum() < 1.15 * text_area:
        return None
    # The text must lie inside the shape, and the shape must be compact (a block, not a
    # patch of product surface wandering along a gradient).
    if (inner & ~region).sum() > 0.1 * text_area or text_h > 0.5 * min(full_height, full_width):
        return None
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull_area = sum(cv2.contourArea(cv2.convexHull(contour)) for contour in contours)
    if hull_area <= 0 or region.sum() / hull_area < 0.85:
        return None
    border = cv2.dilate(region.astype(np.uint8), _disk(4)).astype(bool) & ~region
    if border.any():
        outside = np.median(lab[border], axis=0)
        if np.linalg.norm(outside - median) < 12:
            return None
    # Anti-aliased block edges.
    grown = cv2.dilate(region.astype(np.uint8), _disk(BLOCK_EDGE)).astype(bool)
    return _tight(grown, wx0, wy0), False


# --- round stamps -------------------------------------------------------------------------


@dataclass
class _Stamp:
    center: tuple[float, float]  # full-resolution pixels
    rings: list[tuple[float, float]]  # (inner, outer) radius of each ring band, full resolution
    box: Box  # of the set pixels of `mask`
    mask: np.ndarray  # bool, inside `box`: the ring bands, grown over their anti-aliased edges


def _ring_profile(lab: np.ndarray, center: tuple[float, float], radius: int) -> np.ndarray:
    """Per radius, the share of directions (among those inside the frame) in which the colour
    changes along the ray: a circle centred here shows as a peak near 1, texture and edges of
    other shapes spread over all radii."""
    height, width = lab.shape[:2]
    flags = cv2.WARP_POLAR_LINEAR | cv2.WARP_FILL_OUTLIERS | cv2.INTER_LINEAR
    polar = cv2.warpPolar(lab, (radius, STAMP_ANGLES), center, radius, flags)
    step = np.zeros(polar.shape[:2], np.float32)
    summed = cv2.transform(cv2.absdiff(polar[:, 2:], polar[:, :-2]), np.ones((1, 3), np.float32))
    step[:, 1:-1] = summed.reshape(step.shape[0], -1)
    angles = np.arange(STAMP_ANGLES, dtype=np.float32) * (2 * np.pi / STAMP_ANGLES)
    radii = np.arange(radius, dtype=np.float32)
    xs = center[0] + np.cos(angles)[:, None] * radii[None, :]
    ys = center[1] + np.sin(angles)[:, None] * radii[None, :]
    usable = (xs >= 1) & (xs <= width - 2) & (ys >= 1) & (ys <= height - 2)
    usable[:, [0, -1]] = False
    count = usable.sum(axis=0)
    share = ((step > STAMP_EDGE_STEP) & usable).sum(axis=0) / np.maximum(count, 1)
    return np.where(count >= STAMP_ANGLES // 4, share, 0.0).astype(np.float32)


def _ring_edges(profile: np.ndarray, min_radius: int) -> tuple[list[tuple[float, float]], float]:
    """Radii where the profile stands well above its neighbourhood (textured backgrounds raise
    the whole profile; a ring edge is a sharp peak on top of it), as runs (first, last radius),
    and the summed excess of the strongest peaks (how clearly circles are centred here)."""
    baseline = (
        cv2.medianBlur(np.clip(profile * 255, 0, 255).astype(np.uint8).reshape(1, -1), 15)
        .ravel()
        .astype(np.float32)
        / 255
    )
    excess = profile - baseline
    excess[:min_radius] = 0
    strong = (profile >= STAMP_EDGE_SHARE) & (excess >= STAMP_EDGE_EXCESS)
    runs: list[tuple[float, float]] = []
    start = previous = -10
    for radius in [*np.flatnonzero(strong).tolist(), -10]:
        if radius != previous + 1:
            if previous >= 0:
                runs.append((float(start), float(previous)))
            start = radius
        previous = radius
    return runs, float(np.sort(excess)[-4:].sum())


def _stamp_centres(gray: np.ndarray, min_radius: int, max_radius: int) -> list[tuple[float, float]]:
    """Circle centres by gradient voting (a Hough transform over all radii at once): every edge
    pixel votes along its gradient, both ways, at every radius in range."""
    height, width = gray.shape
    blurred = cv2.GaussianBlur(gray, (5, 5), 1.2)
    edges = cv2.Canny(blurred, 20, 50) > 0
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    ys, xs = np.nonzero(edges)
    if len(ys) < 50:
        return []
    stride = len(ys) // STAMP_MAX_EDGES + 1
    ys, xs = ys[::stride], xs[::stride]
    magnitude = np.hypot(gx[ys, xs], gy[ys, xs]) + 1e-6
    ux, uy = gx[ys, xs] / magnitude, gy[ys, xs] / magnitude
    radii = np.arange(min_radius, max_radius, 2.0, dtype=np.float32)
    votes = np.zeros(height * width, np.float32)
    for sign in (1.0, -1.0):
        cx = np.rint(xs[:, None] + sign * radii[None, :] * ux[:, None]).astype(np.int32).ravel()
        cy = np.rint(ys[:, None] + sign * radii[None, :] * uy[:, None]).astype(np.int32).ravel()
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        votes += np.bincount(cy[inside] * width + cx[inside], minlength=height * width).astype(np.float32)
    accumulator = cv2.GaussianBlur(votes.reshape(height, width), (0, 0), 1.5)
    centres: list[tuple[float, float]] = []
    spacing = max(4, min_radius // 2)
    for _ in range(STAMP_CANDIDATES):
        y, x = np.unravel_index(int(accumulator.argmax()), accumulator.shape)
        if accumulator[y, x] <= 0:
            break
        centres.append((float(x), float(y)))
        cv2.circle(accumulator, (int(x), int(y)), spacing, 0, -1)
    return centres


def _climb(
    lab: np.ndarray, centre: tuple[float, float], radii: tuple[int, int], steps: tuple[float, ...]
) -> tuple[tuple[float, float], list[tuple[float, float]], float]:
    """Move a circle centre to where the ring profile is sharpest (hill climbing in shrinking
    steps): a centre one pixel off smears every edge over several radii."""
    runs, score = _ring_edges(_ring_profile(lab, centre, radii[1]), radii[0])
    moves = 0
    for step in steps:
        moved = True
        while moved and moves < STAMP_MAX_MOVES:
            moved = False
            moves += 1
            for dx, dy in ((step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)):
                trial = (centre[0] + dx, centre[1] + dy)
                trial_runs, trial_score = _ring_edges(_ring_profile(lab, trial, radii[1]), radii[0])
                if trial_score > score + 1e-6:
                    centre, runs, score, moved = trial, trial_runs, trial_score, True
                    break
    return centre, runs, score


def _chord_quad(quad: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray | None:
    """The text line's box stretched along its baseline to the chord of a circle."""
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad.astype(np.float32))
    if w < h:
        w, h, angle = h, w, angle + 90
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    offset = np.array([cx - centre[0], cy - centre[1]])
    along = float(offset @ direction)
    across2 = float(offset @ offset) - along**2
    if across2 >= radius**2:
        return None
    half = float(np.sqrt(radius**2 - across2))
    t0, t1 = -along - half, -along + half
    middle = np.array([cx, cy]) + direction * (t0 + t1) / 2
    return cv2.boxPoints(((float(middle[0]), float(middle[1])), (t1 - t0, h), angle))


def _find_stamps(
    rgb: np.ndarray, hints: list[tuple[float, float]], subject: np.ndarray | None = None
) -> list[_Stamp]:
    """Round stamps: two or more concentric thin rings, the typical shape of a "seal"
    watermark. Candidate centres come from gradient voting at a
    coarse size and from `hints` (text line centres, full resolution: a stamp's words sit in
    its middle); each is sharpened on the ring profile at the coarse size, then at the working
    size, where the ring edges are read."""
    height, width = rgb.shape[:2]
    fine = min(1.0, STAMP_SIDE / max(height, width))
    coarse = fine / 2

    def level(scale: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        long_side = max(size)
        radii = (max(8, int(STAMP_MIN_RADIUS * long_side)), int(STAMP_MAX_RADIUS * long_side))
        return small, cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32), radii

    small, coarse_lab, coarse_radii = level(coarse)
    fine_level: tuple[np.ndarray, np.ndarray, tuple[int, int]] | None = None  # built on first use
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    voted = _stamp_centres(gray, *coarse_radii)
    hinted = [((hx + 0.5) * coarse - 0.5, (hy + 0.5) * coarse - 0.5) for hx, hy in hints]
    hinted = [h for h in hinted if all(abs(h[0] - x) + abs(h[1] - y) > 8 for x, y in voted)]
    stamps: list[_Stamp] = []
    seen: list[tuple[float, float]] = []
    climbs = 0
    for number, start in enumerate(voted + hinted):
        # A centre is only worth climbing from when circles already show there.
        _, score = _ring_edges(_ring_profile(coarse_lab, start, coarse_radii[1]), coarse_radii[0])
        if score < (STAMP_HINT_SCORE if number >= len(voted) else STAMP_START_SCORE):
            continue
        climbs += 1
        if climbs > STAMP_MAX_CLIMBS:
            break
        centre, _, score = _climb(coarse_lab, start, coarse_radii, (2.0, 1.0, 0.5))
        if score < STAMP_MIN_SCORE:
            continue
        if any(abs(centre[0] - x) < 2 and abs(centre[1] - y) < 2 for x, y in seen):
            continue
        seen.append(centre)
        centre = ((centre[0] + 0.5) * 2 - 0.5, (centre[1] + 0.5) * 2 - 0.5)
        if fine_level is None:
            fine_level = level(fine)
        _, fine_lab, fine_radii = fine_level
        centre, runs, score = _climb(fine_lab, centre, fine_radii, (1.0, 0.5))
        scale = fine
        # A run wider than a sharp step holds both edges of a thin ring; otherwise consecutive
        # edges close together bound a ring band.
        rings: list[tuple[float, float]] = []
        index = 0
        while index < len(runs):
            first, last = runs[index]
            if last - first >= STAMP_THIN_RING:
                rings.append((first, last))
                index += 1
                continue
            if index + 1 < len(runs):
                inner = (first + last) / 2
                outer = sum(runs[index + 1]) / 2
                if (
                    2 <= outer - inner <= max(3.0, STAMP_MAX_BAND * outer)
                    and runs[index + 1][1] - runs[index + 1][0] < STAMP_THIN_RING
                ):
                    rings.append((inner, outer))
                    index += 2
                    continue
            index += 1
        # One circle alone is as likely a plate, a clock or a lamp; a seal has two or more.
        if len(rings) < 2:
            continue
        full_centre = ((centre[0] + 0.5) / scale - 0.5, (centre[1] + 0.5) / scale - 0.5)
        pad = 0.5 / scale + STAMP_EDGE_PAD
        full_rings = [(inner / scale - pad, outer / scale + pad) for inner, outer in rings]
        # Only the square around the outer ring can hold ring pixels (a pixel of margin beyond
        # it): distances are worked out there, not over the whole frame.
        reach = max(r1 for _, r1 in full_rings)
        x0 = min(width, max(0, int(np.floor(full_centre[0] - reach)) - 1))
        y0 = min(height, max(0, int(np.floor(full_centre[1] - reach)) - 1))
        x1 = max(x0, min(width, int(np.ceil(full_centre[0] + reach)) + 2))
        y1 = max(y0, min(height, int(np.ceil(full_centre[1] + reach)) + 2))
        ys, xs = np.ogrid[y0:y1, x0:x1]
        distance = np.sqrt((xs - full_centre[0]) ** 2 + (ys - full_centre[1]) ** 2)
        mask = np.zeros((y1 - y0, x1 - x0), bool)
        for r0, r1 in full_rings:
            mask |= (distance >= r0) & (distance <= r1)
        # Rings that are mostly product are the product's own outline or rim, unless the gaps
        # between them are not: then the cut-out traced the stamp's rings as a salient shape.
        if subject is not None:
            on_product = subject[y0:y1, x0:x1]
            gaps = np.zeros_like(mask)
            for (_, outer), (inner, _) in zip(full_rings, full_rings[1:], strict=False):
                gaps |= (distance > outer + STAMP_GAP_MARGIN) & (distance < inner - STAMP_GAP_MARGIN)
            traced = gaps.any() and on_product[gaps].mean() <= STAMP_MAX_ON_SUBJECT
            if on_product[mask].mean() > STAMP_MAX_ON_SUBJECT and not traced:
                continue
        box, local = _tight(mask, x0, y0)
        stamps.append(_Stamp(full_centre, full_rings, box, local))
    return stamps


# --- classification -------------------------------------------------------------------------


def _is_corner(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    x0, y0, x1, y1 = box
    horizontal = x0 < 0.25 * width or x1 > 0.75 * width
    vertical = y0 < 0.2 * height or y1 > 0.8 * height
    return horizontal and vertical


def _similar_text(a: str, b: str) -> bool:
    if len(a) < 2 or len(b) < 2:
        return False
    if a in b or b in a:
        return True
    match = SequenceMatcher(None, a, b).find_longest_match(0, len(a), 0, len(b))
    return match.size >= 3


def _repeated_lines(boxes: list[TextBox], width: int, height: int) -> list[list[int]]:
    """Groups of lines that repeat across the image (tiled watermarks), from geometry alone so no
    recognition is needed: three or more lines at the same angle and text height, of which at
    least three have about the same length (the same phrase; tiles cut by the frame or split by
    the detector are shorter, and join the group by angle and height)."""
    angles = [_text_angle(box.quad) for box in boxes]
    heights = [_text_height(box.quad) for box in boxes]
    lengths = [float(max(cv2.minAreaRect(box.quad.astype(np.float32))[1])) for box in boxes]
    del width, height
    groups: list[list[int]] = []
    seen: set[int] = set()
    for index in range(len(boxes)):
        if index in seen:
            continue
        group = [
            other
            for other in range(len(boxes))
            if abs(angles[index] - angles[other]) < 4 and 0.75 < heights[index] / heights[other] < 1.33
        ]
        if len(group) < 3:
            continue
        if abs(float(np.median([angles[other] for other in group]))) < HORIZONTAL_DEGREES:
            # Level lines of one height are common (a promo, a shop name, printed text): these
            # count only when their words repeat too (checked after recognition).
            pass
        else:
            longest = max(lengths[other] for other in group)
            if sum(lengths[other] > 0.5 * longest for other in group) < 3:
                continue
        groups.append(group)
        seen.update(group)
    return groups


def _tile_frame(quad: np.ndarray, angle: float, size: tuple[int, int], origin: tuple[int, int]) -> np.ndarray:
    """Affine map from a tile-aligned frame of `size` (width, height; baseline along x, centred on
    the quad's centre) to pixel coordinates of a box-local mask whose top-left is `origin`."""
    radians = np.radians(angle)
    along = np.array([np.cos(radians), -np.sin(radians)])
    across = np.array([np.sin(radians), np.cos(radians)])
    centre = quad.mean(axis=0) - np.array(origin, np.float64)
    shift = centre - along * size[0] / 2 - across * size[1] / 2
    return np.array([[along[0], across[0], shift[0]], [along[1], across[1], shift[1]]], np.float64)


def _trim_tiles(
    boxes: list[TextBox], glyph_list: list[_Glyphs], tiles: list[int], image_shape: tuple[int, ...]
) -> None:
    """Cut each tile's glyph mask down to the watermark's own letters.

    A tile's mask is whatever stands out from a smooth fill of its box, so over texture, a lamp or
    a product's outline it takes those too, and the fill then smears them. Every whole tile of one
    watermark has the same letters: the tiles are brought into one frame and aligned, the pixels
    most of them share are the letters, and each tile keeps only its pixels near those. Tiles cut
    by the detector or the frame, and tiles that do not line up surely, keep their own masks."""
    if len(tiles) < TILE_VOTERS:
        return
    angle = float(np.median([_text_angle(boxes[i].quad) for i in tiles]))
    lengths = {i: float(max(cv2.minAreaRect(boxes[i].quad)[1])) for i in tiles}
    length = float(np.median(list(lengths.values())))
    text_h = float(np.median([glyph_list[i].height for i in tiles]))
    size = (int(round(1.3 * length + 2 * text_h)), int(round(3 * text_h)))
    whole = [i for i in tiles if lengths[i] >= 0.85 * length]
    if len(whole) < TILE_VOTERS or size[0] * size[1] > TILE_FRAME_PIXELS or min(size) < 8:
        return
    frames = {i: _tile_frame(boxes[i].quad, angle, size, glyph_list[i].box[:2]) for i in whole}
    framed = {
        i: cv2.warpAffine(
            glyph_list[i].mask.astype(np.float32),
            frames[i],
            size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        )
        for i in whole
    }
    reference = sorted(whole, key=lambda i: float(framed[i].sum()))[len(whole) // 2]
    # Whole tiles of one watermark line up within a fraction of a letter; a far or weak match is
    # another piece of text, or a tile the detector boxed differently.
    shifts = {}
    for index in whole:
        (dx, dy), response = _best_shift(framed[reference], framed[index])
        if index == reference or (response >= TILE_MATCH and np.hypot(dx, dy) <= TILE_MAX_SHIFT * text_h):
            shifts[index] = (dx, dy)
    if len(shifts) < TILE_VOTERS:
        return
    letters = np.mean([_shifted(framed[i], shift) for i, shift in shifts.items()], axis=0) >= 0.5
    if letters.sum() < 6:
        return
    us, vs = np.meshgrid(np.arange(size[0], dtype=np.float64), np.arange(size[1], dtype=np.float64))
    for index, shift in shifts.items():
        glyphs, frame = glyph_list[index], frames[index]
        # A tile running off the photo is compared with the letters only where it is in the photo.
        xs = frame[0, 0] * us + frame[0, 1] * vs + frame[0, 2] + glyphs.box[0]
        ys = frame[1, 0] * us + frame[1, 1] * vs + frame[1, 2] + glyphs.box[1]
        in_photo = ((xs >= 0) & (xs < image_shape[1]) & (ys >= 0) & (ys < image_shape[0])).astype(np.float32)
        shared = letters & (_shifted(in_photo, shift) >= 0.5)
        mine = _shifted(framed[index], shift) >= 0.5
        if shared.sum() < 6 or (mine & shared).sum() < TILE_HOLDS_LETTERS * shared.sum():
            continue
        back = _shifted(letters.astype(np.float32), (-shift[0], -shift[1]))
        local = cv2.warpAffine(back, frame, glyphs.mask.shape[::-1], flags=cv2.INTER_LINEAR) > 0
        near = cv2.dilate(local.astype(np.uint8), _disk(TILE_REACH)).astype(bool)
        box, trimmed = _tight(glyphs.mask & near, *glyphs.box[:2])
        if trimmed.sum() >= 6:
            glyphs.box, glyphs.mask = box, trimmed


def _shifted(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """`image` moved by (dx, dy) pixels, zeros shifted in."""
    move = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float64)
    return cv2.warpAffine(image, move, image.shape[::-1], flags=cv2.INTER_LINEAR)


def _best_shift(reference: np.ndarray, other: np.ndarray) -> tuple[tuple[float, float], float]:
    """The move that lays `other` over `reference` (phase correlation, sign checked by overlap),
    and the correlation's peak response (how sure the match is)."""
    (dx, dy), response = cv2.phaseCorrelate(reference, other)
    candidates = [(0.0, 0.0), (dx, dy), (-dx, -dy)]
    best = max(candidates, key=lambda shift: float((_shifted(other, shift) * reference).sum()))
    return best, float(response)


def _repeated_texts(boxes: list[TextBox]) -> set[int]:
    """Indices of lines that repeat across the image (tiled watermarks): three or more lines at
    the same angle whose texts overlap (cut-off tiles read as pieces of the full text, and OCR
    misreads a letter here and there)."""
    keys = [_normalise_text(box.text) for box in boxes]
    angles = [_text_angle(box.quad) for box in boxes]
    heights = [_text_height(box.quad) for box in boxes]
    members: set[int] = set()
    for index, key in enumerate(keys):
        group = [
            other
            for other in range(len(boxes))
            if _similar_text(key, keys[other])
            and abs(angles[index] - angles[other]) < 4
            and 0.7 < heights[index] / heights[other] < 1.4
        ]
        if len(group) >= 3:
            members.update(group)
    return members


def _product_detail(text: str, height: float, on_product: float, short_side: int) -> bool:
    """One or two large Latin letters or digits read off a shape that touches the product are a
    product detail (a megaphone's handle read as "U", a pair of round shapes as "00"), not a line
    of text. Small ones are print (part of a word the detector split up), which must stay.
    `on_product` is the share of the line's glyph pixels on the product."""
    return (
        height > SMALL_TEXT * short_side
        and on_product >= LONE_GLYPH_ON_SUBJECT
        and _LONE_GLYPH.fullmatch(_normalise_text(text)) is not None
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
        subject = _fill_holes(cut_out)
    boxes = detect_boxes(rgb, subject)
    glyph_list = [_glyph_mask(rgb, lab, box.quad) for box in boxes]
    # A very tall "line" is a product feature unless it is faint (a large stamp or overlay).
    keep = [
        index
        for index, glyphs in enumerate(glyph_list)
        if glyphs is not None
        and (glyphs.height <= MAX_TEXT_SHARE * min(height, width) or glyphs.contrast < FAINT_CONTRAST)
    ]
    boxes = [boxes[index] for index in keep]
    glyph_list = [glyph_list[index] for index in keep]
    groups = _repeated_lines(boxes, width, height)
    level = [
        group
        for group in groups
        if abs(float(np.median([_text_angle(boxes[i].quad) for i in group]))) < HORIZONTAL_DEGREES
    ]
    repeated = {index for group in groups if group not in level for index in group}
    # Round stamps; the words inside one are part of it (type 1 with it), and a word the
    # detector missed on the same line is picked up by reading the glyphs along the chord.
    # The cut-out as it is: filling its holes would turn a stamp it traced into a solid disc.
    stamps = _find_stamps(rgb, [tuple(box.quad.mean(axis=0)) for box in boxes[:STAMP_HINTS]], cut_out)
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
            chord = _chord_quad(boxes[index].quad, stamp.center, 0.95 * inner)
            extended = _glyph_mask(rgb, lab, chord) if chord is not None else None
            if extended is not None:
                glyphs = glyph_list[index]
                glyphs.box, glyphs.mask = _union(glyphs.box, glyphs.mask, extended.box, extended.mask)
        repeated.update(members)
    blocks: list[tuple[Box, np.ndarray] | None] = []
    for index, text_box in enumerate(boxes):
        block = None
        # Tiles of a faint repeated watermark are not banner text: skip the costly block search.
        if index not in repeated or glyph_list[index].contrast >= 1.6 * FAINT_CONTRAST:
            block = _colour_block(rgb, lab, text_box.quad)
        blocks.append(block)
    if subject is not None:
        overlays = [(glyphs.box, glyphs.mask) for glyphs in glyph_list]
        overlays += [block for block in blocks if block is not None]
        overlays += [(stamp.box, stamp.mask) for stamp in stamps]
        subject = _product_region(subject, overlays)
        blocks = [
            None if block is not None and _share_on(subject, *block) > BLOCK_MAX_ON_SUBJECT else block
            for block in blocks
        ]
    to_read = [index for index in range(len(boxes)) if index not in repeated and blocks[index] is None]
    tilted = [group for group in groups if group not in level]
    for group in tilted:
        to_read.append(max(group, key=lambda i: float(max(cv2.minAreaRect(boxes[i].quad)[1]))))
    # Every line inside a stamp is read: a product seen through the stamp may be among them.
    for members in stamp_lines.values():
        to_read.extend(members)
    recognise(rgb, [boxes[index] for index in to_read])
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
                    _share_on(subject, glyph_list[i].box, glyph_list[i].mask),
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
        same = _repeated_texts([boxes[i] for i in members])
        repeated.update(members[i] for i in same)
    for group in tilted:
        text = next((boxes[i].text for i in group if boxes[i].text.strip()), "")
        for index in group:
            if not boxes[index].text.strip():
                boxes[index].text = text
    stamp_members = {index for members in stamp_lines.values() for index in members}
    for group in groups:
        tiles = [index for index in group if index in repeated and index not in stamp_members]
        _trim_tiles(boxes, glyph_list, tiles, rgb.shape)
    # A recognised line read as nothing (or barely anything) is a product detail, not text.
    read = set(to_read) - repeated
    dropped = {i for i in read if not boxes[i].text.strip() or boxes[i].score < MIN_TEXT_SCORE}
    boxes, glyph_list, blocks, repeated = _drop(boxes, glyph_list, blocks, repeated, dropped)
    elements: list[Element] = []
    for index, text_box in enumerate(boxes):
        glyphs = glyph_list[index]
        block = blocks[index]
        box, mask = (
            _union(glyphs.box, glyphs.mask, *block) if block is not None else (glyphs.box, glyphs.mask)
        )
        inside = _share_on(subject, box, mask) if subject is not None else 0.0
        text = text_box.text.strip()
        # Without a block, `inside` is the share of the line's glyph pixels on the product.
        if (
            block is None
            and index not in repeated
            and subject is not None
            and _product_detail(text, glyphs.height, inside, min(height, width))
        ):
            continue
        angle = _text_angle(text_box.quad)
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
    glyph_list: list[_Glyphs],
    blocks: list[tuple[Box, np.ndarray] | None],
    repeated: set[int],
    dropped: set[int],
) -> tuple[list[TextBox], list[_Glyphs], list[tuple[Box, np.ndarray] | None], set[int]]:
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
                overlap = _overlap(other.box, other.local_mask, element.box, element.local_mask)
                if overlap > 0.5 * min(other.local_mask.sum(), element.local_mask.sum()):
                    other.box, other.local_mask = _union(
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


# --- mask, inpaint, one call ----------------------------------------------------------------


def _type_set(types: set[int] | frozenset[int] | list[int] | tuple[int, ...] | None) -> frozenset[int]:
    chosen = frozenset(int(t) for t in (types or ()))
    unknown = chosen - ALL_TYPES
    if unknown:
        raise ValueError(f"unknown element types {sorted(unknown)}; use 1-4")
    return chosen


def _same_line_glyphs(rgb: np.ndarray, element: Element) -> tuple[Box, np.ndarray] | None:
    """Pixels of the text colour along a kept printed line, a few letter heights beyond its
    ends: a watermark stroke crossing the line can hide some of its letters from the detector,
    and those must be kept too. A window (box) and the pixels inside it, or None."""
    height, width = rgb.shape[:2]
    quad = np.asarray(element.polygon, np.float32)
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad)
    text_h = min(w, h)
    if w >= h:
        w += 2 * KEEP_LINE_REACH * text_h
    else:
        h += 2 * KEEP_LINE_REACH * text_h
    band = cv2.boxPoints(((cx, cy), (w, h), angle))
    x0, y0 = np.maximum(np.floor(band.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.ceil(band.max(axis=0)).astype(int) + 2
    x1, y1 = min(width, x1), min(height, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    window = (int(x0), int(y0), int(x1), int(y1))
    lab = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)
    mine = element.mask_in(window)
    inside = _poly_mask(mine.shape, band, (x0, y0))
    around = inside & ~cv2.dilate(mine.astype(np.uint8), _disk(2)).astype(bool)
    if mine.sum() < 6 or around.sum() < 6:
        return None
    background = np.median(lab[around], axis=0)
    distance = np.linalg.norm(lab[mine] - background, axis=1)
    ink = np.median(lab[mine][distance >= np.median(distance)], axis=0)
    if np.linalg.norm(ink - background) < 20:
        return None
    same = (np.linalg.norm(lab - ink, axis=2) < KEEP_INK_DISTANCE) & inside
    same = cv2.dilate(same.astype(np.uint8), _disk(1)).astype(bool) & inside
    return window, same


def build_removal_mask(
    image: Image.Image | np.ndarray,
    elements: list[Element],
    subject_alpha: np.ndarray | None,
    object_types: set[int] | frozenset[int] | None,
    non_object_types: set[int] | frozenset[int] | None,
) -> np.ndarray:
    """uint8 HxW (255 = erase): elements printed on the product follow `object_types`, all
    others `non_object_types`. Pixels of kept printed text are never erased, even where another
    element (a watermark tile) overlaps them."""
    rgb = to_rgb_array(image)
    on_types, off_types = _type_set(object_types), _type_set(non_object_types)
    erase = np.zeros(rgb.shape[:2], bool)
    keep = np.zeros(rgb.shape[:2], bool)
    # Erased elements first, so kept lines know whether anything overlaps them.
    elements = sorted(elements, key=lambda e: e.type not in (on_types if e.on_subject else off_types))
    for element in elements:
        chosen = on_types if element.on_subject else off_types
        if element.type in chosen:
            element.paint_into(erase)
        elif element.on_subject:
            element.paint_into(keep)
            if erase.any():
                found = _same_line_glyphs(rgb, element)
                if found is not None:
                    (x0, y0, x1, y1), same = found
                    keep[y0:y1, x0:x1] |= same
    if subject_alpha is not None and keep.any():
        erase &= ~cv2.dilate(keep.astype(np.uint8), _disk(KEEP_MARGIN)).astype(bool)
    return erase.astype(np.uint8) * 255


def inpaint(
    image: Image.Image | np.ndarray,
    mask: np.ndarray,
    subject_alpha: np.ndarray | None = None,
    method: str = "auto",
) -> Image.Image:
    return Image.fromarray(inpaint_array(to_rgb_array(image), mask, subject_alpha, method))


def remove_elements(
    image: Image.Image | np.ndarray,
    *,
    subject_alpha: np.ndarray | None,
    object_types: set[int] | frozenset[int] | None = None,
    non_object_types: set[int] | frozenset[int] | None = None,
    extra_mask: np.ndarray | None = None,
    mask_takes_precedence: bool = True,
    method: str = "auto",
) -> EraseResult:
    """Detect, mask and inpaint in one call.

    `extra_mask` is a hand-painted mask (e.g. decoded with `decode_rle_mask`). As in the API
    reference it takes precedence over the type lists: with `mask_takes_precedence` (default)
    only the painted pixels are erased and detection is skipped; otherwise it is added to the
    detected mask.
    """
    rgb = to_rgb_array(image)
    height, width = rgb.shape[:2]
    hand = None
    if extra_mask is not None:
        hand = np.asarray(extra_mask)
        if hand.shape != (height, width):
            raise InvalidMask(f"mask is {hand.shape[1]}x{hand.shape[0]}, image is {width}x{height}")
        hand = hand != 0
    elements: list[Element] = []
    if hand is not None and mask_takes_precedence:
        mask = hand.astype(np.uint8) * 255
    else:
        elements = detect_elements(rgb, subject_alpha)
        mask = build_removal_mask(rgb, elements, subject_alpha, object_types, non_object_types)
        if hand is not None:
            mask[hand] = 255
    result = inpaint_array(rgb, mask, subject_alpha, method)
    return EraseResult(Image.fromarray(result), mask, elements)
