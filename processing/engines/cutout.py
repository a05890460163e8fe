"""Background removal ("cut-out") engine: pure image code, no Django.

Takes decoded sRGB images (numpy arrays or Pillow images) and returns mattes and composited
images. The views, tasks and API are thin layers over `remove_background` and `predict_alpha`.

Pipeline (each step is measured by bench/cutout.py; STEPS switches them off for --ablate):
1. locate: the ISNet model at 768 px over the whole photo (the model is scale-sensitive: at
   512 px it misses small products; 768 + a crop pass costs less than one 1024 px pass);
   second_look: when nothing is confident, a closer pass on the lower middle of the photo,
   where products stand (thin, small and glassy products on busy backgrounds);
2. select: keep the main subject (and the objects that belong with it), drop salient clutter;
   frame contact counts only when a component meets the frame along a good part of its
   extent, so a product's thin stand reaching the edge does not disqualify it;
3. split_fused: a subject fused with the furniture it stands on or leans against is split
   where the blob falls apart at high confidence, dropping the parts that run into the frame;
   colour_split: when it does not fall apart, colour regions that run into the frame seed the
   furniture and clearly different colours seed the product;
4. refine: a second ISNet pass on a crop around the subject, at the crop's own resolution
   (capped), so the subject gets the model's full attention and the clutter is out of view;
   fuse_passes: inside the chosen subject the two passes vote (mean), except in holes the
   crop pass opened and where furniture was split off; cut_clutter: what pass 1 saw but left
   out of the subject stays out;
5. matte: clear enclosed background, guided-filter the matte at full resolution, estimate
   decontaminated foreground colours so edges show no halo on white;
6. compose: white or transparent output, optionally fitted into a target size, with an
   optional soft contact shadow.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_FILES = {
    "general": "isnet-medium-dynamic.onnx",
    "human": "isnet-medium-dynamic.onnx",
}
MODEL_TYPES = tuple(MODEL_FILES)
BACKGROUNDS = ("white", "transparent")


class ModelMissingError(RuntimeError):
    """The model weights are not installed; `make models` fetches them."""


@dataclass
class CutoutResult:
    image: Image.Image  # RGB on white, or RGBA with a transparent background
    alpha: np.ndarray  # uint8 HxW matte at output size
    score: float  # confidence 0..1; low values flag results worth a human look
    subject_box: tuple[int, int, int, int] | None  # x0, y0, x1, y1 (exclusive) in the output image
    width: int
    height: int


# --- model sessions -------------------------------------------------------------------------


def model_dir() -> Path:
    configured = os.environ.get("VITRINE_MODEL_DIR")
    return Path(configured) if configured else REPO_ROOT / "var" / "models"


def default_threads() -> int:
    configured = os.environ.get("VITRINE_CUTOUT_THREADS")
    return int(configured) if configured else min(os.cpu_count() or 1, 4)


def model_path(model_type: str = "general", directory: Path | None = None) -> Path:
    if model_type not in MODEL_FILES:
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {', '.join(MODEL_TYPES)}")
    return (directory or model_dir()) / MODEL_FILES[model_type]


_sessions: dict[tuple[Path, int], object] = {}
_sessions_lock = threading.Lock()


def get_session(model_type: str = "general", *, directory: Path | None = None, threads: int | None = None):
    """One onnxruntime session per model file and thread count, created on first use.

    InferenceSession.run is thread-safe, so the cached session is shared by all threads.
    """
    path = model_path(model_type, directory)
    key = (path, threads or default_threads())
    session = _sessions.get(key)
    if session is not None:
        return session
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            if not path.is_file():
                raise ModelMissingError(
                    f"cut-out model {path} is missing: run `make models` (or set VITRINE_MODEL_DIR)"
                )
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = key[1]
            options.inter_op_num_threads = 1
            # The arena would keep the largest activation set of every input size seen; with
            # crops of varying size that shows up as RSS creeping up over hundreds of images.
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 3
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            _sessions[key] = session
    return session


def clear_sessions() -> None:
    with _sessions_lock:
        _sessions.clear()


def run_model(rgb: np.ndarray, size: tuple[int, int], model_type: str = "general") -> np.ndarray:
    """Model probability (float32 0..1) for `rgb` resized to size=(width, height), at that size."""
    width, height = size
    interpolation = cv2.INTER_AREA if width * height < rgb.shape[0] * rgb.shape[1] else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (width, height), interpolation=interpolation).astype(np.float32)
    tensor = np.ascontiguousarray(((resized - 128.0) / 256.0).transpose(2, 0, 1)[None])
    output = get_session(model_type).run(["output"], {"input": tensor})[0]
    return np.clip(output[0, 0], 0.0, 1.0)


def model_input_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Aspect-preserving model size with both sides multiples of 32 (the network's stride)."""
    scale = long_side / max(width, height)
    return (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))


# --- public API -----------------------------------------------------------------------------


