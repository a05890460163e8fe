"""The scene library on the Django side: presets and team scenes in the database, their backgrounds and
covers in storage, cached cut-outs of catalog photos, and recommendation over presets and team scenes.

The pure engine (`engines/scenes/`) knows presets only and composites onto square backgrounds; this
module adds what needs Django. The `scene_render` job kind that composites with it is in
`kinds/scenes.py`.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from .engines import scenes
from .engines.imageio import DecodedImage, decode_image, encode_image
from .engines.scenes import text as scene_text
from .kinds import ItemError
from .models import Scene

if TYPE_CHECKING:
    from catalog.models import ProductImage, Team


logger = logging.getLogger(__name__)

COVER_SIDE = 384
BACKGROUND_SIDE = 2048
MAX_OUTPUT_SIDE = 2048
PREVIEW_SIDE = 512
ASPECTS: dict[str, tuple[int, int]] = {"1:1": (1, 1), "3:4": (3, 4), "4:3": (4, 3), "9:16": (9, 16)}
SCENE_TYPES = scenes.SCENE_TYPES
CATEGORIES = scenes.CATEGORIES


def output_dims(aspect: str, long_side: int) -> tuple[int, int]:
    a, b = ASPECTS[aspect]
    long_side = max(64, min(MAX_OUTPUT_SIDE, int(long_side)))
    return (long_side * a // max(a, b), long_side * b // max(a, b))


# --- presets ------------------------------------------------------------------------------------------
def preset_fields(preset: scenes.ScenePreset, position: int) -> dict[str, Any]:
    return {
        "team": None,
        "name_en": preset.name_en,
        "name_zh": preset.name_zh,
        "description_en": preset.description_en,
        "description_zh": preset.description_zh,
        "scene_types": list(preset.scene_types),
        "categories": list(preset.categories),
        "palette": list(preset.palette),
        "surface_y": preset.surface_y,
        "product_box": list(preset.product_box),
        "light_angle": preset.light_angle,
        "light_softness": preset.light_softness,
        "text_box": list(preset.text_box) if preset.text_box else None,
        "position": position,
    }


def sync_presets() -> tuple[int, int]:
    """Create or update one row per engine preset; returns (created, updated). Files are left alone."""
    created = updated = 0
    for position, preset in enumerate(scenes.list_presets()):
        fields = preset_fields(preset, position)
        scene = Scene.objects.filter(model_num=preset.model_num).first()
        if scene is None:
            Scene.objects.create(model_num=preset.model_num, **fields)
            created += 1
            continue
        if scene.team_id is not None:  # a modelNum is never reused; refuse to overwrite a team's scene
            raise ValueError(f"modelNum {preset.model_num} belongs to a team scene")
        changed = {k: v for k, v in fields.items() if k != "team" and getattr(scene, k) != v}
        if changed:
            Scene.objects.filter(pk=scene.pk).update(**changed)
            updated += 1
    return created, updated


def ensure_cover(scene: Scene) -> bool:
    """Render and store a preset's cover if it is missing; True when one was rendered."""
    if scene.cover and default_storage.exists(scene.cover.name):
        return False
    if not scene.is_preset:
        return False
    data = encode_image(scenes.render_cover(scene.model_num, COVER_SIDE), "JPEG", quality=90)
    name = default_storage.save(f"scenes/presets/{scene.model_num}/cover-{COVER_SIDE}.jpg", ContentFile(data))
    old = scene.cover.name
    Scene.objects.filter(pk=scene.pk).update(cover=name)
    scene.cover.name = name
    if old and old != name:
        default_storage.delete(old)
    return True


# --- backgrounds ----------------------------------------------------------------------------------------
_BACKGROUNDS: OrderedDict[tuple, Image.Image] = OrderedDict()
_BACKGROUNDS_LOCK = threading.Lock()
_BACKGROUNDS_KEPT = 6


def _remember(key: tuple, image: Image.Image) -> Image.Image:
    with _BACKGROUNDS_LOCK:
        _BACKGROUNDS[key] = image
        _BACKGROUNDS.move_to_end(key)
        while len(_BACKGROUNDS) > _BACKGROUNDS_KEPT:
            _BACKGROUNDS.popitem(last=False)
    return image


