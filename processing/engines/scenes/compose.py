"""Place a cut-out product (RGBA) on a scene so it looks photographed there. No Django.

Steps, all at the output resolution:
1. Crop the (square) scene to the output aspect around the scene's product box, keeping the surface line
   in frame, and resize it to the output size.
2. Scale the subject by the per-category size table (a fraction of the product box height, capped by its
   width), or by `placement.scale`; stand its lowest opaque row on the surface line, centred in the box
   (or at `placement.x`, `placement.y`).
3. Shadows on the ground: a dark, tight contact shadow from the subject's footprint (its lowest rows),
   and a cast shadow: the silhouette flipped onto the ground, foreshortened, sheared away from the light
   and blurred more the farther it falls (softer light: shorter, fainter, blurrier). Both lie at or below
   the footprint, never above the subject.
4. Light match, gently: exposure and white balance of the subject a few percent toward the scene around
   it, a faint shading gradient from the light direction, and a light wrap of blurred background into
   the subject's edge. Interior colours move by a couple of Lab units at most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
from PIL import Image

from processing.engines.scenes import library, render

# Subject height as a fraction of the scene's product box height, by category: a phone or a lipstick
# stands smaller in the frame than a chair or a dress. `size_class` overrides it for outliers.
RELATIVE_SIZE: dict[int, float] = {
    1: 0.80,  # General Purpose
    2: 0.74,  # Consumer Electronics
    3: 0.88,  # Home & Garden
    4: 0.80,  # Automobiles, Parts & Accessories
    5: 0.76,  # Computer & Office
    6: 0.84,  # Sports & Entertainment
    7: 0.94,  # Clothing
    8: 0.70,  # Beauty & Health
    9: 0.76,  # Tools
    10: 0.76,  # Toys & Hobbies
    11: 0.72,  # Phones & Telecommunications
}
SIZE_CLASSES: dict[str, float] = {"tiny": 0.34, "small": 0.55, "medium": 0.78, "large": 0.92, "huge": 1.0}
MAX_SIDE = 2048
ASPECTS = {"1:1": (1, 1), "3:4": (3, 4), "4:3": (4, 3), "9:16": (9, 16), "16:9": (16, 9)}


@dataclass(frozen=True)
class Placement:
    """Optional override: x, y in output fractions (centre x of the subject, y of its footprint);
    scale multiplies the category size."""

    x: float | None = None
    y: float | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class Geometry:
    subject_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the opaque subject in the output
    baseline_y: int  # output row of the subject's footprint (the surface line unless overridden)
    product_box: tuple[int, int, int, int]  # the scene's product box in output pixels
    scale: float  # cut-out pixels -> output pixels
    crop: tuple[int, int, int, int]  # the part of the scene canvas used, in scene pixels
    shadow_box: tuple[int, int, int, int] | None  # extent of the shadows in the output


@dataclass
class Composite:
    image: Image.Image
    geometry: Geometry
    shadow: np.ndarray  # (h, w) float32 0..1: how much each output pixel was darkened


def _meta_fields(meta: Any) -> dict[str, Any]:
    keys = ("surface_y", "product_box", "light_angle", "light_softness")
    if meta is None:
        return {
            "surface_y": 0.8,
            "product_box": (0.2, 0.24, 0.8, 0.8),
            "light_angle": 120.0,
            "light_softness": 0.7,
        }
    if isinstance(meta, Mapping):
        return {k: meta[k] for k in keys if k in meta} | {
            k: v
            for k, v in _meta_fields(None).items()
            if k not in meta  # defaults for what the mapping lacks
        }
    return {k: getattr(meta, k) for k in keys}


def output_dims(output_size: tuple[int, int] | str | int) -> tuple[int, int]:
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    if isinstance(output_size, str):
        a, b = ASPECTS[output_size]
        output_size = (MAX_SIDE * a // max(a, b), MAX_SIDE * b // max(a, b))
    w, h = int(output_size[0]), int(output_size[1])
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise ValueError(f"output size must be within 16..{MAX_SIDE} px per side")
    return w, h


def crop_rect(side: int, out_w: int, out_h: int, meta: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """Largest crop of the output aspect in a square scene, centred on the product box, surface in frame."""
    a = out_w / out_h
    bx0, by0, bx1, by1 = meta["product_box"]
    if a <= 1:
        cw, ch = a * side, float(side)
    else:
        cw, ch = float(side), side / a
    cx = (bx0 + bx1) / 2 * side
    x0 = min(max(cx - cw / 2, 0), side - cw)
    cy = (by0 + by1) / 2 * side
    y0 = min(max(cy - ch / 2, 0), side - ch)
    surface = meta["surface_y"] * side
    if surface > y0 + 0.9 * ch:  # keep some floor below the product
        y0 = min(surface - 0.9 * ch, side - ch)
    if by0 * side < y0 and surface - by0 * side < 0.9 * ch:
        y0 = max(0.0, min(y0, by0 * side - 0.04 * ch))
    return int(round(x0)), int(round(y0)), int(round(x0 + cw)), int(round(y0 + ch))


def subject_bbox(alpha: np.ndarray, thresh: float = 0.04) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha > thresh)
    if len(xs) == 0:
        raise ValueError("the cut-out has no opaque pixels")
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _target_height_fraction(category: int, size_class: str | None) -> float:
    if size_class:
        return SIZE_CLASSES[size_class]
    return RELATIVE_SIZE.get(int(category), RELATIVE_SIZE[1])


def fit_scale(w: int, h: int, box_w: float, box_h: float, frac: float) -> float:
    """Subject height = frac * box height, unless that makes it wider than the box allows."""
    return min(frac * box_h / h, min(0.96, frac * 1.3) * box_w / w)


def _ground_shadows(
    alpha: np.ndarray, out_w: int, out_h: int, x0: int, y0: int, angle: float, softness: float
) -> np.ndarray:
    """Shadow opacity (out_h, out_w) from the placed subject alpha (its top-left at x0, y0).

    Worked out on a region around the footprint only (shadows cannot reach farther), then placed."""
    sh, sw = alpha.shape
    base = y0 + sh
    rx0, rx1 = max(0, x0 - sw), min(out_w, x0 + 2 * sw)
    ry0, ry1 = max(0, base - max(8, sh // 4)), min(out_h, base + sh)
    full = np.zeros((out_h, out_w), np.float32)
    if rx1 <= rx0 or ry1 <= ry0:
        return full
    full[ry0:ry1, rx0:rx1] = _ground_shadows_roi(
        alpha, rx1 - rx0, ry1 - ry0, x0 - rx0, y0 - ry0, angle, softness
    )
    return full


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide ones on a downscaled copy (same look, a fraction of the time)."""
    if sigma <= 6:
        return cv2.GaussianBlur(a, (0, 0), sigma)
    f = sigma / 3.0
    h, w = a.shape[:2]
    small = cv2.resize(a, (max(2, int(w / f)), max(2, int(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _ground_shadows_roi(
    alpha: np.ndarray, out_w: int, out_h: int, x0: int, y0: int, angle: float, softness: float
) -> np.ndarray:
    sh, sw = alpha.shape
    base = y0 + sh  # footprint row (alpha is cropped to the opaque box)
    shadow = np.zeros((out_h, out_w), np.float32)

    # contact shadow: the footprint's column profile, pressed into a thin band just under the base
    band = max(2, int(sh * 0.06))
    prof = alpha[sh - band :, :].max(axis=0)
    prof = cv2.GaussianBlur(prof[None, :].astype(np.float32), (0, 0), sigmaX=max(1.0, sw * 0.02), sigmaY=0.1)[
        0
    ]
    thick = max(2.0, sh * 0.018 + sw * 0.01)
    rows = np.arange(out_h, dtype=np.float32)[:, None]
    vert = np.exp(-(((rows - base + thick * 0.3) / thick) ** 2)) * (rows >= base - thick * 0.6)
    contact = np.zeros((out_h, out_w), np.float32)
    xa, xb = max(0, x0), min(out_w, x0 + sw)
    if xb > xa:
        contact[:, xa:xb] = vert * prof[None, xa - x0 : xb - x0]
    contact = _blur(contact, max(1.0, thick * 0.8))
    shadow = np.maximum(shadow, 0.62 * contact / max(float(contact.max()), 1e-6))

    # cast shadow: flip the silhouette onto the ground in front, foreshorten, shear away from the light
    elev = 0.28 + 0.22 * (1 - softness)  # harder light -> longer, darker shadow
    length = max(2, int(sh * elev))
    lx = math.cos(math.radians(angle))
    shear = -lx * (0.9 + 0.6 * (1 - softness))
    flipped = cv2.resize(alpha[::-1, :].copy(), (sw, length), interpolation=cv2.INTER_AREA)
    m = np.float32([[1, shear * sw / max(length, 1) * 0.5, x0], [0, 1, base - length * 0.04]])
    m[0, 2] = x0
    cast = cv2.warpAffine(flipped, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=0)
    # cv2's shear uses y measured from the top of the flipped image, which is the footprint: good
    dist = np.clip((rows - base) / max(length, 1), 0, 1)
    near = _blur(cast, max(1.0, sw * (0.006 + 0.02 * softness)))
    far = _blur(cast, max(1.5, sw * (0.03 + 0.07 * softness)))
    cast = near * (1 - dist) + far * dist
    opacity = 0.42 * (1 - 0.45 * softness)
    cast = cast * opacity * (1 - 0.75 * dist) * (rows >= base - 1)
    shadow = 1 - (1 - shadow) * (1 - cast)
    shadow[: max(0, int(base - thick)), :] = 0  # nothing above the footprint
    return np.clip(shadow, 0, 1)


def _light_match(
    rgb: np.ndarray, alpha: np.ndarray, surround: np.ndarray, angle: float, strength: float = 1.0
) -> np.ndarray:
    """Gentle exposure / white balance toward the surround plus a faint directional gradient (float 0..1)."""
    a = alpha > 0.5
    if a.sum() < 16:
        return rgb
    subj_mean = rgb[a].mean(axis=0)
    env = surround.reshape(-1, 3).mean(axis=0)
    lum_s = float(subj_mean @ [0.2126, 0.7152, 0.0722]) + 1e-3
    lum_e = float(env @ [0.2126, 0.7152, 0.0722]) + 1e-3
    gain = float(np.clip((lum_e / lum_s) ** 0.08, 0.95, 1.05))
    wb = env / max(float(env.mean()), 1e-3)
    wb = np.clip(1 + 0.05 * (wb - 1), 0.975, 1.025)
    h, w = alpha.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
    d = ((xx / max(w, 1) - 0.5) * dx + (yy / max(h, 1) - 0.5) * dy).astype(np.float32)
    shade = 1 + 0.05 * d
    factor = 1 + strength * (gain * wb[None, None, :] * shade[..., None] - 1)
    return np.clip(rgb * factor, 0, 1)


def _light_wrap(rgb: np.ndarray, alpha: np.ndarray, bg_patch: np.ndarray, amount: float = 0.22) -> np.ndarray:
    """Blend blurred background into the subject's outer edge, as light spills around a real object."""
    h, w = alpha.shape
    r = max(1.5, min(h, w) * 0.012)
    inner = cv2.GaussianBlur(alpha, (0, 0), r)
    edge = np.clip(alpha - inner, 0, 1) * 2.0 + np.clip((1 - inner) * alpha, 0, 1) * 0.8
    edge = np.clip(edge, 0, 1)
    bgb = _blur(bg_patch, r * 2)
    return rgb * (1 - amount * edge[..., None]) + bgb * (amount * edge[..., None])


def _prepare_subject(product: Image.Image) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    a = np.asarray(product.convert("RGBA"), np.float32) / 255.0
    box = subject_bbox(a[..., 3])
    return a, box


def compose(
    product_rgba: Image.Image,
    scene: Image.Image | str | int,
    meta: Any = None,
    *,
    category: int = 1,
    placement: Placement | Mapping[str, float] | None = None,
    output_size: tuple[int, int] | str | int = (1024, 1024),
    size_class: str | None = None,
    light_match: bool = True,
    _height_fraction: float | None = None,
) -> Composite:
    """Composite the cut-out onto the scene. `scene` is a preset modelNum (its metadata is used unless
    `meta` is given) or a square-ish PIL background with `meta` (a ScenePreset or a mapping with
    surface_y, product_box, light_angle, light_softness). Returns the image, its geometry and shadow map."""
    out_w, out_h = output_dims(output_size)
    if isinstance(scene, str | int):
        preset = library.get_preset(scene)
        meta = meta if meta is not None else preset
        render_side = 1024 if max(out_w, out_h) <= 1024 else 2048
        bg_img = render.cached_background(preset.model_num, render_side)
    else:
        bg_img = scene.convert("RGB")
        side = min(bg_img.size)
        if bg_img.size[0] != bg_img.size[1]:  # centre-crop to square: the metadata is square-relative
            left, top = (bg_img.size[0] - side) // 2, (bg_img.size[1] - side) // 2
            bg_img = bg_img.crop((left, top, left + side, top + side))
    m = _meta_fields(meta)
    if isinstance(placement, Mapping):
        placement = Placement(**placement)
    placement = placement or Placement()

    side = bg_img.size[0]
    cx0, cy0, cx1, cy1 = crop_rect(side, out_w, out_h, m)
    bg = np.asarray(
        bg_img.resize((out_w, out_h), Image.Resampling.BILINEAR, box=(cx0, cy0, cx1, cy1)), np.float32
    )
    bg /= 255.0
    sx, sy = out_w / (cx1 - cx0), out_h / (cy1 - cy0)
    bx0, by0, bx1, by1 = m["product_box"]
    pbox = (
        int(round(max(bx0 * side, cx0) - cx0) * sx),
        int(round(max(by0 * side, cy0) - cy0) * sy),
        int(round(min(bx1 * side, cx1) - cx0) * sx),
        int(round(min(by1 * side, cy1) - cy0) * sy),
    )
    surface = int(round((m["surface_y"] * side - cy0) * sy))

    src, (ax0, ay0, ax1, ay1) = _prepare_subject(product_rgba)
    sub = src[ay0:ay1, ax0:ax1]
    h0, w0 = sub.shape[:2]
    frac = _height_fraction if _height_fraction is not None else _target_height_fraction(category, size_class)
    box_h = (m["product_box"][3] - m["product_box"][1]) * side * sy
    box_w = max(1.0, pbox[2] - pbox[0])
    scale = fit_scale(w0, h0, box_w, box_h, frac) * float(placement.scale)
    nw, nh = max(1, int(round(w0 * scale))), max(1, int(round(h0 * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    # premultiplied resize: no dark or light fringes from the transparent pixels' colours
    pre = sub.copy()
    pre[..., :3] *= pre[..., 3:4]
    pre = np.clip(cv2.resize(pre, (nw, nh), interpolation=interp), 0, None)
    alpha = np.clip(pre[..., 3], 0, 1)
    rgb = np.where(alpha[..., None] > 1e-4, pre[..., :3] / np.maximum(alpha[..., None], 1e-4), 0)
    rgb = np.clip(rgb, 0, 1)

    cxp = placement.x * out_w if placement.x is not None else (pbox[0] + pbox[2]) / 2
    base = placement.y * out_h if placement.y is not None else surface
    x0, y0 = int(round(cxp - nw / 2)), int(round(base - nh))

    shadow = _ground_shadows(alpha, out_w, out_h, x0, y0, float(m["light_angle"]), float(m["light_softness"]))
    shade_col = np.clip(bg * 0.32, 0, 1)  # shadows keep a little of the ground's colour
    out = bg * (1 - shadow[..., None]) + shade_col * shadow[..., None]

    # paste region (clipped to the canvas)
    px0, py0, px1, py1 = max(0, x0), max(0, y0), min(out_w, x0 + nw), min(out_h, y0 + nh)
    if px1 > px0 and py1 > py0:
        a = alpha[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0]
        c = rgb[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0]
        patch = out[py0:py1, px0:px1]
        if light_match:
            pad = max(8, nh // 4)
            sur = bg[max(0, py0 - pad) : min(out_h, py1 + pad), max(0, px0 - pad) : min(out_w, px1 + pad)]
            c = _light_match(c, a, sur, float(m["light_angle"]))
            c = _light_wrap(c, a, bg[py0:py1, px0:px1])
        out[py0:py1, px0:px1] = patch * (1 - a[..., None]) + c * a[..., None]
    img = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")

    ys, xs = np.nonzero(shadow > 0.02)
    sbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None
    geo = Geometry(
        subject_box=(x0, y0, x0 + nw, y0 + nh),
        baseline_y=int(round(base)),
        product_box=pbox,
        scale=float(scale),
        crop=(cx0, cy0, cx1, cy1),
        shadow_box=sbox,
    )
    return Composite(img, geo, shadow)


def compose_set(
    products: Sequence[Image.Image],
    scene: Image.Image | str | int,
    meta: Any = None,
    *,
    category: int | Sequence[int] = 1,
    output_size: tuple[int, int] | str | int = (1024, 1024),
    size_class: str | None = None,
    placement: Placement | None = None,
) -> list[Composite]:
    """Several products (or views of one) on one scene with one size rule and one baseline, for a uniform
    storefront grid: every subject gets the same height (the set's category size, lowered for all when
    one subject would overflow the box width), centred, footprint on the same line."""
    if not products:
        return []
    cats = [category] * len(products) if isinstance(category, int) else list(category)
    if len(cats) != len(products):
        raise ValueError("one category per product")
    fracs = [_target_height_fraction(c, size_class) for c in cats]
    frac = float(np.median(fracs))
    # the width limit, evaluated once per subject at the set's height fraction
    m = _meta_fields(meta if meta is not None else _preset_meta(scene))
    bw = m["product_box"][2] - m["product_box"][0]
    bh = m["product_box"][3] - m["product_box"][1]
    out_w, out_h = output_dims(output_size)
    crop = crop_rect(1000, out_w, out_h, m)
    vis_w = min(bw * 1000, crop[2] - crop[0])  # box width visible in the crop (scene units of 1/1000)
    for img in products:
        _, (x0, y0, x1, y1) = _prepare_subject(img)
        w, h = x1 - x0, y1 - y0
        cap = min(0.96, frac * 1.3) * vis_w / w  # widest allowed scale
        want = frac * bh * 1000 / h
        if want > cap:
            frac *= cap / want
    base_placement = placement or Placement()
    return [
        compose(
            img,
            scene,
            meta,
            category=c,
            output_size=(out_w, out_h),
            placement=replace(base_placement),
            _height_fraction=frac,
        )
        for img, c in zip(products, cats, strict=True)
    ]


def _preset_meta(scene: Any) -> Any:
    if isinstance(scene, str | int):
        return library.get_preset(scene)
    return None
