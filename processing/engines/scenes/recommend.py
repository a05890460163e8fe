"""Scene recommendation: the library's presets ranked for a product, with structured reasons. No Django.

- `recommend(product_title=None, category_probs=None, product_palette=None, category_type=None,
  scene_type=None, count=None)` -> list[Recommendation], best first, each with structured reasons.
- `dominant_palette(image)`: a product's palette (alpha-aware) for `recommend`.
- `title_category_probs`, `title_scene_similarity`, `title_type_fit`, `palette_match`: the signals, also
  used on their own by the Django side to rank team scenes with the same weights.

How recommendation ranks (`score` in 0..1, weights renormalised over the signals given):
- category match (0.55): the probability that the product belongs to one of the scene's categories.
  From the title, the multilingual embedding's similarity to one anchor text per category (both
  languages) turns into probabilities with a softmax; from the image, the caller's category probabilities
  (e.g. ImageNet classes mapped by `categories.category_scores`). Both present: averaged, title 0.6.
- title similarity (0.30): cosine between the title and the scene's bilingual description, scaled to
  0..1 over the library (the description names what the scene suits: "for cookware, knives...").
- scene-type fit (0.25, with a title): how well the scene's best type suits the product (`title_type_fit`):
  studios, tabletops and interiors suit nearly any product and sale layouts nearly any listing (prior 1.0
  and 0.85); outdoor and mood scenes start at 0.3 and rise to 1.0 only when the title carries a cue for
  them (outdoor use; gift, festival, glow; sale words lift promotion), so a right-category mood scene no
  longer outranks the clean studio a product photo usually wants.
- palette (0.15): contrast of the product's colours against the scene's and hue harmony
  (analogous or complementary hues score high, neutrals go with anything, a near-identical colour low).
"""

from __future__ import annotations

import colorsys
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from processing.engines.scenes import render
from processing.engines.scenes.library import (
    ATMOSPHERE,
    CATEGORIES,
    CATEGORY_ANCHORS,
    INDOOR,
    OUTDOOR,
    PRESETS,
    SCENE_TYPES,
    TYPE_CUES,
    ScenePreset,
)
from processing.engines.scenes.text import DEFAULT_BACKEND, KeywordIndex, get_text_embedder, passage_matrix