def to_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        if image.mode == "RGBA":
            # Transparent pixels are background already; show them as white to the model.
            white = Image.new("RGB", image.size, (255, 255, 255))
            white.paste(image, mask=image.getchannel("A"))
            image = white
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2).astype(np.uint8)
    if array.shape[2] == 4:
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        return (array[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8)


def predict_alpha(image_rgb: np.ndarray, model_type: str = "general", *, refine: bool = True) -> np.ndarray:
    """Refined uint8 alpha matte at the image's full resolution.

    `refine=False` skips the crop pass (about 40% of the model time) for callers that only need to
    know where the product is, such as the erase engine's on-product test and fill sides."""
    return analyse(to_rgb_array(image_rgb), model_type, refine=refine).alpha


@dataclass
class Analysis:
    alpha: np.ndarray  # uint8 full-resolution matte
    score: float
    locate_prob: np.ndarray  # pass-1 probability at full resolution (float32)


LOCATE_LONG_SIDE = 768
REFINE_MIN_LONG_SIDE = 384
REFINE_MAX_LONG_SIDE = 1024
# Cap on the refine pass's input pixels: the crop pass never costs more than this much model.
REFINE_MAX_PIXELS = 512 * 512
CROP_CONTEXT = 0.25


# Steps can be switched off to measure what each one pays for (bench/cutout.py --ablate).
STEPS = {
    "refine_pass": True,
    "second_look": True,
    "split_fused": True,
    "colour_split": True,
    "cut_clutter": True,
    "fuse_passes": True,
    "clear_holes": True,
    "edges": True,
}


def refine_input_size(width: int, height: int) -> tuple[int, int]:
    """Model size for the crop pass: the crop's own resolution, within the pass's budget."""
    long_side = min(max(width, height), REFINE_MAX_LONG_SIDE)
    long_side = max(long_side, REFINE_MIN_LONG_SIDE)
    size = model_input_size(width, height, long_side)
    while size[0] * size[1] > REFINE_MAX_PIXELS and long_side > REFINE_MIN_LONG_SIDE:
        long_side -= 32
        size = model_input_size(width, height, long_side)
    return size


def analyse(rgb: np.ndarray, model_type: str = "general", *, refine: bool = True) -> Analysis:
    height, width = rgb.shape[:2]
    # Pass 1 only has to find the subject: a low resolution is enough and cheap.
    locate_size = model_input_size(width, height, LOCATE_LONG_SIDE)
    locate = cv2.resize(
        run_model(rgb, locate_size, model_type), (width, height), interpolation=cv2.INTER_LINEAR
    )
    subject, components = select_subject(locate, model_type)
    if not subject.any() and STEPS["second_look"]:
        # Nothing confident in the whole view: small, thin or glassy products on a busy
        # background. Look again, closer, where products stand: the lower middle of the photo.
        look = second_look(rgb, model_type)
        subject, components = select_subject(look, model_type)
        if subject.any():
            locate = np.maximum(locate, look)
    if not subject.any():
        # Glass and faint subjects can stay under 0.5 everywhere; look again, less strictly.
        subject, components = select_subject(locate, model_type, threshold=0.2)
    if not subject.any():
        return Analysis(np.zeros((height, width), np.uint8), 0.0, locate)
    dropped = None
    if STEPS["split_fused"]:
        subject, dropped = split_fused(rgb, locate, subject)
    x0, y0, x1, y1 = crop_around(subject, CROP_CONTEXT)
    refine = refine and STEPS["refine_pass"]
    if refine:
        # Pass 2 sees the subject at (up to) its own resolution, with the clutter out of view.
        crop = rgb[y0:y1, x0:x1]
        refined = cv2.resize(
            run_model(crop, refine_input_size(x1 - x0, y1 - y0), model_type),
            (x1 - x0, y1 - y0),
            interpolation=cv2.INTER_LINEAR,
        )
    else:
        refined = locate[y0:y1, x0:x1]
    if refine and STEPS["fuse_passes"] and dropped is None:
        # Inside the chosen subject, the two passes vote: the crop pass sometimes loses what
        # the whole view saw (a dark base, the second of two glasses), and the whole view
        # sometimes fills what the crop pass opened. Where furniture was split off, pass 1's
        # subject boundary is only approximate, so the crop pass decides alone.
        # Holes the crop pass opened (a handle's eye, a stethoscope's earpieces) stay open.
        inside = subject[y0:y1, x0:x1] & ~enclosed_holes(refined >= 0.5)
        refined = np.where(inside, 0.5 * (refined + locate[y0:y1, x0:x1]), refined)
    refined = refined * keep_overlapping(refined, subject[y0:y1, x0:x1])
    if dropped is not None:
        # The refine pass sees the furniture the subject touches again; keep it cut away.
        refined = refined * (1.0 - soft_mask(dropped[y0:y1, x0:x1]))
    if STEPS["cut_clutter"]:
        # What pass 1 saw confidently but left out of the subject (furniture split off it,
        # clutter it dropped) stays out, even where the crop pass joins it to the subject.
        clutter = (locate[y0:y1, x0:x1] >= 0.5) & ~subject[y0:y1, x0:x1]
        # Only objects in their own right: slivers of the subject pass 1 missed are not.
        count, labels, stats, _ = cv2.connectedComponentsWithStats(clutter.astype(np.uint8), connectivity=8)
        large = np.nonzero(stats[:, cv2.CC_STAT_AREA] >= 0.001 * height * width)[0]
        clutter = np.isin(labels, large[large > 0])
        if clutter.any():
            radius = max(1, round(0.006 * max(height, width)))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
            grown = cv2.dilate(clutter.astype(np.uint8), kernel).astype(bool) & ~subject[y0:y1, x0:x1]
            refined = refined * (1.0 - soft_mask(grown))
    crop_rgb = rgb[y0:y1, x0:x1]
    if STEPS["clear_holes"]:
        refined = clear_enclosed_background(crop_rgb, refined)
    if STEPS["edges"]:
        refined = refine_edges(crop_rgb, refined)
    prob = np.zeros((height, width), np.float32)
    prob[y0:y1, x0:x1] = refined
    score = confidence(prob, locate, components)
    return Analysis((np.clip(prob, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), score, locate)


SECOND_LOOK_REGION = (0.05, 0.3, 0.95, 1.0)  # x0, y0, x1, y1 as fractions of the photo
SECOND_LOOK_LONG_SIDE = 640


def second_look(rgb: np.ndarray, model_type: str = "general") -> np.ndarray:
    """Model probability over the photo from a closer pass on its lower middle (zero elsewhere)."""
    height, width = rgb.shape[:2]
    fx0, fy0, fx1, fy1 = SECOND_LOOK_REGION
    x0, y0, x1, y1 = round(fx0 * width), round(fy0 * height), round(fx1 * width), round(fy1 * height)
    zoom = run_model(rgb[y0:y1, x0:x1], model_input_size(x1 - x0, y1 - y0, SECOND_LOOK_LONG_SIDE), model_type)
    look = np.zeros((height, width), np.float32)
    look[y0:y1, x0:x1] = cv2.resize(zoom, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return look


def enclosed_holes(mask: np.ndarray) -> np.ndarray:
    """Pixels outside `mask` that it encloses (not connected to the border of the image)."""
    count, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return (labels > 0) & ~np.isin(labels, border)


def crop_around(mask: np.ndarray, context: float) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    pad = round(context * max(x1 - x0, y1 - y0)) + 8
    return max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)


def keep_overlapping(prob: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """Soft mask of the refined components that overlap the pass-1 subject.

    The crop can still hold parts of the clutter dropped in pass 1; those are components of
    the refined matte with no overlap with the chosen subject.
    """
    labels_count, labels = cv2.connectedComponents((prob >= 0.5).astype(np.uint8), connectivity=8)
    if labels_count <= 1:
        return np.ones(prob.shape, np.float32)
    overlap = np.bincount(labels.ravel(), weights=subject.ravel().astype(np.float64), minlength=labels_count)
    size = np.bincount(labels.ravel(), minlength=labels_count)
    keep_labels = [label for label in range(1, labels_count) if overlap[label] >= 0.2 * size[label]]
    kept = np.isin(labels, keep_labels).astype(np.uint8)
    # Dilate so the soft edge just outside the 0.5 contour survives.
    radius = max(2, round(0.01 * max(prob.shape)))
    kept = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return cv2.blur(kept.astype(np.float32), (radius, radius))


# --- subject selection ----------------------------------------------------------------------


@dataclass
class Component:
    label: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 exclusive
    area: int
    mass: float  # sum of probability: confident and large components weigh more
    touched_sides: int  # frame sides the component runs into
    score: float = 0.0
    kept: bool = False


def find_components(prob: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, list[Component]]:
    height, width = prob.shape
    binary = (prob >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    band = max(2, round(0.01 * max(height, width)))
    min_area = 0.001 * height * width
    mass = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=count)
    components = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < min_area:
            continue
        sides = frame_contacts(labels[y : y + h, x : x + w] == label, (x, y), (width, height), band)
        components.append(Component(label, (x, y, x + w, y + h), area, float(mass[label]), sides))
    return labels, components


def frame_contacts(mask: np.ndarray, origin: tuple[int, int], frame: tuple[int, int], band: int) -> int:
    """Frame sides the component (mask over its bounding box at origin) really runs into.

    A side counts when the component meets it along a good part of its own extent: walls and
    furniture are cut by the frame across their width, while a product's thin stand or cable
    that happens to reach the edge should not cost it the product's standing.
    """
    x, y = origin
    width, height = frame
    h, w = mask.shape
    sides = 0
    for touches, strip, axis in (
        (x < band, mask[:, : band - x], 1),
        (y < band, mask[: band - y], 0),
        (x + w > width - band, mask[:, max(0, width - band - x) :], 1),
        (y + h > height - band, mask[max(0, height - band - y) :], 0),
    ):
        # Length of the contact along that side, against the component's extent there.
        if (
            touches
            and strip.size
            and strip.any(axis=axis).sum() >= FRAME_CONTACT_FRACTION * mask.shape[1 - axis]
        ):
            sides += 1
    return sides


FRAME_CONTACT_FRACTION = 0.2


def select_subject(
    prob: np.ndarray, model_type: str = "general", threshold: float = 0.5
) -> tuple[np.ndarray, list[Component]]:
    """Mask (bool, prob's size) of the main subject and of the objects that belong with it.

    Salient clutter in lifestyle photos (furniture, plants, walls) tends to run into the frame,
    while a product is usually whole and in view; so components pay for each frame side they
    touch. People are routinely cut by the frame (portraits), so `human` only pays for it
    lightly. Companions are kept when they are comparably strong and close to the main
    subject: product sets should stay together.
    """
    height, width = prob.shape
    labels, components = find_components(prob, threshold)
    if not components:
        return np.zeros(prob.shape, bool), []
    side_penalty = (1.0, 0.8, 0.6, 0.5, 0.4) if model_type == "human" else (1.0, 0.35, 0.12, 0.05, 0.03)
    centre = np.array([width / 2, height / 2])
    diagonal = float(np.hypot(width, height))
    for component in components:
        x0, y0, x1, y1 = component.box
        offset = np.hypot(*(np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - centre)) / diagonal
        # Weak centre prior: products are often off-centre in lifestyle shots.
        component.score = component.mass**0.75 * side_penalty[component.touched_sides] * (1.0 - 0.5 * offset)
    components.sort(key=lambda c: c.score, reverse=True)
    main = components[0]
    chosen = [main]
    mx0, my0, mx1, my1 = main.box
    reach = 0.5 * max(mx1 - mx0, my1 - my0)
    for other in components[1:]:
        ox0, oy0, ox1, oy1 = other.box
        gap = max(ox0 - mx1, mx0 - ox1, oy0 - my1, my0 - oy1, 0)
        if other.score >= 0.1 * main.score and gap <= reach and other.touched_sides <= main.touched_sides:
            chosen.append(other)
    for component in chosen:
        component.kept = True
    mask = np.isin(labels, [c.label for c in chosen])
    return mask, components


SPLIT_THRESHOLD = 0.9
SPLIT_MIN_PART = 0.05


def split_fused(
    rgb: np.ndarray, prob: np.ndarray, subject: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cut the furniture a product stands on or leans against off the chosen subject.

    The model often segments a product together with the chair, bed or stool it touches, as
    one blob. At a high confidence the blob tends to fall apart into the product and the
    furniture; the parts that run into the frame are furniture (a product is whole and in
    view). Each pixel of the blob goes to the product or to the furniture by a colour
    watershed from those cores. Returns the new subject and the dropped region (or None).
    """
    height, width = prob.shape
    ys, xs = np.nonzero(subject)
    pad = 16
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    blob = subject[y0:y1, x0:x1]
    core = ((prob[y0:y1, x0:x1] >= SPLIT_THRESHOLD) & blob).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    band = max(2, round(0.01 * max(height, width)))
    min_area = SPLIT_MIN_PART * float(blob.sum())
    keep, drop = [], []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < min_area:
            continue
        part = labels[y : y + h, x : x + w] == label
        sides = frame_contacts(part, (x + x0, y + y0), (width, height), band)
        (drop if sides else keep).append(label)
    if keep and drop:
        keep_mask, drop_mask = np.isin(labels, keep), np.isin(labels, drop)
    elif STEPS["colour_split"]:
        cores = colour_cores(rgb[y0:y1, x0:x1], blob, (x0, y0), (width, height), band)
        if cores is None:
            return subject, None
        keep_mask, drop_mask = cores
    else:
        return subject, None
    markers = np.zeros(blob.shape, np.int32)
    markers[keep_mask] = 1
    markers[drop_mask] = 2
    outside = ~cv2.dilate(blob.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    markers[outside] = 3
    # Separate pieces of the subject that hold no core at all (a small companion beside the
    # product, like a puck by its stick) are not part of the furniture: they stay.
    pieces_count, pieces = cv2.connectedComponents(blob.astype(np.uint8), connectivity=8)
    seeded = np.bincount(pieces[markers > 0], minlength=pieces_count) > 0
    for piece in range(1, pieces_count):
        if not seeded[piece]:
            piece_ys, piece_xs = np.nonzero(pieces == piece)
            part = pieces[piece_ys.min() : piece_ys.max() + 1, piece_xs.min() : piece_xs.max() + 1] == piece
            corner = (x0 + int(piece_xs.min()), y0 + int(piece_ys.min()))
            seeded[piece] = bool(frame_contacts(part, corner, (width, height), band))
    unseeded = ~seeded[pieces] & blob
    cv2.watershed(np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1]), markers)
    new_subject = np.zeros_like(subject)
    new_subject[y0:y1, x0:x1] = blob & ((markers == 1) | unseeded)
    dropped = np.zeros_like(subject)
    dropped[y0:y1, x0:x1] = blob & (markers == 2)
    return new_subject, dropped


COLOUR_CLUSTERS = 6
COLOUR_SPLIT_WORK_SIDE = 256
COLOUR_SPLIT_MIN_FURNITURE = 0.12  # of the blob: a few frame-touching specks are not furniture
COLOUR_SPLIT_MIN_PRODUCT = 0.02
COLOUR_SPLIT_DISTINCT = 20.0
COLOUR_SPLIT_RELATIVE = 0.7
COLOUR_SPLIT_SEED = 1


def colour_cores(
    rgb: np.ndarray, blob: np.ndarray, origin: tuple[int, int], frame: tuple[int, int], band: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Product and furniture cores of a blob that does not fall apart by confidence.

    The model is often confident all over a product and the chair it sits on. Their colours
    still differ: the blob's pixels are clustered by colour, the colour regions that run into
    the frame are furniture, and regions of a clearly different colour that stay in view are
    product. Returns (keep, drop) masks over the blob's box, or None when the blob does not
    look like a product on furniture.
    """
    if not frame_contacts(blob, origin, frame, band):
        return None  # nothing runs into the frame: no furniture to cut away
    height, width = blob.shape
    scale = min(1.0, COLOUR_SPLIT_WORK_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.medianBlur(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), 5)
    small_blob = cv2.resize(blob.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    pixels = lab[small_blob]
    if len(pixels) < 10 * COLOUR_CLUSTERS:
        return None
    cv2.setRNGSeed(COLOUR_SPLIT_SEED)  # same photo, same answer (OpenCV's RNG is per thread)
    _, assignment, centres = cv2.kmeans(
        pixels,
        COLOUR_CLUSTERS,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0),
        5,
        cv2.KMEANS_PP_CENTERS,
    )
    clusters = np.full(small_blob.shape, -1, np.int32)
    clusters[small_blob] = assignment.ravel()
    x0, y0 = origin
    regions = []  # (mask, mean Lab colour, runs into the frame)
    for cluster in range(COLOUR_CLUSTERS):
        mask = cv2.morphologyEx(
            (clusters == cluster).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
        )
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        for label in range(1, count):
            x, y, w, h, _ = (int(v) for v in stats[label])
            part = labels[y : y + h, x : x + w] == label
            full = cv2.resize(
                part.astype(np.uint8),
                (max(1, round(w / scale)), max(1, round(h / scale))),
                interpolation=cv2.INTER_NEAREST,
            ).astype(bool)
            sides = frame_contacts(full, (x0 + round(x / scale), y0 + round(y / scale)), frame, band)
            region = labels == label
            regions.append((region, lab[region].mean(axis=0), sides > 0))
    blob_area = float(small_blob.sum())
    furniture = np.zeros(small_blob.shape, bool)
    for mask, _, runs_out in regions:
        if runs_out:
            furniture |= mask
    if furniture.sum() < COLOUR_SPLIT_MIN_FURNITURE * blob_area:
        return None
    furniture_colours = np.array(
        [colour for mask, colour, runs_out in regions if runs_out and mask.sum() >= 0.01 * blob_area]
    )
    if not len(furniture_colours):
        return None
    candidates = [
        (mask, float(np.linalg.norm(furniture_colours - colour, axis=1).min()))
        for mask, colour, runs_out in regions
        if not runs_out and mask.sum() >= 0.5 * COLOUR_SPLIT_MIN_PRODUCT * blob_area
    ]
    if not candidates:
        return None
    # The product is what stands out most from the furniture; props of a middling colour
    # between the two (a bowl on the chair, a mug beside) do not seed it.
    best = max(distance for _, distance in candidates)
    product = np.zeros(small_blob.shape, bool)
    for mask, distance in candidates:
        if distance >= max(COLOUR_SPLIT_DISTINCT, COLOUR_SPLIT_RELATIVE * best):
            product |= mask
    if product.sum() < COLOUR_SPLIT_MIN_PRODUCT * blob_area:
        return None

    def full_size(mask: np.ndarray) -> np.ndarray:
        resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
        # Erode so the cores stay clear of the boundary the watershed has to find.
        return cv2.erode(resized, np.ones((5, 5), np.uint8)).astype(bool) & blob

    return full_size(product), full_size(furniture)


def soft_mask(mask: np.ndarray) -> np.ndarray:
    radius = max(1, round(0.004 * max(mask.shape)))
    return cv2.blur(mask.astype(np.float32), (2 * radius + 1, 2 * radius + 1))


# --- matte refinement -----------------------------------------------------------------------


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Fast grey-guide guided filter (He et al.): snaps the upsampled matte to image edges."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_guide, mean_source = mean(guide), mean(source)
    covariance = mean(guide * source) - mean_guide * mean_source
    variance = mean(guide * guide) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_source - slope * mean_guide
    return mean(slope) * guide + mean(offset)


def refine_edges(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Guided-filter the matte, but only in the uncertain band around its edge.

    The model ran at most at 1024 px on the crop; the filter recovers full-resolution edge
    detail from the photo. Confident interior and exterior pixels are left alone so that
    texture inside the subject cannot punch holes into it.
    """
    height, width = prob.shape
    radius = max(2, round(max(height, width) / 512))
    hard = (prob >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * radius + 1, 4 * radius + 1))
    band = (cv2.dilate(hard, kernel) != cv2.erode(hard, kernel)) | ((prob > 0.05) & (prob < 0.95))
    if not band.any():
        return prob
    ys, xs = np.nonzero(band)
    pad = 4 * radius
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    guide = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    filtered = np.clip(guided_filter(guide, prob[y0:y1, x0:x1], radius, 1e-3), 0.0, 1.0)
    refined = prob.copy()
    window = band[y0:y1, x0:x1]
    refined[y0:y1, x0:x1][window] = filtered[window]
    return refined


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Decontaminated foreground colours (float32 0..1) by blur fusion (Forte & Pitie, 2021).

    Edge pixels mix subject and background colour; compositing them as they are on white
    leaves a dark or tinted halo. Two passes (coarse, then fine) of the blur-fusion estimator
    solve for the subject colour alone.
    """
    image = rgb.astype(np.float32) / 255.0
    a = alpha[..., None]
    foreground, background = image, image
    for radius in (90, 7):
        size = (radius, radius)
        blurred_alpha = cv2.blur(alpha, size)[..., None]
        blurred_foreground = cv2.blur(foreground * a, size) / (blurred_alpha + 1e-5)
        blurred_background = cv2.blur(background * (1 - a), size) / ((1 - blurred_alpha) + 1e-5)
        foreground = blurred_foreground + a * (image - a * blurred_foreground - (1 - a) * blurred_background)
        foreground = np.clip(foreground, 0.0, 1.0)
        background = blurred_background
    return foreground


def clear_enclosed_background(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Clear holes (ring centres, handles, chair backs) the model filled in.

    A filled hole shows the same background as the outside. Pixels of the subject whose colour
    is close to the background ring just outside the subject, and that form a region fully
    enclosed by confident subject pixels, are background seen through the object.
    """
    hard = (prob >= 0.5).astype(np.uint8)
    if not hard.any():
        return prob
    height, width = prob.shape
    radius = max(3, round(0.01 * max(height, width)))
    ring = cv2.dilate(hard, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) & (1 - hard)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    ring_pixels = lab[ring.astype(bool)]
    if len(ring_pixels) < 50:
        return prob
    # A few background colour clusters: backdrops are rarely a single flat colour.
    samples = ring_pixels[:: max(1, len(ring_pixels) // 4000)]
    clusters = min(4, len(samples))
    cv2.setRNGSeed(COLOUR_SPLIT_SEED)  # deterministic clusters: same photo, same matte
    _, _, centres = cv2.kmeans(
        samples,
        clusters,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0),
        2,
        cv2.KMEANS_PP_CENTERS,
    )
    interior = cv2.erode(hard, np.ones((3, 3), np.uint8)).astype(bool)
    distance = np.min(np.linalg.norm(lab[interior][:, None, :] - centres[None], axis=2), axis=1)
    looks_like_background = np.zeros(prob.shape, np.uint8)
    looks_like_background[interior] = distance < 12.0
    looks_like_background = cv2.morphologyEx(looks_like_background, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(looks_like_background, connectivity=4)
    subject_area = float(hard.sum())
    # A region that is most of a separate piece of the subject is not a hole but a whole
    # object: it goes only if it has the colour of its own surroundings (a white table leg
    # against a white wall), not merely a colour found somewhere around the subject (a
    # purple puck beside a stick with a purple grip).
    piece_count, pieces = cv2.connectedComponents(hard, connectivity=8)
    piece_area = np.bincount(pieces.ravel(), minlength=piece_count)
    cleared = prob.copy()
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        # Big enough to be a real opening, small enough not to be half the subject
        # (a white product on a white wall must not be hollowed out).
        if not (0.002 * subject_area <= area <= 0.35 * subject_area):
            continue
        region = labels == label
        piece = int(np.bincount(pieces[region]).argmax())
        if area > 0.5 * piece_area[piece] and not like_its_surroundings(lab, pieces == piece, hard, radius):
            continue
        # Holes are where the model itself hesitated; a confident interior is subject colour.
        if float(prob[region].mean()) > 0.9:
            continue
        cleared[region] = 0.0
    return cleared


def like_its_surroundings(lab: np.ndarray, piece: np.ndarray, hard: np.ndarray, radius: int) -> bool:
    """Whether a piece of the matte has the colour of the background right around it."""
    ys, xs = np.nonzero(piece)
    pad = 2 * radius + 1
    y0, y1 = max(0, ys.min() - pad), min(piece.shape[0], ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(piece.shape[1], xs.max() + 1 + pad)
    local = piece[y0:y1, x0:x1].astype(np.uint8)
    ring = cv2.dilate(local, np.ones((pad, pad), np.uint8)).astype(bool) & ~hard[y0:y1, x0:x1].astype(bool)
    if ring.sum() < 20:
        return False
    ring_lab = lab[y0:y1, x0:x1][ring]
    piece_lab = lab[y0:y1, x0:x1][local.astype(bool)]
    # Median distance of the piece's pixels to the nearest of a few surrounding colours.
    samples = ring_lab[:: max(1, len(ring_lab) // 2000)]
    picks = piece_lab[:: max(1, len(piece_lab) // 2000)]
    distance = np.min(np.linalg.norm(picks[:, None, :] - samples[None], axis=2), axis=1)
    return float(np.median(distance)) < 12.0


# --- confidence -----------------------------------------------------------------------------


def confidence(prob: np.ndarray, locate: np.ndarray, components: list[Component]) -> float:
    """0..1 confidence from three symptoms of doubtful cut-outs.

    - an undecided matte: many pixels neither subject nor background, relative to the subject;
    - disagreement between the two passes (different view, different answer);
    - competition: a dropped salient object nearly as strong as the chosen one.
    """
    subject = prob >= 0.5
    area = float(subject.sum())
    if area == 0:
        return 0.0
    uncertain = float(((prob > 0.15) & (prob < 0.85)).sum()) / area
    decisiveness = float(np.clip(1.0 - 2.0 * uncertain, 0.0, 1.0))
    located = locate >= 0.5
    union = float((subject | located).sum())
    agreement = float((subject & located).sum()) / union if union else 0.0
    competition = 1.0
    dropped = [c.score for c in components if not c.kept]
    if components and dropped:
        competition = float(np.clip(1.0 - max(dropped) / components[0].score, 0.0, 1.0)) ** 0.5
    return round(float(decisiveness * (0.5 + 0.5 * agreement) * (0.5 + 0.5 * competition)), 4)


# --- output ---------------------------------------------------------------------------------


def contact_shadow(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Opacity (0..1) of the photo's own shadow under the subject, as a soft layer.

    The shadow is where the background is darker than the backdrop around it, in a band
    just below the subject's footprint; its strength is the darkening ratio.
    """
    height, width = alpha.shape
    subject = alpha >= 0.5
    if not subject.any():
        return np.zeros(alpha.shape, np.float32)
    ys, xs = np.nonzero(subject)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    subject_height = y1 - y0
    luminance = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    background = (~cv2.dilate(subject.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)).astype(
        np.float32
    )
    # Backdrop brightness without the shadow: a wide masked blur of the background.
    size = (max(3, width // 6) | 1, max(3, height // 6) | 1)
    backdrop = cv2.blur(luminance * background, size) / np.maximum(cv2.blur(background, size), 1e-3)
    darkening = np.clip(1.0 - luminance / np.maximum(backdrop, 1.0), 0.0, 1.0) * background
    region = np.zeros(alpha.shape, np.float32)
    spread = int(0.15 * (x1 - x0))
    band_top = max(0, y1 - int(0.25 * subject_height))
    band_bottom = min(height, y1 + int(0.12 * subject_height) + 4)
    region[band_top:band_bottom, max(0, x0 - spread) : min(width, x1 + spread)] = 1.0
    region = cv2.GaussianBlur(region, (0, 0), max(1.0, 0.02 * max(height, width)))
    shadow = cv2.GaussianBlur(darkening * region, (0, 0), 2.0)
    # Noise-level darkening is texture, not shadow.
    return np.where(shadow > 0.04, np.clip(shadow * 1.5, 0.0, 0.85), 0.0).astype(np.float32)


def fit_box(
    box: tuple[int, int, int, int],
    target_width: int | None,
    target_height: int | None,
    margin: float,
) -> tuple[int, int, float, int, int]:
    """Output size, scale of the subject, and its offset so that it is centred with the margin."""
    x0, y0, x1, y1 = box
    box_width, box_height = x1 - x0, y1 - y0
    if target_width is None and target_height is None:
        raise ValueError("need target_width or target_height")
    if target_width is None:
        # Only the height is fixed: the width follows the subject's aspect ratio.
        target_width = max(
            1, round(box_width * (target_height * (1 - 2 * margin)) / box_height / (1 - 2 * margin))
        )
    if target_height is None:
        target_height = max(
            1, round(box_height * (target_width * (1 - 2 * margin)) / box_width / (1 - 2 * margin))
        )
    usable_width = max(1.0, target_width * (1 - 2 * margin))
    usable_height = max(1.0, target_height * (1 - 2 * margin))
    scale = min(usable_width / box_width, usable_height / box_height)
    scaled_width, scaled_height = max(1, round(box_width * scale)), max(1, round(box_height * scale))
    return (
        target_width,
        target_height,
        scale,
        (target_width - scaled_width) // 2,
        (target_height - scaled_height) // 2,
    )


def subject_bounds(alpha: np.ndarray, threshold: int = 8) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha >= threshold)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def remove_background(
    image: Image.Image | np.ndarray,
    *,
    model_type: str = "general",
    background: str = "white",
    target_width: int | None = None,
    target_height: int | None = None,
    margin: float = 0.05,
    keep_shadow: bool = False,
) -> CutoutResult:
    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background {background!r}; expected one of {', '.join(BACKGROUNDS)}")
    if not 0.0 <= margin < 0.5:
        raise ValueError("margin must be in [0, 0.5)")
    rgb = to_rgb_array(image)
    analysis = analyse(rgb, model_type)
    alpha = analysis.alpha.astype(np.float32) / 255.0
    box = subject_bounds(analysis.alpha)
    if box is not None:
        # Only the subject's neighbourhood needs colour estimation; this keeps it cheap.
        x0, y0, x1, y1 = box
        pad = 16
        y0, y1, x0, x1 = (
            max(0, y0 - pad),
            min(rgb.shape[0], y1 + pad),
            max(0, x0 - pad),
            min(rgb.shape[1], x1 + pad),
        )
        foreground = rgb.astype(np.float32) / 255.0
        foreground[y0:y1, x0:x1] = estimate_foreground(rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1])
    else:
        foreground = rgb.astype(np.float32) / 255.0
    shadow = contact_shadow(rgb, alpha) * (1.0 - alpha) if keep_shadow else None

    layer_alpha = alpha if shadow is None else alpha + shadow
    colour = foreground * 255.0
    if shadow is not None:
        # Shadow is black at its own opacity, under the subject.
        colour = colour * (alpha / np.maximum(layer_alpha, 1e-6))[..., None]

    if target_width is not None or target_height is not None:
        content = subject_bounds((np.clip(layer_alpha, 0, 1) * 255).astype(np.uint8)) or (
            0,
            0,
            rgb.shape[1],
            rgb.shape[0],
        )
        out_width, out_height, scale, offset_x, offset_y = fit_box(
            content, target_width, target_height, margin
        )
        x0, y0, x1, y1 = content
        scaled_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        canvas_colour = np.zeros((out_height, out_width, 3), np.float32)
        canvas_alpha = np.zeros((out_height, out_width), np.float32)
        canvas_subject = np.zeros((out_height, out_width), np.float32)
        # Premultiplied resampling, so background colour cannot bleed into the edge.
        premultiplied = colour[y0:y1, x0:x1] * layer_alpha[y0:y1, x0:x1, None]
        sx, sy = scaled_size
        canvas_colour[offset_y : offset_y + sy, offset_x : offset_x + sx] = cv2.resize(
            premultiplied, scaled_size, interpolation=interpolation
        )
        canvas_alpha[offset_y : offset_y + sy, offset_x : offset_x + sx] = cv2.resize(
            layer_alpha[y0:y1, x0:x1], scaled_size, interpolation=interpolation
        )
        canvas_subject[offset_y : offset_y + sy, offset_x : offset_x + sx] = cv2.resize(
            alpha[y0:y1, x0:x1], scaled_size, interpolation=interpolation
        )
        layer_alpha = np.clip(canvas_alpha, 0.0, 1.0)
        colour = np.clip(canvas_colour / np.maximum(layer_alpha, 1e-6)[..., None], 0.0, 255.0)
        alpha = np.clip(canvas_subject, 0.0, 1.0)

    alpha_u8 = (np.clip(alpha, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    layer_u8 = (np.clip(layer_alpha, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if background == "white":
        a = layer_u8.astype(np.float32)[..., None] / 255.0
        composed = colour * a + 255.0 * (1.0 - a)
        pixels = np.clip(composed + 0.5, 0, 255).astype(np.uint8)
        # Exactly white where nothing of the subject (or shadow) is: no JPEG-ish off-white.
        pixels[layer_u8 == 0] = 255
        output = Image.fromarray(pixels, "RGB")
    else:
        pixels = np.dstack([np.clip(colour + 0.5, 0, 255).astype(np.uint8), layer_u8])
        pixels[layer_u8 == 0, :3] = 0
        output = Image.fromarray(pixels, "RGBA")
    return CutoutResult(
        image=output,
        alpha=alpha_u8,
        score=analysis.score,
        subject_box=subject_bounds(alpha_u8),
        width=output.width,
        height=output.height,
    )
