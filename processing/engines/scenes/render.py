"""Procedural product-photo backgrounds for the scene presets (numpy + OpenCV, no Django), and the
preset backgrounds they render, kept in a small LRU cache (`render_preset_background`, `render_cover`).

Every generator draws on a square float32 RGB canvas in 0..1 from a seed, with all sizes given as
fractions of the side, so a render at 384 px and one at 2048 px show the same picture. Noise comes
from fixed-size random grids upscaled to the canvas (resolution independent); only the final film
grain is per-pixel.

Speed at 2048 px: smooth layers are computed small and upsampled once (value noise at 12 px per cell of
its finest octave, light falloff / hotspots / vignettes on a 256 grid, leaf shadows and window light
drawn at <= 512 px before their wide blur); small things (confetti, sparks, podiums, bokeh discs) are
drawn and blended only inside their bounding boxes.

Building blocks: value noise, perspective ground planes (a flat texture warped by a homography, with
depth-of-field blur toward the horizon), materials (wood, marble, linen, concrete, terrazzo, tiles,
grass, sand, asphalt, paving, snow, rubber, carpet, leather, plywood), walls, studio sweeps, podiums,
bokeh, light falloff, window light and leaf shadows, sunbursts and confetti for sale layouts.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import cv2
import numpy as np
from PIL import Image

from processing.engines.scenes.library import get_preset

Array = np.ndarray


# ---------------------------------------------------------------- basics


def _pix(rng: np.random.Generator) -> np.random.Generator:
    """A child generator for per-pixel randomness: the parent draws one number whatever the size, so the
    rest of the picture stays the same at every resolution."""
    return np.random.default_rng(int(rng.integers(1 << 62)))


def hex_rgb(value: str) -> Array:
    v = value.lstrip("#")
    return np.array([int(v[i : i + 2], 16) for i in (0, 2, 4)], np.float32) / 255.0


def _resize(a: Array, w: int, h: int, interp: int = cv2.INTER_CUBIC) -> Array:
    return cv2.resize(a, (w, h), interpolation=interp)


NOISE_PX_PER_CELL = 12  # working resolution of value noise: the finest octave gets this many px per cell


def noise(
    rng: np.random.Generator, h: int, w: int, cells: float, octaves: int = 1, aspect: float = 1.0
) -> Array:
    """Value noise in about -1..1: `cells` grid cells across the width (aspect stretches cells in x).

    The octaves are summed at a working resolution with NOISE_PX_PER_CELL px per cell of the finest octave
    (per axis, never above the canvas) and the sum is upsampled once: the field is smooth at that scale, so
    it looks the same as summing at full size, at a fraction of the cost for large canvases."""
    fx = max(2, int(cells * 2 ** (octaves - 1) / aspect))
    fy = max(2, int(cells * 2 ** (octaves - 1) * h / w))
    ww = min(w, max(16, fx * NOISE_PX_PER_CELL))
    hh = min(h, max(16, fy * NOISE_PX_PER_CELL))
    out = np.zeros((hh, ww), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cx = max(2, int(cells * (2**o) / aspect))
        cy = max(2, int(cells * (2**o) * h / w))
        grid = rng.standard_normal((cy + 3, cx + 3)).astype(np.float32)
        big = _resize(grid, int(ww * (cx + 3) / cx), int(hh * (cy + 3) / cy))
        out += amp * big[hh // cy : hh // cy + hh, ww // cx : ww // cx + ww][:hh, :ww]
        total += amp
        amp *= 0.5
    out = np.clip(out / (total * 1.2), -1.5, 1.5)
    if (hh, ww) != (h, w):
        out = _resize(out, w, h)
    return out


def blur(a: Array, sigma: float) -> Array:
    """Gaussian blur; large sigmas run on a downscaled copy (same look, a fraction of the time)."""
    if sigma < 0.5:
        return a
    h, w = a.shape[:2]
    if sigma > 12:
        f = sigma / 6.0
        small = cv2.resize(a, (max(2, int(w / f)), max(2, int(h / f))), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 6.0)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(a, (0, 0), sigma)


def lerp(a: Array, b: Array, t: Array) -> Array:
    if np.ndim(t) == 2 and a.ndim == 3:
        t = t[..., None]
    out = np.subtract(b, a, dtype=np.float32)
    out *= t
    out += a
    return out


def colorize(t: Array, c0: str | Array, c1: str | Array) -> Array:
    """Map a 0..1 field to a colour ramp between two colours."""
    a = np.asarray(hex_rgb(c0) if isinstance(c0, str) else c0, np.float32)
    b = np.asarray(hex_rgb(c1) if isinstance(c1, str) else c1, np.float32)
    out = np.clip(t, 0, 1).astype(np.float32, copy=False)[..., None] * (b - a)
    out += a
    return out


def fill(h: int, w: int, color: str | Array) -> Array:
    c = hex_rgb(color) if isinstance(color, str) else color
    return np.broadcast_to(c, (h, w, 3)).astype(np.float32).copy()


@functools.lru_cache(maxsize=4)
def coords(h: int, w: int) -> tuple[Array, Array]:
    """Normalised pixel coordinates (x, y), each (h, w) float32; cached and read-only."""
    x = np.broadcast_to(np.arange(w, dtype=np.float32) / w, (h, w)).copy()
    y = np.broadcast_to((np.arange(h, dtype=np.float32) / h)[:, None], (h, w)).copy()
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


SMOOTH_SIDE = 256  # smooth light fields are evaluated on this grid and upsampled


def smooth_field(s: int, f: Callable[[Array, Array], Array], n: int = SMOOTH_SIDE) -> Array:
    """A smooth (low-frequency) field f(x, y) on the s x s canvas, evaluated at n x n and upsampled.

    The low-res samples sit where cv2.resize puts them (pixel centres), so the upsampled field equals f at
    every canvas pixel up to interpolation error, which is invisible for falloffs, vignettes and glows."""
    if s <= n:
        x, y = coords(s, s)
        return np.asarray(f(x, y), np.float32)
    g = ((np.arange(n, dtype=np.float32) + 0.5) * (s / n) - 0.5) / s
    x = np.broadcast_to(g[None, :], (n, n))
    y = np.broadcast_to(g[:, None], (n, n))
    small = np.ascontiguousarray(np.broadcast_to(f(x, y), (n, n)), np.float32)
    return cv2.resize(small, (s, s), interpolation=cv2.INTER_CUBIC)


def smoothstep(e0: float, e1: float, x: Array) -> Array:
    t = np.clip((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


# ---------------------------------------------------------------- materials (flat, in texture space)


def mat_wood(rng, h, w, light="#c9a27a", dark="#8a5a36", planks=5, along_x=True) -> Array:
    """Boards with fibre streaks, growth rings and seams; boards run along x (table) or y (floor)."""
    if not along_x:
        return mat_wood(rng, w, h, light, dark, planks, True).transpose(1, 0, 2).copy()
    fibre = noise(rng, h, w, 6, 4, aspect=30.0)
    warp = noise(rng, h, w, 1.5, 3, aspect=3.0)
    x, y = coords(h, w)
    board = np.clip(np.floor(y * planks).astype(np.int32), 0, planks)
    offsets = rng.uniform(-0.12, 0.12, planks + 1).astype(np.float32)
    # every board is cut from a different log: its own ring spacing, phase, figure strength and an arch
    # ("cathedral") whose apex sits somewhere along it, so the grain does not repeat board to board
    freq = rng.uniform(14, 34, planks + 1).astype(np.float32)
    phase = rng.uniform(0, 2, planks + 1).astype(np.float32)
    figure = rng.uniform(3.0, 7.0, planks + 1).astype(np.float32)
    apex = rng.uniform(0.1, 0.9, planks + 1).astype(np.float32)
    arch = rng.uniform(0.0, 0.5, planks + 1).astype(np.float32)
    fb = freq[board]
    ring_in = y * fb + phase[board] + warp * figure[board] + fibre * 0.6
    ring_in += arch[board] * fb / planks * np.abs(x - apex[board]) ** 1.5
    rings = 0.5 + 0.5 * np.sin(ring_in * math.pi)
    r2 = rings * rings
    t = 0.5 + 0.28 * fibre + 0.16 * r2 * r2 - 0.08 * rings
    t = t + offsets[board]
    img = colorize(t, dark, light)
    frac = y * planks - np.floor(y * planks)
    seam = smoothstep(0.0, 0.012, frac) * smoothstep(0.0, 0.012, 1 - frac)
    img *= (0.55 + 0.45 * seam)[..., None]
    return img


def mat_marble(rng, h, w, base="#f2f0ec", vein="#8d8a86", veins=3.0, strength=0.7) -> Array:
    """Veined stone: fractal-turbulence stripes, sharp thin veins over soft grey clouds."""
    turb = noise(rng, h, w, 2.0, 6)  # drawn for the stream of random numbers; reshaped below
    x, y = coords(h, w)
    # veins follow a broad, slow meander (low octaves) with only a faint fine wobble: real veins flow in
    # long sweeps and branch, they do not squiggle at every scale
    broad = noise(rng, h, w, 1.2, 2)
    v = np.sin(((x * 0.85 + y * 0.5) * veins + broad * 1.6 + turb * 0.45) * math.pi)
    a = 1 - np.abs(v)
    soft = a * a * a
    a2 = a * a
    a4 = a2 * a2
    thin = a4 * a4 * a4 * a2  # ** 14
    turb2 = noise(rng, h, w, 3.0, 6)
    v2 = np.sin(((x * 0.2 - y * 0.95) * veins * 1.4 + broad * 1.2 + turb2 * 0.6) * math.pi)
    b = 1 - np.abs(v2)
    b2 = b * b
    b4 = b2 * b2
    b8 = b4 * b4
    minor = b8 * b8 * b8 * b4 * b2  # ** 30
    cloud = noise(rng, h, w, 3, 5)
    t = np.clip(0.55 * thin + 0.18 * soft + 0.3 * minor + 0.05 * cloud, 0, 1) * strength
    return colorize(t, base, vein)


def mat_linen(rng, h, w, color="#d8cdbd", threads=420) -> Array:
    x, y = coords(h, w)
    jit = noise(rng, h, w, 20, 2) * 0.8
    warp = 0.5 + 0.5 * np.sin((x * threads + jit) * 2 * math.pi)
    weft = 0.5 + 0.5 * np.sin((y * threads - jit) * 2 * math.pi)
    slub = noise(rng, h, w, 6, 2, aspect=18.0)
    t = 0.93 + 0.035 * (warp + weft) + 0.03 * slub
    wrinkles = noise(rng, h, w, 2.5, 3, aspect=0.35)
    t = t * (1 + 0.06 * wrinkles)
    return fill(h, w, color) * t[..., None]


def mat_concrete(rng, h, w, color="#a9a6a1", pits=True) -> Array:
    n = noise(rng, h, w, 4, 6)
    blotch = noise(rng, h, w, 1.5, 2)
    t = 1 + 0.07 * n + 0.06 * blotch
    img = fill(h, w, color) * t[..., None]
    if pits:
        pr = _pix(rng)
        count = int(h * w / 2500)
        ys = pr.integers(0, h, count)
        xs = pr.integers(0, w, count)
        mask = np.zeros((h, w), np.float32)
        mask[ys, xs] = pr.uniform(0.2, 0.6, count)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, w / 1800))
        mask = mask / max(float(mask.max()), 1e-6)
        img *= (1 - 0.35 * mask)[..., None]
    return img


def mat_terrazzo(rng, h, w, base="#ece6de", chips=("#d98c6a", "#8fa89b", "#e8c26e", "#4f5d75")) -> Array:
    img = fill(h, w, base) * (1 + 0.03 * noise(rng, h, w, 3, 3))[..., None]
    canvas = (img * 255).astype(np.uint8)
    count = 380
    for _ in range(count):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.004, 0.016) * w
        n = rng.integers(4, 8)
        ang = np.sort(rng.uniform(0, 2 * math.pi, n))
        rad = r * rng.uniform(0.5, 1.0, n)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
        col = hex_rgb(chips[int(rng.integers(len(chips)))]) * rng.uniform(0.85, 1.1)
        cv2.fillPoly(canvas, [pts], tuple(int(c) for c in np.clip(col * 255, 0, 255)), cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def mat_tiles(rng, h, w, color="#f4f4f2", grout="#c9c7c2", cols=8, rows=8, bevel=True) -> Array:
    x, y = coords(h, w)
    fx, fy = (x * cols) % 1.0, (y * rows) % 1.0
    g = 0.035
    edge = smoothstep(0, g, fx) * smoothstep(0, g, 1 - fx) * smoothstep(0, g, fy) * smoothstep(0, g, 1 - fy)
    tile = fill(h, w, color) * (1 + 0.02 * noise(rng, h, w, cols, 2))[..., None]
    if bevel:
        tile *= (1 + 0.05 * (smoothstep(0.0, 0.15, fy) - 1) + 0.03 * (1 - smoothstep(0.85, 1.0, fy)))[
            ..., None
        ]
    idx = (np.floor(x * cols) + np.floor(y * rows) * 31).astype(np.int32)
    shade = rng.uniform(-0.025, 0.025, int(idx.max()) + 1).astype(np.float32)
    tile *= (1 + shade[idx])[..., None]
    return lerp(fill(h, w, grout), tile, edge)


def mat_grass(rng, h, w, dark="#3f6b2a", light="#86b04a") -> Array:
    blades = noise(rng, h, w, 90, 2, aspect=0.18)
    patch = noise(rng, h, w, 3, 3)
    t = 0.5 + 0.35 * blades + 0.25 * patch
    return colorize(t, dark, light)


def mat_sand(rng, h, w, color="#e3cfa6") -> Array:
    x, y = coords(h, w)
    rip = np.sin((y * 38 + noise(rng, h, w, 2, 3) * 2.5) * 2 * math.pi)
    t = 1 + 0.035 * rip + 0.05 * noise(rng, h, w, 4, 4)
    img = fill(h, w, color) * t[..., None]
    pr = _pix(rng)
    speck = (pr.random((h, w)) > 0.985).astype(np.float32) * pr.uniform(-0.25, 0.2, (h, w)).astype(np.float32)
    return img * (1 + speck)[..., None]


def mat_asphalt(rng, h, w, color="#4a4a4c", line: str | None = None) -> Array:
    t = 1 + 0.10 * noise(rng, h, w, 6, 5)
    img = fill(h, w, color) * t[..., None]
    speck = _pix(rng).random((h, w)).astype(np.float32)
    img *= (1 + 0.35 * (speck > 0.97) - 0.25 * (speck < 0.03))[..., None].astype(np.float32)
    if line:
        x, y = coords(h, w)
        dash = ((y * 6) % 1.0 < 0.55).astype(np.float32)
        mark = smoothstep(0.012, 0.006, np.abs(x - 0.5)) * dash
        img = lerp(img, fill(h, w, line) * (1 + 0.08 * noise(rng, h, w, 8, 2))[..., None], mark * 0.9)
    return img


def mat_paving(rng, h, w, color="#b8b1a5", joint="#7d776e", cols=6, rows=9) -> Array:
    x, y = coords(h, w)
    row = np.floor(y * rows)
    xs = x * cols + (row % 2) * 0.5
    fx, fy = xs % 1.0, (y * rows) % 1.0
    g = 0.03
    edge = smoothstep(0, g, fx) * smoothstep(0, g, 1 - fx) * smoothstep(0, g, fy) * smoothstep(0, g, 1 - fy)
    idx = (np.floor(xs) + row * 17).astype(np.int32)
    shade = rng.uniform(-0.08, 0.08, int(idx.max()) + 2).astype(np.float32)
    stone = fill(h, w, color) * (1 + shade[np.clip(idx, 0, None)] + 0.06 * noise(rng, h, w, 10, 4))[..., None]
    return lerp(fill(h, w, joint), stone, edge)


def mat_snow(rng, h, w, color="#f3f6fb", shade="#b9c7dc") -> Array:
    drift = noise(rng, h, w, 2, 4, aspect=0.5)
    t = np.clip(0.25 + 0.35 * drift, 0, 1)
    img = lerp(fill(h, w, color), fill(h, w, shade), t)
    sparkle = (_pix(rng).random((h, w)) > 0.997).astype(np.float32) * 0.25
    return np.clip(img + sparkle[..., None], 0, 1.2)


def mat_rubber(rng, h, w, color="#2b2c2f") -> Array:
    img = fill(h, w, color) * (1 + 0.06 * noise(rng, h, w, 5, 3))[..., None]
    fleck = _pix(rng).random((h, w)).astype(np.float32)
    flecks = (fleck > 0.985).astype(np.float32)
    return img + flecks[..., None] * np.array([0.20, 0.20, 0.22], np.float32)


def mat_carpet(rng, h, w, color="#d9cbb8") -> Array:
    pile = _pix(rng).standard_normal((h, w)).astype(np.float32)
    pile = cv2.GaussianBlur(pile, (0, 0), max(0.7, w / 1600))
    t = 1 + 0.05 * pile / max(float(pile.std()), 1e-6) + 0.04 * noise(rng, h, w, 3, 3)
    return fill(h, w, color) * t[..., None]


def mat_leather(rng, h, w, color="#2a2624") -> Array:
    cells = noise(rng, h, w, 140, 2)
    t = 1 + 0.08 * np.abs(cells) + 0.05 * noise(rng, h, w, 2, 2)
    return fill(h, w, color) * t[..., None]


def mat_plywood(rng, h, w) -> Array:
    img = mat_wood(rng, h, w, light="#e2c597", dark="#b88c5a", planks=1)
    stain = noise(rng, h, w, 1.5, 2)
    return img * (1 + 0.05 * stain)[..., None]


def mat_plain(rng, h, w, color="#ffffff", grain=0.02) -> Array:
    return fill(h, w, color) * (1 + grain * noise(rng, h, w, 3, 4))[..., None]


MATERIALS: dict[str, Callable[..., Array]] = {
    "wood": mat_wood,
    "marble": mat_marble,
    "linen": mat_linen,
    "concrete": mat_concrete,
    "terrazzo": mat_terrazzo,
    "tiles": mat_tiles,
    "grass": mat_grass,
    "sand": mat_sand,
    "asphalt": mat_asphalt,
    "paving": mat_paving,
    "snow": mat_snow,
    "rubber": mat_rubber,
    "carpet": mat_carpet,
    "leather": mat_leather,
    "plywood": mat_plywood,
    "plain": mat_plain,
}


def material(rng, h, w, spec: Mapping[str, Any]) -> Array:
    spec = dict(spec)
    kind = spec.pop("kind")
    return MATERIALS[kind](rng, h, w, **spec)


# ---------------------------------------------------------------- geometry and light


def ground_plane(tex: Array, s: int, horizon: float, spread: float = 2.2, dof: float = 0.0) -> Array:
    """Warp a flat texture onto a floor from y=horizon*s to the bottom; far parts get blurred (dof px)."""
    th, tw = tex.shape[:2]
    hy = horizon * s
    src = np.float32([[0, 0], [tw, 0], [tw, th], [0, th]])
    far = 0.5 * (spread * 0.55)
    dst = np.float32(
        [
            [s * (0.5 - far), hy],
            [s * (0.5 + far), hy],
            [s * (0.5 + spread), s * 1.02],
            [s * (0.5 - spread), s * 1.02],
        ]
    )
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(tex, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if dof > 0:
        far_blur = blur(out, dof)
        _, y = coords(s, s)
        t = np.clip(1 - (y - horizon) / max(1e-3, (1 - horizon) * 0.75), 0, 1) ** 1.6
        out = lerp(out, far_blur, t)
    return out


def directional_light(s: int, angle: float, strength: float) -> Array:
    """Multiplicative gradient: brighter on the side the light comes from (angle: 0=right, 90=top)."""
    dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
    return smooth_field(s, lambda x, y: 1 + strength * ((x - 0.5) * dx + (y - 0.5) * dy) * 2)


def hotspot(s: int, cx: float, cy: float, radius: float, strength: float, squash: float = 1.0) -> Array:
    def f(x, y):
        return 1 + strength * np.exp(-((x - cx) ** 2 + ((y - cy) / squash) ** 2) / (radius**2))

    if radius * min(1.0, squash) < 0.05:  # too tight for the coarse grid
        x, y = coords(s, s)
        return f(x, y).astype(np.float32)
    return smooth_field(s, f)


def vignette(s: int, strength: float = 0.25) -> Array:
    def f(x, y):
        return 1 - strength * smoothstep(0.35, 1.05, np.sqrt((x - 0.5) ** 2 + (y - 0.48) ** 2) / 0.72)

    return smooth_field(s, f)


def wall(rng, s: int, spec: Mapping[str, Any]) -> Array:
    kind = spec.get("kind", "paint")
    color = spec.get("color", "#eeeae4")
    if kind == "paint":
        return mat_plain(rng, s, s, color, grain=0.012)
    if kind == "plaster":
        img = (
            fill(s, s, color)
            * (1 + 0.05 * noise(rng, s, s, 3, 5) + 0.02 * noise(rng, s, s, 12, 2))[..., None]
        )
        return img
    if kind == "tiles":
        return mat_tiles(
            rng, s, s, color, spec.get("grout", "#cfcdc8"), spec.get("cols", 9), spec.get("rows", 18)
        )
    if kind == "pegboard":
        img = mat_plain(rng, s, s, color, 0.02)
        x, y = coords(s, s)
        n = spec.get("holes", 34)
        d = np.sqrt(((x * n) % 1 - 0.5) ** 2 + ((y * n) % 1 - 0.5) ** 2)
        return img * (1 - 0.55 * smoothstep(0.14, 0.09, d))[..., None]
    if kind == "panel":  # vertical wainscot / slats
        img = mat_plain(rng, s, s, color, 0.015)
        x, _ = coords(s, s)
        n = spec.get("slats", 14)
        f = (x * n) % 1.0
        return img * (0.93 + 0.07 * smoothstep(0.0, 0.08, f) * smoothstep(0.0, 0.08, 1 - f))[..., None]
    if kind == "bokeh":
        return bokeh_field(
            rng, s, spec.get("base", color), spec.get("colors", ["#ffffff"]), spec.get("count", 40)
        )
    if kind == "window":
        img = mat_plain(rng, s, s, color, 0.01)
        bright = np.zeros((s, s), np.float32)
        x0, x1 = spec.get("x", (0.55, 0.95))
        bright[int(0.05 * s) : int(0.62 * s), int(x0 * s) : int(x1 * s)] = 1.0
        # mullions
        mx = int((x0 + x1) / 2 * s)
        bright[:, mx - s // 200 : mx + s // 200] = 0
        bright[int(0.33 * s) - s // 200 : int(0.33 * s) + s // 200, :] *= 0
        outside = colorize(
            0.5 + 0.5 * noise(rng, s, s, 4, 2), spec.get("out0", "#cfe0d2"), spec.get("out1", "#ffffff")
        )
        img = lerp(img, outside * 1.08, blur(bright, s / 60))
        return blur(img, s / 300)
    raise ValueError(f"unknown wall kind {kind!r}")


def bokeh_field(
    rng, s: int, base: str, colors, count: int, size=(0.03, 0.11), blur_px: float = 0.004
) -> Array:
    x, y = coords(s, s)
    img = colorize(y, _shade(base, 1.1), _shade(base, 0.75))
    layer = np.zeros((s, s, 3), np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(-0.05, 1.05), rng.uniform(-0.05, 0.9)
        r = rng.uniform(*size)
        col = hex_rgb(colors[int(rng.integers(len(colors)))])
        gain = rng.uniform(0.25, 0.7)
        # work in the disc's bounding box only
        xa, xb = max(0, int((cx - r) * s) - 2), min(s, int((cx + r) * s) + 3)
        ya, yb = max(0, int((cy - r) * s) - 2), min(s, int((cy + r) * s) + 3)
        if xb <= xa or yb <= ya:
            continue
        d = np.sqrt((x[ya:yb, xa:xb] - cx) ** 2 + (y[ya:yb, xa:xb] - cy) ** 2)
        disc = smoothstep(r, r * 0.92, d)
        rim = smoothstep(r * 0.75, r * 0.95, d) * disc  # a slightly brighter rim, like real lens bokeh
        layer[ya:yb, xa:xb] += (disc * gain + rim * 0.15)[..., None] * col
    layer = blur(layer, blur_px * s)
    return 1 - (1 - img) * (1 - np.clip(layer, 0, 1))  # screen blend


def _shade(color: str, f: float) -> Array:
    return np.clip(hex_rgb(color) * f, 0, 1)


def leaf_shadows(rng, s: int, strength: float = 0.22, angle: float = 135) -> Array:
    """Dappled shadow of leaves and a window frame (a 'gobo'), blurred as by a soft distant light."""
    n = min(s, 512)  # drawn at <= 512 px: the shadow is blurred by s/120, far wider than a pixel there
    canvas = np.zeros((n, n), np.uint8)
    sh = 4  # sub-pixel bits for the drawing calls
    k = n * (1 << sh)
    for _ in range(90):
        cx, cy = rng.uniform(0, 0.7), rng.uniform(0, 0.6)
        ax, ay = rng.uniform(0.02, 0.05), rng.uniform(0.008, 0.02)
        cv2.ellipse(
            canvas,
            (int(cx * k), int(cy * k)),
            (int(ax * k), int(ay * k)),
            float(rng.uniform(0, 180)),
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
            sh,
        )
    for _ in range(6):
        x0, y0 = rng.uniform(0, 0.7), rng.uniform(0, 0.5)
        p0, p1 = (int(x0 * k), int(y0 * k)), (int((x0 + 0.25) * k), int((y0 + 0.18) * k))
        cv2.line(canvas, p0, p1, 255, max(1, round(max(2, s // 300) * n / s)), cv2.LINE_AA, sh)
    m = blur(canvas.astype(np.float32) / 255.0, n / 120)
    if n != s:
        m = cv2.resize(m, (s, s), interpolation=cv2.INTER_CUBIC)
    return (1 - strength * m).astype(np.float32)


def window_light(s: int, angle: float, strength: float, softness: float) -> Array:
    """A bright parallelogram of window light falling across wall and floor."""
    n = min(s, 512)  # blurred by at least s/100: drawn at <= 512 px and upsampled
    canvas = np.zeros((n, n), np.uint8)
    left = math.cos(math.radians(angle)) < 0
    xs = [0.05, 0.42] if left else [0.58, 0.95]
    k = n * 16
    pts = np.array(
        [
            [xs[0] * k, 0.10 * k],
            [xs[1] * k, 0.10 * k],
            [(xs[1] + 0.1) * k, 0.7 * k],
            [(xs[0] + 0.1) * k, 0.7 * k],
        ],
        np.int32,
    )
    cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA, 4)
    m = blur(canvas.astype(np.float32) / 255.0, n * (0.01 + 0.05 * softness))
    if n != s:
        m = cv2.resize(m, (s, s), interpolation=cv2.INTER_CUBIC)
    return (1 + strength * m).astype(np.float32)


def podium(
    img: Array,
    s: int,
    cx: float,
    top: float,
    radius: float,
    height: float,
    color: str,
    light=135.0,
    trim: str | None = None,
) -> Array:
    """Cylinder pedestal: shaded body, a lit top ellipse and a soft contact shadow on the floor.

    Drawn in its bounding box (with the shadow's reach), not over the whole canvas."""
    ry = radius * 0.16
    base = top + height
    xa, xb = max(0, int((cx - 2.6 * radius) * s)), min(s, int((cx + 2.6 * radius) * s) + 2)
    ya, yb = max(0, int((top - ry - 0.01) * s)), min(s, int((base + 3.2 * ry + 0.01) * s) + 2)
    if xb <= xa or yb <= ya:
        return img
    out = np.array(img, np.float32, copy=True)
    box = out[ya:yb, xa:xb]
    out[ya:yb, xa:xb] = _podium_box(box, s, xa, ya, cx, top, radius, height, color, light, trim)
    return out


def _podium_box(img, s, xa, ya, cx, top, radius, height, color, light, trim) -> Array:
    h, w = img.shape[:2]
    x = np.broadcast_to((np.arange(xa, xa + w, dtype=np.float32) / s)[None, :], (h, w))
    y = np.broadcast_to((np.arange(ya, ya + h, dtype=np.float32) / s)[:, None], (h, w))
    ry = radius * 0.16
    base = top + height
    # floor shadow
    sh = np.exp(-(((x - cx) / (radius * 1.25)) ** 2 + ((y - base) / (ry * 1.2)) ** 2) * 2.2)
    img = img * (1 - 0.35 * sh)[..., None]
    c = hex_rgb(color)
    u = np.clip((x - cx) / radius, -1, 1)
    lx = math.cos(math.radians(light))
    lam = np.clip(0.75 + 0.3 * (u * lx + np.sqrt(np.clip(1 - u**2, 0, 1)) * 0.6), 0.35, 1.1)
    body_col = c[None, None, :] * lam[..., None]
    in_x = np.abs(x - cx) <= radius
    bottom_curve = base + ry * np.sqrt(np.clip(1 - ((x - cx) / radius) ** 2, 0, 1))
    body = (in_x & (y >= top) & (y <= bottom_curve)).astype(np.float32)
    top_e = (((x - cx) / radius) ** 2 + ((y - top) / ry) ** 2) <= 1.0
    aa = max(1.0, s / 900)
    body = blur(body, aa * 0.8)
    img = lerp(img, body_col, body)
    if trim:  # a metallic band under the top edge (and a ring on the top): reads against a same-hue set
        tc = hex_rgb(trim)
        front = top + ry * np.sqrt(np.clip(1 - ((x - cx) / radius) ** 2, 0, 1))
        band = (in_x & (y >= top) & (y <= front + 0.018)).astype(np.float32)
        spec = np.clip(0.8 + 0.45 * (u * lx + np.sqrt(np.clip(1 - u**2, 0, 1)) * 0.7), 0.5, 1.25)
        img = lerp(img, tc[None, None, :] * spec[..., None], blur(band, aa * 0.8))
    top_col = np.clip(c * 1.12, 0, 1)
    top_shade = 1 - 0.06 * ((y - top) / ry)
    topf = blur(top_e.astype(np.float32), aa * 0.8)
    img = lerp(img, top_col[None, None, :] * top_shade[..., None], topf)
    if trim:
        inner = (((x - cx) / (radius * 0.93)) ** 2 + ((y - top) / (ry * 0.88)) ** 2) <= 1.0
        ring = blur((top_e & ~inner).astype(np.float32), aa * 0.8)
        img = lerp(img, np.clip(hex_rgb(trim) * 1.1, 0, 1)[None, None, :] * top_shade[..., None], ring)
    return img


def sunburst(s: int, cx: float, cy: float, rays: int, c0: str, c1: str) -> Array:
    x, y = coords(s, s)
    a = np.arctan2(y - cy, x - cx)
    t = (np.sin(a * rays) > 0).astype(np.float32)
    t = blur(t, s / 700)
    r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    img = colorize(t * 0.6, c0, c1)
    return img * (1.08 - 0.25 * smoothstep(0.1, 0.9, r))[..., None]


def confetti(
    img: Array, rng, s: int, colors, count: int, keep_out: list[tuple[float, float, float, float]]
) -> Array:
    canvas = np.zeros((s, s, 3), np.uint8)
    mask = np.zeros((s, s), np.uint8)
    placed = 0
    tries = 0
    while placed < count and tries < count * 10:
        tries += 1
        cx, cy = rng.uniform(0, 1), rng.uniform(0, 1)
        if any(x0 < cx < x1 and y0 < cy < y1 for x0, y0, x1, y1 in keep_out):
            continue
        placed += 1
        col = tuple(int(v) for v in hex_rgb(colors[int(rng.integers(len(colors)))]) * 255)
        w, h = rng.uniform(0.006, 0.016) * s, rng.uniform(0.003, 0.008) * s
        rect = ((cx * s, cy * s), (w, h), float(rng.uniform(0, 180)))
        pts = cv2.boxPoints(rect).astype(np.int32)
        if rng.random() < 0.35:
            cv2.circle(canvas, (int(cx * s), int(cy * s)), int(h), col, -1, cv2.LINE_AA)
            cv2.circle(mask, (int(cx * s), int(cy * s)), int(h), 255, -1, cv2.LINE_AA)
        else:
            cv2.fillPoly(canvas, [pts], col, cv2.LINE_AA)
            cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA)
    ys, xs = np.nonzero(mask)  # the pieces cover a few per cent of the canvas: blend only there
    m = (mask[ys, xs].astype(np.float32) / 255.0)[:, None]
    px = img[ys, xs]
    img = np.array(img, np.float32, copy=True)
    img[ys, xs] = px + (canvas[ys, xs].astype(np.float32) / 255.0 - px) * m
    return img