def _recall(key: tuple) -> Image.Image | None:
    with _BACKGROUNDS_LOCK:
        hit = _BACKGROUNDS.get(key)
        if hit is not None:
            _BACKGROUNDS.move_to_end(key)
        return hit


def scene_background(scene: Scene, long_side: int | None = None) -> Image.Image:
    """The scene's full background (RGB), or a smaller copy for previews. Shared: do not modify it.

    A preset's 2048 px background takes seconds to render, so it is rendered on first use and stored;
    every later use, in any process, reads the stored file. A preview asking for a smaller copy before
    that does not wait for it: the engine draws the same picture at any size (within 2-3 levels of the
    big one scaled down), so that size is drawn (about a fifth of the time at 768 px) and kept in memory,
    and the first render job, in the worker, draws and stores the full one."""
    if not scene.background and scene.is_preset:
        if long_side is not None and long_side < BACKGROUND_SIDE:
            key = (scene.pk, "drawn", long_side)
            drawn = _recall(key)
            if drawn is None:
                drawn = _remember(key, scenes.render_preset_background(scene.model_num, long_side))
            return drawn
        _store_preset_background(scene)
    full_key = (scene.pk, scene.background.name, None)
    image = _recall(full_key)
    if image is None:
        try:
            with scene.background.storage.open(scene.background.name, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            if not scene.is_preset:
                raise ItemError("scene_missing", "The scene's photo is missing from storage.") from None
            Scene.objects.filter(pk=scene.pk).update(background="")
            scene.background.name = ""
            return scene_background(scene, long_side)
        image = _remember(full_key, Image.open(io.BytesIO(data)).convert("RGB"))
    if long_side is None or max(image.size) <= long_side:
        return image
    small_key = (scene.pk, scene.background.name, long_side)
    small = _recall(small_key)
    if small is None:
        small = image.copy()
        small.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
        small = _remember(small_key, small)
    return small


def _store_preset_background(scene: Scene) -> None:
    rendered = scenes.render_preset_background(scene.model_num, BACKGROUND_SIDE)
    name = default_storage.save(
        f"scenes/presets/{scene.model_num}/background-{BACKGROUND_SIDE}.jpg",
        ContentFile(encode_image(rendered, "JPEG", quality=95)),
    )
    won = Scene.objects.filter(pk=scene.pk, background="").update(
        background=name, background_width=rendered.width, background_height=rendered.height
    )
    if not won:  # another process stored it first: use theirs
        default_storage.delete(name)
        scene.refresh_from_db(fields=["background", "background_width", "background_height"])
        return
    scene.background.name = name
    scene.background_width, scene.background_height = rendered.size
    _remember((scene.pk, name, None), rendered)


# --- team scenes -------------------------------------------------------------------------------------------
def new_team_model_num() -> str:
    return "T" + secrets.token_hex(5).upper()


def prepare_team_background(decoded: DecodedImage) -> Image.Image:
    """A team photo as stored: RGB, long side exactly 2048 px (smaller photos are enlarged)."""
    image = decoded.image.convert("RGB")
    scale = BACKGROUND_SIDE / max(image.size)
    if abs(scale - 1) > 1e-3:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def store_team_scene_files(scene: Scene, background: Image.Image) -> None:
    """Write the background and a square cover, record size and palette; `scene` must be saved."""
    old = [f.name for f in (scene.background, scene.cover) if f]
    scene.background.save(
        "background.jpg", ContentFile(encode_image(background, "JPEG", quality=92)), save=False
    )
    cover = _square_cover(background, scene.meta())
    scene.cover.save(
        f"cover-{COVER_SIDE}.jpg", ContentFile(encode_image(cover, "JPEG", quality=90)), save=False
    )
    scene.background_width, scene.background_height = background.size
    scene.palette = [hex_ for hex_, _share in scenes.dominant_palette(background)]
    scene.save(update_fields=["background", "cover", "background_width", "background_height", "palette"])
    for name in old:
        if name not in (scene.background.name, scene.cover.name):
            default_storage.delete(name)


def _square_cover(image: Image.Image, meta: dict) -> Image.Image:
    side = min(image.size)
    x0, _y0, x1, _y1 = meta["product_box"]
    cx = (x0 + x1) / 2 * image.width
    left = int(min(max(cx - side / 2, 0), image.width - side))
    top = (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize(
        (COVER_SIDE, COVER_SIDE), Image.Resampling.LANCZOS
    )


def refresh_team_cover(scene: Scene) -> None:
    """Re-crop the cover around the product box after the merchant moved it."""
    background = scene_background(scene)
    old = scene.cover.name
    cover = _square_cover(background, scene.meta())
    scene.cover.save(
        f"cover-{COVER_SIDE}.jpg", ContentFile(encode_image(cover, "JPEG", quality=90)), save=False
    )
    scene.save(update_fields=["cover"])
    if old and old != scene.cover.name:
        default_storage.delete(old)


# --- cut-outs --------------------------------------------------------------------------------------------------
def has_transparency(image: Image.Image) -> bool:
    if image.mode != "RGBA":
        return False
    alpha = np.asarray(image.getchannel("A"))
    return bool((alpha < 128).mean() > 0.01)


def cut_out(image: Image.Image) -> Image.Image:
    """The product as RGBA: a photo that is already a cut-out is used as it is."""
    if has_transparency(image):
        return image.convert("RGBA")
    try:
        from .engines.cutout import ModelMissingError, remove_background
    except ImportError as error:  # the cut-out engine is missing from this installation
        raise ItemError("model_missing", f"The cut-out engine is unavailable: {error}") from None
    try:
        result = remove_background(image.convert("RGB"), model_type="general", background="transparent")
    except ModelMissingError as error:
        raise ItemError("model_missing", str(error)) from None
    cut = result.image.convert("RGBA")
    if not np.asarray(cut.getchannel("A")).any():
        raise ItemError("no_subject", "No product was found in the photo.")
    return cut


def _cutout_name(image: ProductImage) -> str:
    return f"teams/{image.team_id}/scene-cutouts/{image.sha256[:2]}/{image.sha256}.png"


def cached_cutout(image: ProductImage, decoded: Image.Image | None = None) -> Image.Image:
    """A catalog photo's cut-out, computed once and kept in storage (previews and renders reuse it)."""
    name = _cutout_name(image)
    try:
        with default_storage.open(name, "rb") as handle:
            cut = Image.open(io.BytesIO(handle.read()))
            cut.load()
            return cut.convert("RGBA")
    except FileNotFoundError:
        pass
    if decoded is None:
        try:
            data = image.read_bytes()
        except FileNotFoundError:
            raise ItemError("file_missing", "The image file is missing from storage.") from None
        decoded = decode_image(
            data,
            min_side=settings.MIN_IMAGE_SIDE,
            max_side=settings.MAX_IMAGE_SIDE,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        ).image
    cut = cut_out(decoded)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(encode_image(cut, "PNG")))
    return cut


def has_cached_cutout(image: ProductImage) -> bool:
    return default_storage.exists(_cutout_name(image))


# --- recommendation ------------------------------------------------------------------------------------------------
def text_backend() -> str:
    backend = scene_text.DEFAULT_BACKEND
    if backend in ("e5", "use"):
        try:
            scene_text.get_text_embedder(backend).ensure_loaded()
        except scene_text.TextModelMissingError:
            logger.warning("scene text model %s is not installed; recommending by keywords", backend)
            return "keyword"
    return backend


def text_cache_path(backend: str) -> str:
    return str(settings.VAR_DIR / "cache" / f"scene-text-{backend}.npz")


def warm_text_cache() -> str:
    """Embed the preset texts once and keep them on disk, so the first recommendation is quick."""
    backend = text_backend()
    scenes.recommend("warm-up", count=1, backend=backend, cache_path=text_cache_path(backend))
    return backend


@dataclass
class SceneChoice:
    scene: Scene
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self, cover_url: str, lang: str = "en") -> dict[str, Any]:
        s = self.scene
        return {
            "modelNum": s.model_num,
            "coverUrl": cover_url,
            "name": s.name(lang),
            "categoryNameList": s.category_names,
            "sceneNameList": s.type_names,
            "score": round(self.score, 4),
            "reasons": self.reasons,
        }

    def reason_texts(self) -> list[str]:
        """The reasons in words, for the web page."""
        out = []
        for r in self.reasons:
            signal = r.get("signal")
            if signal == "category":
                out.append(
                    f"{r['categoryName']}: {round(100 * r['probability'])}% likely (from the {r['source']})"
                )
            elif signal == "title_similarity":
                out.append(f"title matches the scene's description ({round(100 * r['score'])}%)")
            elif signal == "palette":
                out.append(
                    f"colours: contrast {round(100 * r['contrast'])}%, harmony {round(100 * r['harmony'])}%"
                )
            elif signal == "filter":
                if "categoryType" in r:
                    out.append(f"category filter: {CATEGORIES[r['categoryType']][0]}")
                else:
                    out.append(f"type filter: {SCENE_TYPES[r['sceneType']][0]}")
            elif signal == "team_scene":
                out.append("your team's own scene")
        return out


