"""Text lines from PP-OCR (RapidOCR on ONNX Runtime), the detector and recogniser of the erase engine.

The weights ship inside the `rapidocr` wheel: `get_ocr` pins the model paths to the wheel's own files,
so nothing is fetched at run time, and builds the ONNX Runtime sessions once per process (two
intra-op threads: the target machine has two cores). `detect_boxes` finds line quadrilaterals (the
whole image at DETECT_LONG_SIDE, the product's box again at DETECT_FINE_SIDE scale for small print);
`recognise` reads chosen lines in one batch; `detect_text` does both.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from processing.engines.erase.elements import TextBox
from processing.engines.erase.masks import angle_gap, mask_box, poly_mask, text_angle

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
# Lines whose baselines differ by less than this are the same text when one is centred in the other.
SAME_LINE_DEGREES = 10.0
# ONNX Runtime intra-op threads per session (the target machine has two cores).
ORT_THREADS = 2

# The RapidOCR pipeline, built on first use and kept for the process (`get_ocr`); its sessions are
# shared, so each run holds `_run_lock`.
_ocr_lock = threading.Lock()
_run_lock = threading.Lock()
_ocr: Any = None


def rapidocr_model_dir() -> Path:
    # rapidocr is imported late here and below: its pipeline takes over a second to import, and
    # views and job kinds import this engine without running the detector.
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


def run_detector(bgr: np.ndarray, limit: int) -> list[TextBox]:
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
    boxes = run_detector(bgr, DETECT_LONG_SIDE)
    if subject is None or not subject.any() or max(height, width) <= DETECT_LONG_SIDE:
        return boxes
    pad = 16
    x0, y0, x1, y1 = mask_box(subject)
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
        inside = poly_mask(subject.shape, box.quad)
        if not inside.any() or float(subject[inside].mean()) < FINE_REPLACES_ON_SUBJECT:
            kept.append(box)
    for box in run_detector(np.ascontiguousarray(bgr[y0:y1, x0:x1]), limit):
        quad = box.quad + np.array([x0, y0], np.float32)
        centre = (float(quad[:, 0].mean()), float(quad[:, 1].mean()))
        # A fine line centred in a kept coarse line is the same text seen again, unless it runs
        # at another angle: small print on the product crossed by a tilted watermark tile.
        if any(
            cv2.pointPolygonTest(other.quad, centre, False) >= 0
            and angle_gap(text_angle(quad), text_angle(other.quad)) < SAME_LINE_DEGREES
            for other in kept
        ):
            continue
        kept.append(TextBox(quad, "", box.score))
    return kept


def recognise(rgb: np.ndarray, boxes: list[TextBox]) -> None:
    """Fill in `text` and `score` of the given lines, in one batched recognition pass."""
    if not boxes:
        return
    # Late, like the pipeline itself (see rapidocr_model_dir).
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