# ---------------------------------------------------------------- colour


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB 0..1 -> CIE Lab (D65)."""
    c = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], np.float32)
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883], np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)
    return lab.astype(np.float32)


def _hex(c: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(max(0, min(1, v)) * 255)):02x}" for v in c)


def _rgb(c: str | Sequence[float]) -> np.ndarray:
    if isinstance(c, str):
        return render.hex_rgb(c)
    a = np.asarray(c, np.float32)
    return a / 255.0 if a.max() > 1.0 else a


def dominant_palette(image: Image.Image, k: int = 3) -> list[tuple[str, float]]:
    """Up to k (hex colour, share) pairs of the opaque pixels, largest share first (k-means in Lab)."""
    im = image.convert("RGBA")
    im.thumbnail((96, 96))
    a = np.asarray(im, np.float32) / 255.0
    px = a[..., :3][a[..., 3] > 0.5]
    if len(px) == 0:
        px = a[..., :3].reshape(-1, 3)
    k = max(1, min(k, len(px)))
    lab = _srgb_to_lab(px).astype(np.float32)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(7)
    _, labels, _ = cv2.kmeans(lab, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    out = []
    for i in range(k):
        sel = px[labels == i]
        if len(sel):
            out.append((_hex(np.median(sel, axis=0)), len(sel) / len(px)))
    return sorted(out, key=lambda t: -t[1])


def _palette_items(palette: Iterable[Any]) -> list[tuple[np.ndarray, float]]:
    items = []
    for entry in palette:
        pair = isinstance(entry, tuple | list) and len(entry) == 2 and isinstance(entry[1], float | int)
        if pair and (
            isinstance(entry[0], str) or (isinstance(entry[0], tuple | list) and len(entry[0]) == 3)
        ):
            items.append((_rgb(entry[0]), float(entry[1])))
            continue
        items.append((_rgb(entry), 1.0))
    total = sum(w for _, w in items) or 1.0
    return [(c, w / total) for c, w in items]


def palette_match(product_palette: Iterable[Any], scene_palette: Sequence[str]) -> dict[str, float]:
    """Contrast of the product against the scene and hue harmony, each 0..1, and their blend `score`."""
    prod = _palette_items(product_palette)
    if not prod:
        return {"contrast": 0.5, "harmony": 0.5, "score": 0.5}
    scene_w = [0.6, 0.3, 0.1][: len(scene_palette)]
    scene = [(_rgb(c), w / sum(scene_w)) for c, w in zip(scene_palette, scene_w, strict=False)]
    contrast = harmony = 0.0
    for pc, pw in prod:
        pl = _srgb_to_lab(pc)
        ph, _, ps = colorsys.rgb_to_hls(*pc.tolist())
        p_chroma = float(np.hypot(pl[1], pl[2]))
        for sc, sw in scene:
            sl = _srgb_to_lab(sc)
            de = float(np.linalg.norm(pl - sl))
            dl = abs(float(pl[0] - sl[0]))
            # stands out: lightness difference matters most, any colour difference helps
            c = min(1.0, 0.65 * dl / 35.0 + 0.35 * de / 60.0)
            s_chroma = float(np.hypot(sl[1], sl[2]))
            if p_chroma < 12 or s_chroma < 12:
                h = 0.75  # neutrals go with anything
            else:
                sh = colorsys.rgb_to_hls(*sc.tolist())[0]
                d = abs(ph - sh) * 360.0
                d = min(d, 360 - d)
                h = max(
                    math.exp(-((d / 30.0) ** 2)),  # analogous
                    math.exp(-(((d - 180) / 35.0) ** 2)),  # complementary
                    0.7 * math.exp(-(((d - 120) / 20.0) ** 2)),  # triadic
                    0.25,
                )
                if de < 12:  # the product would melt into the background
                    h *= 0.5
            contrast += pw * sw * c
            harmony += pw * sw * h
    score = 0.55 * contrast + 0.45 * harmony
    return {"contrast": round(contrast, 4), "harmony": round(harmony, 4), "score": round(score, 4)}


# ---------------------------------------------------------------- recommendation

W_CATEGORY, W_TITLE, W_PALETTE, W_TYPE = 0.55, 0.30, 0.15, 0.25
# How well each scene type suits a product photo before the title says anything: a clean studio, tabletop
# or interior suits nearly any product, and a sale layout nearly any listing; an outdoor or mood scene only
# a product the title places outdoors or as a gift / festive / glowing item (`title_type_fit` lifts those).
TYPE_PRIOR = {1: 1.0, 4: 0.85, 3: 0.3, 2: 0.3}
# With a cue, the type's fit rises to this; an outdoor product also fits an interior a little less.
TYPE_CUED = {2: 1.0, 3: 1.0, 4: 1.0}
INDOOR_WHEN_OUTDOOR = 0.8
CATEGORY_TEMPERATURE = {"e5": 0.008, "use": 0.03, "keyword": 1.0}


@dataclass
class Recommendation:
    preset: ScenePreset
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def model_num(self) -> str:
        return self.preset.model_num

    def to_api(self, cover_url: str = "", lang: str = "en") -> dict[str, Any]:
        """The seed's response item (coverUrl is the caller's: it knows where covers are served)."""
        p = self.preset
        return {
            "modelNum": p.model_num,
            "coverUrl": cover_url,
            "name": p.name_zh if lang == "zh" else p.name_en,
            "categoryNameList": p.category_names,
            "sceneNameList": p.type_names,
            "score": round(self.score, 4),
            "reasons": self.reasons,
        }


def _parse_filter(value: Any, valid: Mapping[int, Any], name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one of {sorted(valid)}") from None
    if v not in valid:
        raise ValueError(f"{name} must be one of {sorted(valid)}")
    return v


def _anchor_texts() -> list[str]:
    out = []
    for cid in sorted(CATEGORY_ANCHORS):
        out.extend(CATEGORY_ANCHORS[cid])
    return out


_KEYWORD_INDEX: KeywordIndex | None = None


def title_category_probs(title: str, backend: str = DEFAULT_BACKEND, cache_path=None) -> dict[int, float]:
    """Category probabilities read off a product title (softmax over similarities to the anchors)."""
    cids = sorted(CATEGORY_ANCHORS)
    if backend == "keyword-plain":
        return {}
    if backend == "keyword":
        idx = KeywordIndex(_anchor_texts())
        s = idx.scores(title).reshape(len(cids), -1).max(axis=1)
        if s.max() <= 0:
            return {c: 1.0 / len(cids) for c in cids}
        e = np.exp(s - s.max())
    else:
        anchors = passage_matrix(_anchor_texts(), backend, _sub_cache(cache_path, "anchors"))
        q = get_text_embedder(backend).embed_queries([title])[0]
        s = (anchors @ q).reshape(len(cids), -1).max(axis=1)
        e = np.exp((s - s.max()) / CATEGORY_TEMPERATURE[backend])
    p = e / e.sum()
    return {c: float(v) for c, v in zip(cids, p, strict=True)}


def _sub_cache(cache_path, tag: str):
    if not cache_path:
        return None
    p = Path(cache_path)
    return p.with_name(f"{p.stem}.{tag}{p.suffix or '.npz'}")


def title_scene_similarity(title: str, backend: str = DEFAULT_BACKEND, cache_path=None) -> np.ndarray:
    """Raw similarity of the title to every preset's description, in PRESETS order."""
    texts = [p.text() for p in PRESETS]
    if backend in ("keyword", "keyword-plain"):
        global _KEYWORD_INDEX
        if _KEYWORD_INDEX is None:
            _KEYWORD_INDEX = KeywordIndex(texts)
        return _KEYWORD_INDEX.scores(title)
    mat = passage_matrix(texts, backend, _sub_cache(cache_path, "scenes"))
    q = get_text_embedder(backend).embed_queries([title])[0]
    return mat @ q