def _team_vector(scene: Scene, backend: str) -> np.ndarray:
    """The scene's text embedding, cached on the row and redone when the text or the model changes."""
    key = scene_text.texts_key(backend, [scene.text()])
    if scene.text_vector_key == key and scene.text_vector:
        return np.asarray(scene.text_vector, np.float32)
    vector = scene_text.get_text_embedder(backend).embed_passages([scene.text()])[0]
    Scene.objects.filter(pk=scene.pk).update(
        text_vector=[round(float(v), 6) for v in vector], text_vector_key=key
    )
    return vector


def _best_category(probs: dict[int, float], cats: Sequence[int]) -> tuple[float, int]:
    best, best_c = 0.0, cats[0]
    for i, c in enumerate(cats):
        v = float(probs.get(c, 0.0)) * (1.0 if i == 0 else 0.9)  # the engine's rule: secondary tags 90%
        if v > best:
            best, best_c = v, c
    return best, best_c


def recommend_scenes(
    team: Team,
    *,
    title: str = "",
    category_probs: dict[int, float] | None = None,
    palette: Sequence[Any] | None = None,
    category_type: int | None = None,
    scene_type: int | None = None,
    count: int | None = None,
) -> list[SceneChoice]:
    """Presets (ranked by the engine) and the team's own scenes (scored here by the same formula)."""
    backend = text_backend()
    cache_path = text_cache_path(backend)
    title = (title or "").strip()
    palette = list(palette or [])
    preset_recs = scenes.recommend(
        title or None,
        category_probs=category_probs or None,
        product_palette=palette or None,
        category_type=category_type,
        scene_type=scene_type,
        backend=backend,
        cache_path=cache_path,
    )
    rows = {s.model_num: s for s in Scene.objects.presets()}
    choices = [SceneChoice(rows[r.model_num], r.score, r.reasons) for r in preset_recs if r.model_num in rows]
    team_scenes = [
        s for s in Scene.objects.for_team(team) if s.categories and s.matches(category_type, scene_type)
    ]
    if team_scenes:
        choices = (
            _score_team_scenes(
                team_scenes, title, category_probs, palette, category_type, scene_type, backend, cache_path
            )
            + choices
        )
    if title or category_probs or palette:
        choices.sort(key=lambda c: -c.score)  # stable: team scenes first among equals
    return choices[:count] if count else choices