GRAIN_TILE = 1024


def finish(img: Array, rng, grain: float = 0.012) -> Array:
    """Film grain and 8-bit output (the grain also dithers the smooth gradients: no banding)."""
    s = img.shape[0]
    n = min(s, GRAIN_TILE)  # white grain: a 1024 px tile repeated is indistinguishable from fresh noise
    g = _pix(rng).standard_normal((n, n), dtype=np.float32)
    g *= grain
    if n < s:
        reps = -(-s // n)
        g = np.tile(g, (reps, reps))[:s, :s]
    knee = 0.86  # filmic shoulder: highlights roll off instead of clipping to flat white
    img = np.asarray(img, np.float32)
    over = img - knee
    np.maximum(over, 0, out=over)
    over *= -1 / (1 - knee)
    np.exp(over, out=over)  # share of the headroom above the knee still unused
    over *= -(1 - knee)
    over += 1 - knee
    out = np.minimum(img, knee)
    out += over
    out += g[..., None]
    np.maximum(out, 0, out=out)
    return cv2.convertScaleAbs(out, alpha=255.0)  # rounds and saturates to 0..255


# ---------------------------------------------------------------- scene generators


def gen_sweep(rng, s: int, p: Mapping[str, Any]) -> Array:
    """Seamless paper sweep: wall curving into floor, soft key light falloff and a vignette."""
    x, y = coords(s, s)
    wall_c, floor_c = p["color"], p.get("floor", p["color"])
    base = colorize(smoothstep(0.45, 0.8, y), _shade(wall_c, p.get("top", 0.9)), _shade(floor_c, 1.02))
    base *= (1 + 0.008 * noise(rng, s, s, 3, 3))[..., None]
    light = directional_light(s, p.get("light", 120), p.get("falloff", 0.12))
    spot = hotspot(s, 0.5, p.get("spot_y", 0.52), p.get("spot_r", 0.42), p.get("spot", 0.16), 0.9)
    img = base * (light * spot * vignette(s, p.get("vignette", 0.28)))[..., None]
    if p.get("rim"):  # a coloured rim/gradient light from one side (dark studios)
        rim = hotspot(s, p.get("rim_x", 0.85), 0.35, 0.35, 1.0, 1.6) - 1
        img = img + rim[..., None] * hex_rgb(p["rim"]) * p.get("rim_strength", 0.5)
    if p.get("floor_shine"):
        shine = hotspot(s, 0.5, 0.86, 0.3, 1.0, 0.3) - 1
        img = img + shine[..., None] * p["floor_shine"]
    if p.get("shapes"):
        img = geo_shapes(img, rng, s, p["shapes"])
    if p.get("podium"):
        pd = p["podium"]
        img = podium(img, s, pd.get("x", 0.5), pd["top"], pd["r"], pd["h"], pd["color"], p.get("light", 120))
    return img


def geo_shapes(img: Array, rng, s: int, shapes) -> Array:
    """Soft geometric set pieces on the wall (arches, circles) as in minimal product sets."""
    x, y = coords(s, s)
    for sh in shapes:
        col = hex_rgb(sh["color"])
        if sh["kind"] == "arch":
            cx, w, top, bottom = sh["x"], sh["w"], sh["top"], sh["bottom"]
            r = w / 2
            inside = ((np.abs(x - cx) <= r) & (y >= top + r) & (y <= bottom)) | (
                ((x - cx) ** 2 + (y - top - r) ** 2) <= r * r
            )
        elif sh["kind"] == "circle":
            inside = ((x - sh["x"]) ** 2 + (y - sh["y"]) ** 2) <= sh["r"] ** 2
        else:
            continue
        m = blur(inside.astype(np.float32), max(1.0, s / 900))
        shade = directional_light(s, 135, 0.05)
        img = lerp(img, col[None, None, :] * shade[..., None], m * sh.get("alpha", 1.0))
    return img


def gen_tabletop(rng, s: int, p: Mapping[str, Any]) -> Array:
    """A table or counter against a wall, in perspective, with depth of field and soft window light."""
    hz = p.get("horizon", 0.52)
    w = wall(rng, s, p["wall"])
    w = blur(w, s * p.get("wall_blur", 0.002))
    tex = material(rng, s, s, p["surface"])
    floor = ground_plane(tex, s, hz, p.get("spread", 1.6), dof=s * p.get("dof", 0.006))
    _, y = coords(s, s)
    img = np.where((y < hz)[..., None], w, floor)
    edge = smoothstep(hz - 0.002, hz + 0.002, y)
    img = lerp(w, floor, edge)
    # contact darkening where table meets the wall, and a faint sheen on the surface
    img *= (1 - 0.25 * np.exp(-(((y - hz) / 0.012) ** 2)) * (y > hz - 0.01))[..., None]
    img *= (1 - 0.10 * np.exp(-(((hz - y) / 0.05) ** 2)) * (y < hz))[..., None]
    ang = p.get("light", 135)
    img *= directional_light(s, ang, p.get("falloff", 0.1))[..., None]
    img *= hotspot(s, 0.5, hz + 0.06, 0.45, p.get("sheen", 0.06), 0.5)[..., None]
    if p.get("window"):
        img *= window_light(s, ang, p["window"], p.get("softness", 0.6))[..., None]
    if p.get("leaves"):
        img *= leaf_shadows(rng, s, p["leaves"], ang)[..., None]
    if p.get("glow"):
        g = hotspot(s, p.get("glow_x", 0.5), 0.25, 0.35, 1.0, 1.2) - 1
        img = img + g[..., None] * hex_rgb(p["glow"]) * p.get("glow_strength", 0.5)
    if p.get("neon"):
        img = neon_strips(img, s, p["neon"], hz)
    img *= vignette(s, p.get("vignette", 0.22))[..., None]
    return img


def neon_strips(img: Array, s: int, colors, hz: float) -> Array:
    x, y = coords(s, s)
    for i, c in enumerate(colors):
        yy = 0.12 + 0.1 * i
        line = np.exp(-(((y - yy) / 0.004) ** 2)) * smoothstep(0.05, 0.15, x) * smoothstep(0.95, 0.85, x)
        glow = blur(line.astype(np.float32), s / 40)
        light = (line * 0.9 + glow * 3.0) * (y < hz)
        img = img + light[..., None] * hex_rgb(c)
        # reflection on the surface below
        refl = np.exp(-(((x - 0.5) / 0.35) ** 2)) * np.exp(-((y - hz) / 0.08)) * (y >= hz)
        img = img + (0.12 * refl)[..., None] * hex_rgb(c)
    return img


def gen_room(rng, s: int, p: Mapping[str, Any]) -> Array:
    """Interior: wall with a skirting board, floor in perspective, window light across both."""
    hz = p.get("horizon", 0.6)
    w = wall(rng, s, p["wall"])
    tex = material(rng, s, s, p["floor"])
    floor = ground_plane(tex, s, hz, p.get("spread", 2.0), dof=s * p.get("dof", 0.004))
    _, y = coords(s, s)
    img = lerp(w, floor, smoothstep(hz - 0.0015, hz + 0.0015, y))
    sk = p.get("skirting")
    if sk:
        band = smoothstep(hz - 0.035, hz - 0.033, y) * (y < hz)
        img = lerp(img, fill(s, s, sk) * (1 - 0.08 * smoothstep(hz - 0.035, hz, y))[..., None], band)
    img *= (1 - 0.22 * np.exp(-(((y - hz) / 0.01) ** 2)) * (y >= hz - 0.003))[..., None]
    ang = p.get("light", 135)
    img *= directional_light(s, ang, p.get("falloff", 0.12))[..., None]
    if p.get("window"):
        img *= window_light(s, ang, p["window"], p.get("softness", 0.5))[..., None]
    if p.get("leaves"):
        img *= leaf_shadows(rng, s, p["leaves"], ang)[..., None]
    if p.get("rug"):
        rg = p["rug"]
        rug = ground_plane(mat_carpet(rng, s, s, rg), s, hz, p.get("spread", 2.0))
        x, _ = coords(s, s)
        m = (smoothstep(0.74, 0.745, y) * smoothstep(0.97, 0.965, y) * smoothstep(0.12, 0.125, x)).astype(
            np.float32
        )
        m *= smoothstep(0.88, 0.875, x)
        img = lerp(img, rug * directional_light(s, ang, 0.1)[..., None], blur(m, 1.5))
    img *= hotspot(s, 0.5, hz + 0.1, 0.4, p.get("sheen", 0.08), 0.6)[..., None]
    img *= vignette(s, p.get("vignette", 0.22))[..., None]
    return img


def scenery(rng, s: int, hz: float, p: Mapping[str, Any]) -> Array:
    """Sky and a far, defocused landscape band above the horizon (trees, hills or city lights)."""
    x, y = coords(s, s)
    sky = colorize(smoothstep(0.0, hz, y), p.get("sky0", "#8fb8de"), p.get("sky1", "#e6eef2"))
    kind = p.get("far", "trees")
    if kind in ("trees", "hills"):
        prof = noise(rng, 1, s, 6 if kind == "trees" else 2, 3)[0]
        top = hz - (0.22 if kind == "trees" else 0.12) - 0.08 * prof
        mass = smoothstep(0.0, 0.03, y - top[None, :]) * (y <= hz + 0.02)
        tex = colorize(
            0.5 + 0.5 * noise(rng, s, s, 18, 3), p.get("far0", "#2f4f2a"), p.get("far1", "#7da85a")
        )
        sky = lerp(sky, tex, mass)
        if kind == "trees":  # sun through leaves
            sky = 1 - (1 - sky) * (1 - 0.6 * bokeh_mask(rng, s, 60, hz - 0.3, hz, p.get("spark", "#fff6d8")))
    elif kind == "city":
        canvas = np.zeros((s, s), np.uint8)
        for _ in range(26):
            bx, bw = rng.uniform(0, 1), rng.uniform(0.05, 0.14)
            bh = rng.uniform(0.1, 0.35)
            cv2.rectangle(
                canvas, (int(bx * s), int((hz - bh) * s)), (int((bx + bw) * s), int(hz * s)), 255, -1
            )
        m = canvas.astype(np.float32) / 255
        sky = lerp(sky, fill(s, s, p.get("far0", "#3b4150")), m)
        sky = 1 - (1 - sky) * (1 - 0.8 * bokeh_mask(rng, s, 70, hz - 0.35, hz, p.get("spark", "#ffcf87")))
    elif kind == "sea":
        band = (y > hz - 0.09) & (y <= hz + 0.01)
        sea = colorize(smoothstep(hz - 0.09, hz, y), p.get("far0", "#3c8dbc"), p.get("far1", "#7cc4d8"))
        sea *= (1 + 0.05 * noise(rng, s, s, 30, 2, aspect=8))[..., None]
        sky = lerp(sky, sea, band.astype(np.float32))
    elif kind == "stars":
        pr = _pix(rng)
        st = (pr.random((s, s)) > 0.9985).astype(np.float32) * pr.uniform(0.3, 1, (s, s)).astype(np.float32)
        st = cv2.GaussianBlur(st, (0, 0), max(0.6, s / 1500))
        sky = sky + (st * 2.5)[..., None]
        aur = np.exp(-(((y - 0.3 - 0.08 * np.sin(x * 6 + 1)) / 0.09) ** 2))
        sky = sky + (aur * 0.35)[..., None] * hex_rgb(p.get("aurora", "#3fe0a8"))
    return blur(sky, s * p.get("far_blur", 0.006))


def bokeh_mask(rng, s: int, count: int, y0: float, y1: float, color: str) -> Array:
    x, y = coords(s, s)
    layer = np.zeros((s, s), np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(0, 1), rng.uniform(y0, y1)
        r = rng.uniform(0.01, 0.035)
        v = rng.uniform(0.3, 1)
        xa, xb = max(0, int((cx - r) * s) - 2), min(s, int((cx + r) * s) + 3)
        ya, yb = max(0, int((cy - r) * s) - 2), min(s, int((cy + r) * s) + 3)
        if xb <= xa or yb <= ya:
            continue
        d = np.sqrt((x[ya:yb, xa:xb] - cx) ** 2 + (y[ya:yb, xa:xb] - cy) ** 2)
        layer[ya:yb, xa:xb] = np.maximum(layer[ya:yb, xa:xb], smoothstep(r, r * 0.9, d) * v)
    layer = blur(layer, s * 0.003)
    return layer[..., None] * hex_rgb(color)


def gen_outdoor(rng, s: int, p: Mapping[str, Any]) -> Array:
    hz = p.get("horizon", 0.55)
    sky = scenery(rng, s, hz, p)
    tex = material(rng, s, s, p["ground"])
    ground = ground_plane(tex, s, hz, p.get("spread", 2.4), dof=s * p.get("dof", 0.008))
    _, y = coords(s, s)
    haze = np.exp(-((y - hz) / 0.05)) * (y >= hz)
    ground = lerp(ground, fill(s, s, p.get("haze", "#dfe6ea")), haze * p.get("haze_strength", 0.35))
    img = lerp(sky, ground, smoothstep(hz - 0.002, hz + 0.004, y))
    ang = p.get("light", 60)
    img *= directional_light(s, ang, p.get("falloff", 0.1))[..., None]
    if p.get("sun"):
        sx = 0.5 + 0.45 * math.cos(math.radians(ang))
        sun = hotspot(s, sx, 0.12, 0.35, 1.0) - 1
        img = img + sun[..., None] * hex_rgb(p["sun"]) * 0.45
    if p.get("leaves"):
        img *= leaf_shadows(rng, s, p["leaves"], ang)[..., None]
    if p.get("ground_top"):  # a tabletop or rock in the foreground on which the product stands
        gt = p["ground_top"]
        top_tex = material(rng, s, s, gt["surface"])
        plane = ground_plane(top_tex, s, gt["y"], 1.4, dof=s * 0.003)
        m = smoothstep(gt["y"] - 0.001, gt["y"] + 0.002, y).astype(np.float32)
        plane *= directional_light(s, ang, 0.1)[..., None]
        img = lerp(img * (1 - 0.0 * m[..., None]), plane, m)
        img *= (1 - 0.2 * np.exp(-(((y - gt["y"]) / 0.006) ** 2)))[..., None]
    img *= vignette(s, p.get("vignette", 0.2))[..., None]
    return img


def gen_atmosphere(rng, s: int, p: Mapping[str, Any]) -> Array:
    """Mood scenes: bokeh lights (or stars, caustics, speed lines) over a glossy or matte surface."""
    hz = p.get("horizon", 0.66)
    style = p.get("style", "bokeh")
    if style == "stars":
        back = scenery(rng, s, hz, {**p, "far": "stars", "far_blur": 0.0})
    elif style == "caustics":
        back = caustics(rng, s, p["base"], p.get("light_color", "#e8fbff"))
    elif style == "speed":
        back = speed_lines(rng, s, p["base"], p.get("colors", ["#ff3b30"]))
    elif style == "sparks":
        back = bokeh_field(rng, s, p["base"], p["colors"], 26, size=(0.01, 0.05), blur_px=0.003)
        back = sparks(back, rng, s, p["colors"][0])
    else:
        back = bokeh_field(
            rng, s, p["base"], p["colors"], p.get("count", 45), tuple(p.get("size", (0.03, 0.11)))
        )
    if p.get("hearts"):
        back = hearts(back, rng, s, p["hearts"])
    if p.get("snow"):
        back = snowfall(back, rng, s)
    surf = p.get("surface")
    _, y = coords(s, s)
    if surf:
        tex = material(rng, s, s, surf)
        floor = ground_plane(tex, s, hz, 1.8, dof=s * 0.004)
        gloss = p.get("gloss", 0.0)
        if gloss:
            refl = cv2.flip(back, 0)
            shift = int((2 * hz - 1) * s)
            refl = np.roll(refl, shift, axis=0)
            refl = blur(refl, s * 0.006)
            floor = lerp(floor, refl, gloss * np.exp(-(y - hz) / 0.25) * (y >= hz))
        img = lerp(back, floor, smoothstep(hz - 0.0015, hz + 0.0015, y))
        img *= (1 - 0.2 * np.exp(-(((y - hz) / 0.008) ** 2)))[..., None]
    else:
        img = back
    if p.get("podium"):
        pd = p["podium"]
        img = podium(
            img,
            s,
            pd.get("x", 0.5),
            pd["top"],
            pd["r"],
            pd["h"],
            pd["color"],
            p.get("light", 120),
            pd.get("trim"),
        )
    if p.get("leaves"):
        img *= leaf_shadows(rng, s, p["leaves"], p.get("light", 135))[..., None]
    img *= directional_light(s, p.get("light", 120), p.get("falloff", 0.08))[..., None]
    img *= vignette(s, p.get("vignette", 0.3))[..., None]
    return img


def caustics(rng, s: int, base: str, light: str) -> Array:
    x, y = coords(s, s)
    n1 = noise(rng, s, s, 7, 2)
    n2 = noise(rng, s, s, 7, 2)
    c = (1 - np.abs(np.sin((n1 * 3 + x * 2) * math.pi))) ** 10 + (
        1 - np.abs(np.sin((n2 * 3 + y * 2) * math.pi))
    ) ** 10
    c = blur(c.astype(np.float32), s / 500)
    img = colorize(y, _shade(base, 1.1), _shade(base, 0.8))
    return img + (0.35 * c)[..., None] * hex_rgb(light)


def speed_lines(rng, s: int, base: str, colors) -> Array:
    x, y = coords(s, s)
    img = colorize(y, _shade(base, 1.3), _shade(base, 0.7))
    canvas = np.zeros((s, s, 3), np.float32)
    for _ in range(60):
        yy = rng.uniform(0.05, 0.65)
        x0 = rng.uniform(-0.3, 0.7)
        ln = rng.uniform(0.2, 0.7)
        th = rng.uniform(0.001, 0.005)
        col = hex_rgb(colors[int(rng.integers(len(colors)))]) * rng.uniform(0.4, 1)
        m = (
            np.exp(-(((y - yy) / th) ** 2))
            * smoothstep(x0, x0 + ln * 0.3, x)
            * smoothstep(x0 + ln, x0 + ln * 0.7, x)
        )
        canvas += m[..., None] * col
    canvas = cv2.GaussianBlur(canvas, (0, 0), sigmaX=s / 120, sigmaY=s / 1500)
    return img + canvas * 1.5


def sparks(img: Array, rng, s: int, color: str) -> Array:
    # sparks start in x 0.2..0.8, y 0.05..0.6 and run up to 0.09 further: work in that box plus the glow
    pad = 0.09 + 4 / 300
    xa, xb = max(0, int((0.2 - pad) * s)), min(s, int((0.8 + pad) * s) + 1)
    ya, yb = max(0, int((0.05 - pad) * s)), min(s, int((0.6 + pad) * s) + 1)
    canvas = np.zeros((yb - ya, xb - xa), np.float32)
    for _ in range(140):
        x0, y0 = rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.6)
        a = rng.uniform(-0.8, 0.8) - math.pi / 2
        ln = rng.uniform(0.02, 0.09)
        x1, y1 = x0 + ln * math.cos(a), y0 - ln * math.sin(a)
        cv2.line(
            canvas,
            (int(x0 * s) - xa, int(y0 * s) - ya),
            (int(x1 * s) - xa, int(y1 * s) - ya),
            float(rng.uniform(0.4, 1)),
            max(1, s // 900),
        )
    glow = blur(canvas, s / 300)
    out = np.array(img, np.float32, copy=True)
    out[ya:yb, xa:xb] += (canvas * 0.8 + glow * 2)[..., None] * hex_rgb(color)
    return out


def hearts(img: Array, rng, s: int, colors) -> Array:
    x, y = coords(s, s)
    layer = np.zeros((s, s, 3), np.float32)
    for _ in range(22):
        cx, cy = rng.uniform(0, 1), rng.uniform(0, 0.6)
        r = rng.uniform(0.02, 0.06)
        col = hex_rgb(colors[int(rng.integers(len(colors)))]) * rng.uniform(0.4, 0.9)
        xa, xb = max(0, int((cx - 1.3 * r) * s)), min(s, int((cx + 1.3 * r) * s) + 1)
        ya, yb = max(0, int((cy - 1.3 * r) * s)), min(s, int((cy + 1.3 * r) * s) + 1)
        if xb <= xa or yb <= ya:
            continue
        u, v = (x[ya:yb, xa:xb] - cx) / r, -(y[ya:yb, xa:xb] - cy) / r
        f = (u**2 + v**2 - 1) ** 3 - u**2 * v**3
        m = smoothstep(0.05, -0.05, f)
        layer[ya:yb, xa:xb] = np.maximum(layer[ya:yb, xa:xb], m[..., None] * col)
    return 1 - (1 - img) * (1 - blur(layer, s * 0.004))


def snowfall(img: Array, rng, s: int) -> Array:
    canvas = np.zeros((s, s), np.float32)
    for _ in range(500):
        cx, cy = int(rng.uniform(0, s)), int(rng.uniform(0, s * 0.7))
        cv2.circle(
            canvas, (cx, cy), max(1, int(rng.uniform(0.001, 0.005) * s)), float(rng.uniform(0.4, 1)), -1
        )
    canvas = blur(canvas, s / 900)
    return img + (canvas * 0.8)[..., None]


def gen_promo(rng, s: int, p: Mapping[str, Any]) -> Array:
    """Sale layout: bold colour, sunburst or blocks, a podium for the product, confetti, and an empty
    band at the top for the merchant's headline."""
    style = p.get("style", "rays")
    c0, c1 = p["colors"][0], p["colors"][1]
    x, y = coords(s, s)
    if style == "rays":
        img = sunburst(s, 0.5, 0.62, p.get("rays", 16), c0, c1)
    elif style == "split":
        diag = (x * 0.5 + y) > 0.95
        img = lerp(
            colorize(y, _shade(c0, 1.1), _shade(c0, 0.85)),
            colorize(y, c1, _shade(c1, 0.9)),
            blur(diag.astype(np.float32), s / 800),
        )
    elif style == "arches":
        img = colorize(y, _shade(c0, 1.05), _shade(c0, 0.9))
        img = geo_shapes(
            img,
            rng,
            s,
            [
                {"kind": "arch", "x": 0.5, "w": 0.62, "top": 0.2, "bottom": 0.9, "color": c1},
                {
                    "kind": "circle",
                    "x": 0.82,
                    "y": 0.22,
                    "r": 0.07,
                    "color": p["colors"][2] if len(p["colors"]) > 2 else c1,
                    "alpha": 0.8,
                },
            ],
        )
    else:  # "gradient": calm gradient with a glow behind the product
        img = colorize(y, c0, c1)
        img *= hotspot(s, 0.5, 0.6, 0.3, 0.25)[..., None]
    # a soft floor so the podium stands on something
    hz = p.get("horizon", 0.8)
    floor = colorize(
        smoothstep(hz, 1.0, y), _shade(p.get("floor", c0), 0.95), _shade(p.get("floor", c0), 0.8)
    )
    img = lerp(img, floor, smoothstep(hz - 0.003, hz + 0.003, y))
    pd = p.get("podium")
    if pd:
        img = podium(img, s, 0.5, pd["top"], pd["r"], pd["h"], pd["color"], p.get("light", 120))
        if pd.get("second"):
            img = podium(
                img,
                s,
                pd.get("x2", 0.78),
                pd["top"] + 0.07,
                pd["r"] * 0.5,
                pd["h"] - 0.07,
                pd["second"],
                p.get("light", 120),
            )
    keep = [tuple(p.get("text_box", (0.08, 0.05, 0.92, 0.27))), (0.2, 0.3, 0.8, 0.95)]
    img = confetti(img, rng, s, p.get("confetti", p["colors"]), p.get("confetti_n", 70), keep)
    img *= vignette(s, p.get("vignette", 0.15))[..., None]
    return img


GENERATORS: dict[str, Callable[[np.random.Generator, int, Mapping[str, Any]], Array]] = {
    "sweep": gen_sweep,
    "tabletop": gen_tabletop,
    "room": gen_room,
    "outdoor": gen_outdoor,
    "atmosphere": gen_atmosphere,
    "promo": gen_promo,
}


def render(kind: str, params: Mapping[str, Any], seed: int, side: int) -> Array:
    """Render one scene as an (side, side, 3) uint8 array."""
    rng = np.random.default_rng(seed)
    img = GENERATORS[kind](rng, side, params)
    return finish(np.clip(img, 0, 1), rng, params.get("grain", 0.010))


# ---------------------------------------------------------------- preset backgrounds with a small LRU cache

_RENDER_CACHE: OrderedDict[tuple[str, int], Image.Image] = OrderedDict()
_RENDER_LOCK = threading.Lock()
RENDER_CACHE_SIZE = 12  # 2048^2 RGB = 12 MiB each


def render_preset_background(model_num: str | int, long_side: int = 2048) -> Image.Image:
    """The preset's background as a square RGB image (square, so any output aspect crops from it)."""
    preset = get_preset(model_num)
    if not 64 <= long_side <= 4096:
        raise ValueError("long_side must be within 64..4096")
    key = (preset.model_num, int(long_side))
    with _RENDER_LOCK:
        hit = _RENDER_CACHE.get(key)
        if hit is not None:
            _RENDER_CACHE.move_to_end(key)
            return hit.copy()
    arr = render(preset.kind, preset.params, preset.seed, int(long_side))
    img = Image.fromarray(arr, "RGB")
    with _RENDER_LOCK:
        _RENDER_CACHE[key] = img
        while len(_RENDER_CACHE) > RENDER_CACHE_SIZE:
            _RENDER_CACHE.popitem(last=False)
    return img.copy()


def cached_background(model_num: str | int, long_side: int) -> Image.Image:
    """Like render_preset_background but returns the shared cached image (do not modify it)."""
    render_preset_background(model_num, long_side)
    with _RENDER_LOCK:
        return _RENDER_CACHE[(str(model_num), int(long_side))]


def render_cover(model_num: str | int, side: int = 384) -> Image.Image:
    """A cover thumbnail: rendered at twice the size and downsampled (keeps fine textures clean)."""
    big = render_preset_background(model_num, max(2 * side, 256))
    return big.resize((side, side), Image.Resampling.LANCZOS)