def _cue_pattern(words: Sequence[str]) -> re.Pattern[str]:
    en = sorted({w for w in words if w.isascii()}, key=len, reverse=True)
    zh = sorted({w for w in words if not w.isascii()}, key=len, reverse=True)
    alts = [rf"\b{re.escape(w)}(?:s|es|ing|ed|er|ers|ies|y)?\b" for w in en] + [re.escape(w) for w in zh]
    return re.compile("|".join(alts), re.IGNORECASE)


_CUE_PATTERNS = {t: _cue_pattern(words) for t, words in TYPE_CUES.items()}


def title_type_fit(title: str) -> tuple[dict[int, float], dict[int, list[str]]]:
    """How well each scene type suits the titled product (0..1) and the cue words that said so.

    Starts from TYPE_PRIOR (what product photos usually need) and lifts a type to TYPE_CUED when the title
    carries one of its cue words (library.TYPE_CUES: outdoor use, gift / festival / glow, sale)."""
    fit = dict(TYPE_PRIOR)
    cues: dict[int, list[str]] = {}
    for t, pat in _CUE_PATTERNS.items():
        found = sorted({m.group(0).lower() for m in pat.finditer(title)})
        if found:
            cues[t] = found
            fit[t] = max(fit[t], TYPE_CUED[t])
    if INDOOR in fit and OUTDOOR in cues and ATMOSPHERE not in cues:
        fit[INDOOR] = min(fit[INDOOR], INDOOR_WHEN_OUTDOOR)
    return fit, cues


def _scale01(v: np.ndarray) -> np.ndarray:
    lo, hi = float(v.min()), float(v.max())
    return np.zeros_like(v) if hi - lo < 1e-9 else (v - lo) / (hi - lo)


def _match(probs: Mapping[int, float], cats: Sequence[int]) -> tuple[float, int]:
    """Best category of the scene for this product: (probability, category); secondary tags count 90%."""
    best, best_c = 0.0, cats[0]
    for i, c in enumerate(cats):
        v = float(probs.get(c, 0.0)) * (1.0 if i == 0 else 0.9)
        if v > best:
            best, best_c = v, c
    return best, best_c