def _score_team_scenes(
    team_scenes: list[Scene],
    title: str,
    category_probs: dict[int, float] | None,
    palette: list[Any],
    category_type: int | None,
    scene_type: int | None,
    backend: str,
    cache_path: str,
) -> list[SceneChoice]:
    title_probs = scenes.title_category_probs(title, backend, cache_path) if title else None
    img_probs = None
    if category_probs:
        total = sum(max(0.0, float(v)) for v in category_probs.values()) or 1.0
        img_probs = {int(k): max(0.0, float(v)) / total for k, v in category_probs.items()}
    if title_probs and img_probs:
        probs = {c: 0.6 * title_probs.get(c, 0.0) + 0.4 * img_probs.get(c, 0.0) for c in CATEGORIES}
    else:
        probs = title_probs or img_probs
    sims = None
    if title:
        # Scaled over the preset library's range, so a team scene's similarity means what a preset's does.
        preset_raw = scenes.title_scene_similarity(title, backend, cache_path)
        lo, hi = float(preset_raw.min()), float(preset_raw.max())
        if backend in ("keyword", "keyword-plain"):
            index = scene_text.KeywordIndex(
                [p.text() for p in scenes.list_presets()] + [s.text() for s in team_scenes]
            )
            raw = index.scores(title)[-len(team_scenes) :]
        else:
            q = scene_text.get_text_embedder(backend).embed_queries([title])[0]
            raw = np.array([float(_team_vector(s, backend) @ q) for s in team_scenes], np.float32)
        sims = np.clip((raw - lo) / (hi - lo), 0.0, 1.0) if hi - lo > 1e-9 else np.zeros_like(raw)
    out = []
    for i, scene in enumerate(team_scenes):
        parts: list[tuple[float, float]] = []
        reasons: list[dict[str, Any]] = [{"signal": "team_scene"}]
        if probs:
            v, c = _best_category(probs, scene.categories)
            parts.append((scenes.W_CATEGORY, v))
            source = "title+image" if (title_probs and img_probs) else ("title" if title_probs else "image")
            reasons.insert(
                0,
                {
                    "signal": "category",
                    "categoryType": c,
                    "categoryName": CATEGORIES[c][0],
                    "probability": round(float(probs.get(c, 0.0)), 4),
                    "source": source,
                },
            )
        if sims is not None:
            parts.append((scenes.W_TITLE, float(sims[i])))
            parts.append(
                (scenes.W_TYPE, max(scenes.TYPE_PRIOR.get(t, 0.5) for t in scene.scene_types or [1]))
            )
            reasons.append(
                {"signal": "title_similarity", "score": round(float(sims[i]), 4), "backend": backend}
            )
        if palette and scene.palette:
            pm = scenes.palette_match(palette, scene.palette)
            parts.append((scenes.W_PALETTE, pm["score"]))
            reasons.append({"signal": "palette", **pm, "scenePalette": list(scene.palette[:3])})
        if category_type is not None:
            reasons.append({"signal": "filter", "categoryType": category_type})
        if scene_type is not None:
            reasons.append({"signal": "filter", "sceneType": scene_type})
        score = sum(w * v for w, v in parts) / sum(w for w, _ in parts) if parts else 0.0
        out.append(SceneChoice(scene, float(score), reasons))
    return out


