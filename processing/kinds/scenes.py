"""The `scene_render` job kind: composite a product's cut-out onto a scene, one item per (photo, scene).

Items of one job that share a scene form a consistent set (one size rule, one baseline), planned on
small proxies and rendered one item at a time. Backgrounds and cut-outs come from `scene_library`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .. import scene_library
from ..engines import scenes
from ..engines.imageio import encode_image
from ..engines.scenes import Composite, Placement
from ..models import Scene
from . import ItemError, ItemOutcome, handles, load_item_image

if TYPE_CHECKING:
    from ..models import JobItem


# --- compositing --------------------------------------------------------------------------------------------------
@dataclass
class Frame:
    """A background prepared for the engine, which composites onto square backgrounds only.

    A square background goes in as it is. Any other photo is first cropped to the output's aspect
    around the product box (surface in frame), then padded to a square by repeating its edges; the
    engine composites the square at full frame and the padding is cropped away again."""

    image: Image.Image
    meta: dict
    compose_size: tuple[int, int]
    crop: tuple[int, int, int, int] | None = None  # the output's box inside the engine's composite

    def to_engine(self, placement: Placement | None) -> Placement | None:
        if placement is None or self.crop is None:
            return placement
        cw, ch = self.compose_size
        x0, y0, x1, y1 = self.crop
        x = None if placement.x is None else (x0 + placement.x * (x1 - x0)) / cw
        y = None if placement.y is None else (y0 + placement.y * (y1 - y0)) / ch
        return Placement(x=x, y=y, scale=placement.scale)

    def finish(self, composite: Composite) -> tuple[Image.Image, dict]:
        g = composite.geometry
        geometry = {
            "subject_box": list(g.subject_box),
            "baseline_y": g.baseline_y,
            "product_box": list(g.product_box),
            "scale": round(g.scale, 5),
            "shadow_box": list(g.shadow_box) if g.shadow_box else None,
        }
        if self.crop is None:
            return composite.image, geometry
        x0, y0, x1, y1 = self.crop

        def shift(box):
            return None if box is None else [box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0]

        geometry.update(
            subject_box=shift(geometry["subject_box"]),
            product_box=shift(geometry["product_box"]),
            shadow_box=shift(geometry["shadow_box"]),
            baseline_y=g.baseline_y - y0,
        )
        return composite.image.crop(self.crop), geometry


def frame_scene(background: Image.Image, meta: dict, out_w: int, out_h: int) -> Frame:
    w0, h0 = background.size
    if abs(w0 - h0) <= 1:
        return Frame(background, meta, (out_w, out_h))
    import cv2

    aspect = out_w / out_h
    if w0 / h0 > aspect:
        rw, rh = round(h0 * aspect), h0
    else:
        rw, rh = w0, round(w0 / aspect)
    bx0, by0, bx1, by1 = meta["product_box"]
    rx0 = round(min(max((bx0 + bx1) / 2 * w0 - rw / 2, 0), w0 - rw))
    ry0 = min(max((by0 + by1) / 2 * h0 - rh / 2, 0), h0 - rh)
    surface = meta["surface_y"] * h0
    if surface > ry0 + 0.9 * rh:  # keep some floor below the product, as the engine does
        ry0 = min(surface - 0.9 * rh, h0 - rh)
    ry0 = round(ry0)
    region = np.asarray(background.crop((rx0, ry0, rx0 + rw, ry0 + rh)))
    side = max(rw, rh)
    left, top = (side - rw) // 2, (side - rh) // 2
    square = cv2.copyMakeBorder(region, top, side - rh - top, left, side - rw - left, cv2.BORDER_REPLICATE)

    def fx(v: float) -> float:
        return (v * w0 - rx0 + left) / side

    def fy(v: float) -> float:
        return (v * h0 - ry0 + top) / side

    square_meta = {
        **meta,
        "surface_y": fy(meta["surface_y"]),
        "product_box": (fx(bx0), fy(by0), fx(bx1), fy(by1)),
    }
    s = max(out_w, out_h)
    cx0, cy0 = round(left * s / side), round(top * s / side)
    cx0, cy0 = min(cx0, s - out_w), min(cy0, s - out_h)
    return Frame(Image.fromarray(square, "RGB"), square_meta, (s, s), (cx0, cy0, cx0 + out_w, cy0 + out_h))


def _subject_height(composite: Composite) -> int:
    box = composite.geometry.subject_box
    return max(1, box[3] - box[1])


def plan_set(
    cutouts: Sequence[Image.Image],
    categories: Sequence[int],
    frame: Frame,
    placement: Placement | None,
) -> list[Placement]:
    """One size rule and one baseline for several products on one scene, decided by `compose_set`.

    `compose_set` runs on small proxies (the decision depends on the subjects' shapes only, not their
    resolution); each product's height in the set, relative to its height alone, becomes the scale of
    its own full-resolution render, so renders can run one job item at a time."""
    engine_placement = frame.to_engine(placement) or Placement()
    proxies = []
    for cut in cutouts:
        proxy = cut.copy()
        proxy.thumbnail((320, 320), Image.Resampling.LANCZOS)
        proxies.append(proxy)
    cw, ch = frame.compose_size
    k = 384 / max(cw, ch)
    small_size = (max(16, round(cw * k)), max(16, round(ch * k)))
    background = frame.image.copy()
    background.thumbnail((512, 512), Image.Resampling.BILINEAR)
    together = scenes.compose_set(
        proxies,
        background,
        frame.meta,
        category=list(categories),
        output_size=small_size,
        placement=engine_placement,
    )
    plans = []
    for proxy, category, in_set in zip(proxies, categories, together, strict=True):
        alone = scenes.compose(
            proxy,
            background,
            frame.meta,
            category=category,
            output_size=small_size,
            placement=Placement(x=engine_placement.x, y=engine_placement.y, scale=1.0),
            light_match=False,
        )
        g = in_set.geometry
        plans.append(
            Placement(
                x=((g.subject_box[0] + g.subject_box[2]) / 2) / small_size[0],
                y=g.baseline_y / small_size[1],
                scale=_subject_height(in_set) / _subject_height(alone),
            )
        )
    return plans


def set_plan(
    cutouts: Sequence[Image.Image],
    categories: Sequence[int],
    scene: Scene,
    size: tuple[int, int],
    placement: Placement | None = None,
) -> list[Placement]:
    """The engine placements of a consistent set: pass each to `render_on_scene(planned=...)`."""
    frame = frame_scene(scene_library.scene_background(scene, 512), scene.meta(), *size)
    return plan_set(cutouts, categories, frame, placement)


def render_on_scene(
    cutout: Image.Image,
    scene: Scene,
    *,
    category: int,
    size: tuple[int, int],
    placement: Placement | None = None,
    planned: Placement | None = None,
    background_side: int | None = None,
) -> tuple[Image.Image, dict]:
    """Composite one product. `placement` is the merchant's (output fractions); `planned` comes from
    `set_plan` (already in the engine's frame) and wins, so every member of a set follows one rule."""
    frame = frame_scene(scene_library.scene_background(scene, background_side), scene.meta(), *size)
    composite = scenes.compose(
        cutout,
        frame.image,
        frame.meta,
        category=category,
        output_size=frame.compose_size,
        placement=planned if planned is not None else frame.to_engine(placement),
    )
    return frame.finish(composite)


def parse_placement(values: dict) -> Placement | None:
    """x, y in 0..1 (subject centre and footprint, output fractions) and scale 0.2..3; invalid -> ValueError."""

    def number(name: str, low: float, high: float) -> float | None:
        raw = values.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
            raise ValueError(f"{name} must be a number") from None
        if not (low <= value <= high) or value != value:
            raise ValueError(f"{name} must be between {low} and {high}")
        return value

    x, y, scale = number("x", 0.0, 1.0), number("y", 0.0, 1.0), number("scale", 0.2, 3.0)
    if x is None and y is None and scale is None:
        return None
    return Placement(x=x, y=y, scale=scale if scale is not None else 1.0)


# --- the job kind ------------------------------------------------------------------------------------------------
def _item_category(item: JobItem) -> int:
    category = item.params.get("category")
    if category in scenes.CATEGORIES:
        return int(category)
    image = item.image
    if image is not None and image.product_id is not None:
        return int(image.product.category)
    return 1


def _item_cutout(item: JobItem) -> Image.Image:
    if item.image is not None:
        return scene_library.cached_cutout(item.image)
    return scene_library.cut_out(load_item_image(item).image)


def render_outcome(
    cutout: Image.Image,
    scene: Scene,
    *,
    category: int,
    size: tuple[int, int],
    placement: Placement | None = None,
    planned: Placement | None = None,
    set_size: int = 1,
) -> ItemOutcome:
    image, geometry = render_on_scene(
        cutout, scene, category=category, size=size, placement=placement, planned=planned
    )
    return ItemOutcome(
        width=image.width,
        height=image.height,
        metadata={
            "scene": scene.model_num,
            "scene_name": scene.name_en,
            "category": category,
            "geometry": geometry,
            "set_size": set_size,
        },
        file_bytes=encode_image(image, "JPEG", quality=92),
        extension="jpg",
        content_type="image/jpeg",
    )


@handles("scene_render")
def render_scene_item(item: JobItem) -> ItemOutcome:
    """One (image, scene) pair. Items of the job that share the scene form a consistent set."""
    job = item.job
    model_num = str(item.params.get("scene", ""))
    scene = Scene.objects.visible_to(job.team).filter(model_num=model_num).first()
    if scene is None:
        raise ItemError("scene_missing", f"Scene {model_num[:32]} no longer exists.")
    size = tuple(job.params.get("size") or (1024, 1024))
    try:
        placement = parse_placement(job.params.get("placement") or {})
    except ValueError as error:
        raise ItemError("bad_placement", str(error)) from None
    category = _item_category(item)
    group = [
        other
        for other in job.items.select_related("image", "image__product").order_by("position", "pk")
        if other.params.get("scene") == model_num
    ]
    if job.params.get("consistent", True) and len(group) > 1:
        index = next(i for i, other in enumerate(group) if other.pk == item.pk)
        cutouts, categories = [], []
        for other in group:
            try:
                cutouts.append(_item_cutout(other))
            except ItemError:
                if other.pk == item.pk:
                    raise
                continue  # a broken sibling leaves the set; it fails on its own turn
            categories.append(_item_category(other))
            if other.pk == item.pk:
                index = len(cutouts) - 1
        plans = set_plan(cutouts, categories, scene, size, placement)
        return render_outcome(
            cutouts[index],
            scene,
            category=category,
            size=size,
            planned=plans[index],
            set_size=len(cutouts),
        )
    return render_outcome(_item_cutout(item), scene, category=category, size=size, placement=placement)