def recommend(
    product_title: str | None = None,
    *,
    category_probs: Mapping[int, float] | None = None,
    product_palette: Iterable[Any] | None = None,
    category_type: int | str | None = None,
    scene_type: int | str | None = None,
    count: int | None = None,
    backend: str = DEFAULT_BACKEND,
    cache_path: str | None = None,
) -> list[Recommendation]:
    """Scenes ranked for a product. Filters and `count` (1-100) follow the seed's scene query API; with no
    product signal at all the filtered library comes back in catalogue order."""
    cat_filter = _parse_filter(category_type, CATEGORIES, "categoryType")
    type_filter = _parse_filter(scene_type, SCENE_TYPES, "sceneType")
    if count is not None and not (isinstance(count, int) and 1 <= count <= 100):
        raise ValueError("count must be an integer within 1..100")
    title = (product_title or "").strip()
    palette = list(product_palette) if product_palette is not None else []

    idx = [
        i
        for i, p in enumerate(PRESETS)
        if (cat_filter is None or cat_filter in p.categories)
        and (type_filter is None or type_filter in p.scene_types)
    ]
    title_probs = title_category_probs(title, backend, cache_path) if title else None
    img_probs = None
    if category_probs:
        total = sum(max(0.0, float(v)) for v in category_probs.values()) or 1.0
        img_probs = {int(k): max(0.0, float(v)) / total for k, v in category_probs.items()}
    if title_probs and img_probs:
        probs = {c: 0.6 * title_probs.get(c, 0.0) + 0.4 * img_probs.get(c, 0.0) for c in CATEGORIES}
    else:
        probs = title_probs or img_probs
    sims = _scale01(title_scene_similarity(title, backend, cache_path)) if title else None
    type_fit, type_cues = title_type_fit(title) if title else (None, {})

    recs = []
    for i in idx:
        p = PRESETS[i]
        parts: list[tuple[float, float]] = []
        reasons: list[dict[str, Any]] = []
        if probs:
            v, c = _match(probs, p.categories)
            parts.append((W_CATEGORY, v))
            reasons.append(
                {
                    "signal": "category",
                    "categoryType": c,
                    "categoryName": CATEGORIES[c][0],
                    "probability": round(float(probs.get(c, 0.0)), 4),
                    "source": "title+image"
                    if (title_probs and img_probs)
                    else ("title" if title_probs else "image"),
                }
            )
        if sims is not None:
            parts.append((W_TITLE, float(sims[i])))
            best_t = max(p.scene_types, key=lambda t: type_fit[t])
            parts.append((W_TYPE, type_fit[best_t]))
            reasons.append(
                {"signal": "title_similarity", "score": round(float(sims[i]), 4), "backend": backend}
            )
            reasons.append(
                {
                    "signal": "scene_type",
                    "sceneType": best_t,
                    "sceneTypeName": SCENE_TYPES[best_t][0],
                    "score": round(type_fit[best_t], 4),
                    "cues": type_cues.get(best_t, []),
                }
            )
        if palette:
            pm = palette_match(palette, p.palette)
            parts.append((W_PALETTE, pm["score"]))
            reasons.append({"signal": "palette", **pm, "scenePalette": list(p.palette[:3])})
        score = sum(w * v for w, v in parts) / sum(w for w, _ in parts) if parts else 0.0
        if cat_filter is not None:
            reasons.append({"signal": "filter", "categoryType": cat_filter})
        if type_filter is not None:
            reasons.append({"signal": "filter", "sceneType": type_filter})
        recs.append(Recommendation(p, float(score), reasons))
    if title or probs or palette:
        recs.sort(key=lambda r: -r.score)  # stable: ties keep catalogue order
        contributions = {
            "category": W_CATEGORY,
            "title_similarity": W_TITLE,
            "scene_type": W_TYPE,
            "palette": W_PALETTE,
        }
        for r in recs:
            r.reasons.sort(key=lambda d: -contributions.get(d["signal"], 0) * _reason_value(d))
    return recs[:count] if count else recs


def _reason_value(d: Mapping[str, Any]) -> float:
    return float(d.get("probability", d.get("score", 0.0)))