def product_palette(image: Image.Image) -> list[tuple[str, float]]:
    """The product's colours: a cut-out's opaque pixels, or a photo minus what matches its border."""
    if has_transparency(image):
        return scenes.dominant_palette(image)
    small = image.convert("RGB")
    small.thumbnail((128, 128))
    a = np.asarray(small, np.float32)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    distance = np.linalg.norm(a - np.median(border, axis=0), axis=-1)
    mask = distance > 40
    if mask.mean() < 0.03:  # nothing stands out from the border: use the whole picture
        return scenes.dominant_palette(small)
    rgba = np.dstack([a.astype(np.uint8), (mask * 255).astype(np.uint8)])
    return scenes.dominant_palette(Image.fromarray(rgba, "RGBA"))


def image_category_probs(image: Image.Image) -> tuple[dict[int, float] | None, int | None]:
    """Category probabilities from the shared image model, and its best guess; (None, None) without it."""
    from .engines.categories import category_scores, predict_category
    from .engines.embedding import ModelMissingError, get_embedder

    try:
        embedding = get_embedder(settings.VITRINE_MODEL_DIR).embed(image.convert("RGB"))
    except ModelMissingError:
        return None, None
    return category_scores(embedding.probs, "catalog"), predict_category(embedding.probs, "catalog")


def image_signals(image: Image.Image, cache_key: str | None = None) -> dict[str, Any]:
    """{"probs", "category", "palette"} for recommendation, cached by the caller's key (e.g. a sha256)."""
    key = f"scene-signals:{cache_key}" if cache_key else None
    if key:
        hit = cache.get(key)
        if hit is not None:
            return hit
    probs, category = image_category_probs(image)
    signals = {"probs": probs, "category": category, "palette": product_palette(image)}
    if key:
        cache.set(key, signals, timeout=24 * 3600)
    return signals


def signals_for_product_image(image: ProductImage) -> dict[str, Any]:
    cut_name = _cutout_name(image)
    has_cut = default_storage.exists(cut_name)
    key = f"{image.sha256}:{'cut' if has_cut else 'photo'}"
    hit = cache.get(f"scene-signals:{key}")
    if hit is not None:
        return hit
    if has_cut:
        source = cached_cutout(image)
    else:
        decoded = decode_image(
            image.read_bytes(),
            min_side=settings.MIN_IMAGE_SIDE,
            max_side=settings.MAX_IMAGE_SIDE,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        )
        source = decoded.image
    return image_signals(source, key)
