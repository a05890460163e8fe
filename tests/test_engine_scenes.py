"""Scenes engine: preset library, compositing geometry and shadows, recommendation, offline embedding."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from PIL import Image, ImageDraw

from processing.engines import scenes
from processing.engines.scenes import text as scene_text
from processing.engines.scenes.compose import RELATIVE_SIZE

SMALL = (256, 256)


def make_cutout(w: int = 240, h: int = 360, color=(200, 60, 50)) -> Image.Image:
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([30, h // 3, w - 30, h - 10], 30, fill=(*color, 255))
    d.rectangle([w // 2 - 25, 10, w // 2 + 25, h // 3 + 5], fill=(*color, 255))
    return im


def make_flat_scene(side: int = 512, gray: int = 200) -> Image.Image:
    return Image.new("RGB", (side, side), (gray, gray, gray))


FLAT_META = {
    "surface_y": 0.75,
    "product_box": (0.25, 0.25, 0.75, 0.75),
    "light_angle": 135.0,
    "light_softness": 0.5,
}


def test_it_covers_every_category_and_type_with_unique_model_nums():
    presets = scenes.list_presets()
    assert len(presets) >= 48
    nums = [p.model_num for p in presets]
    assert len(set(nums)) == len(nums)
    assert all(isinstance(n, str) and n for n in nums)
    for cid in scenes.CATEGORIES:
        assert any(cid in p.categories for p in presets), cid
    for tid in scenes.SCENE_TYPES:
        assert sum(tid in p.scene_types for p in presets) >= 4, tid
    for p in presets:
        x0, y0, x1, y1 = p.product_box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert abs(p.surface_y - y1) < 0.02
        assert p.name_zh and p.name_en and p.description_zh and p.description_en and p.palette


def test_it_renders_deterministically_and_resolution_independently():
    a = np.asarray(scenes.render_preset_background("10005", 192), np.float32)
    b = np.asarray(scenes.render_preset_background("10005", 192), np.float32)
    assert np.array_equal(a, b)
    big = scenes.render_preset_background("10005", 384).resize((192, 192), Image.Resampling.BOX)
    assert np.abs(np.asarray(big, np.float32) - a).mean() < 12  # same picture, not just same colours
    cover = scenes.render_cover("10071", side=96)
    assert cover.size == (96, 96)
    assert np.asarray(cover).std() > 5


def test_it_stands_the_subject_on_the_surface_inside_the_product_box():
    res = scenes.compose(make_cutout(), make_flat_scene(), FLAT_META, category=8, output_size=SMALL)
    g = res.geometry
    alpha_bottom = g.subject_box[3]
    assert abs(alpha_bottom - round(0.75 * SMALL[1])) <= 1
    assert g.baseline_y == alpha_bottom
    px0, py0, px1, py1 = g.product_box
    x0, y0, x1, y1 = g.subject_box
    assert px0 <= x0 and x1 <= px1 and py0 <= y0 and y1 <= py1 + 1
    out = np.asarray(res.image, np.float32)
    # the subject's colour is where the geometry says it is
    cx, cy = (x0 + x1) // 2, y0 + (y1 - y0) * 2 // 3
    assert out[cy, cx, 0] > out[cy, cx, 2] + 60


def test_it_casts_shadows_under_the_subject_never_above():
    res = scenes.compose(make_cutout(), make_flat_scene(gray=210), FLAT_META, category=8, output_size=SMALL)
    g = res.geometry
    ys, xs = np.nonzero(res.shadow > 0.02)
    assert len(ys) > 0
    assert ys.min() >= g.baseline_y - 0.05 * (g.subject_box[3] - g.subject_box[1])
    out = np.asarray(res.image, np.float32).mean(axis=2)
    above = out[: g.subject_box[1] - 2]
    assert np.abs(above - 210).max() <= 2  # nothing darkened above the subject
    below = out[g.baseline_y + 1 : g.baseline_y + 6, g.subject_box[0] : g.subject_box[2]]
    assert below.mean() < 200  # a contact shadow right under the footprint


def test_it_follows_the_light_direction_with_the_cast_shadow():
    left = dict(FLAT_META, light_angle=170.0, light_softness=0.2)
    right = dict(FLAT_META, light_angle=10.0, light_softness=0.2)
    cx = []
    for meta in (left, right):
        res = scenes.compose(make_cutout(), make_flat_scene(), meta, category=8, output_size=SMALL)
        sh = res.shadow[res.geometry.baseline_y + 4 :]
        xs = np.nonzero(sh > 0.02)[1]
        cx.append(xs.mean() - (res.geometry.subject_box[0] + res.geometry.subject_box[2]) / 2)
    assert cx[0] > 2 and cx[1] < -2  # light from the left throws the shadow right, and vice versa


def test_it_keeps_product_colours_while_matching_light():
    cut = make_cutout(color=(40, 120, 200))
    scene = Image.new("RGB", (512, 512), (230, 200, 150))  # warm scene
    res = scenes.compose(cut, scene, FLAT_META, category=8, output_size=SMALL)
    x0, y0, x1, y1 = res.geometry.subject_box
    inner = np.asarray(res.image, np.float32)[(y0 + y1) // 2 + 5 : y1 - 8, x0 + 10 : x1 - 10]
    assert np.abs(inner.reshape(-1, 3).mean(axis=0) - np.array([40, 120, 200])).max() < 12


def test_it_sizes_by_category_and_any_aspect():
    ring = scenes.compose(make_cutout(), "10001", category=8, output_size=SMALL, size_class="tiny").geometry
    sofa = scenes.compose(make_cutout(), "10001", category=3, output_size=SMALL).geometry
    assert (ring.subject_box[3] - ring.subject_box[1]) < 0.6 * (sofa.subject_box[3] - sofa.subject_box[1])
    assert RELATIVE_SIZE[7] > RELATIVE_SIZE[8]
    for size in [(192, 256), (256, 192), (144, 256)]:
        res = scenes.compose(make_cutout(), "10001", category=7, output_size=size)
        assert res.image.size == size
        x0, y0, x1, y1 = res.geometry.subject_box
        assert x0 >= 0 and x1 <= size[0] and y0 >= 0 and y1 <= size[1]


def test_it_renders_a_consistent_set():
    products = [make_cutout(240, 360), make_cutout(300, 300), make_cutout(180, 420)]
    out = scenes.compose_set(products, make_flat_scene(), FLAT_META, category=7, output_size=SMALL)
    heights = [r.geometry.subject_box[3] - r.geometry.subject_box[1] for r in out]
    bases = {r.geometry.baseline_y for r in out}
    assert max(heights) - min(heights) <= 2 and len(bases) == 1


def test_it_filters_and_limits_like_the_seed_api():
    recs = scenes.recommend(category_type="4", scene_type=2, count=100)
    assert recs and all(4 in r.preset.categories and 2 in r.preset.scene_types for r in recs)
    assert len(scenes.recommend(count=5)) == 5
    with pytest.raises(ValueError):
        scenes.recommend(count=0)
    with pytest.raises(ValueError):
        scenes.recommend(category_type=12)


def test_it_ranks_by_image_category_and_palette_with_reasons():
    recs = scenes.recommend(category_probs={9: 0.8, 1: 0.2}, product_palette=[("#d62828", 1.0)], count=3)
    assert all(9 in r.preset.categories for r in recs)
    signals = {d["signal"] for d in recs[0].reasons}
    assert {"category", "palette"} <= signals
    api = recs[0].to_api("/covers/x.png")
    assert api["modelNum"] == recs[0].model_num and "Tools" in api["categoryNameList"]


def test_it_scores_contrast_and_harmony():
    same = scenes.palette_match(["#f4f4f3"], ["#f4f4f3"])
    dark_on_light = scenes.palette_match(["#1a1a1a"], ["#f4f4f3"])
    assert dark_on_light["contrast"] > same["contrast"] + 0.5
    complementary = scenes.palette_match(["#1f5fbf"], ["#e08a2a"])
    clash = scenes.palette_match(["#1f5fbf"], ["#2fa040"])
    assert complementary["harmony"] > clash["harmony"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("不锈钢炒锅 家用不粘锅 厨房", {3}),
        ("Non-stick frying pan for the kitchen", {3}),
        ("5G智能手机 全网通 大屏", {11, 2}),
        ("Unlocked smartphone 128GB dual SIM", {11, 2}),
    ],
)
def test_it_recommends_from_titles_in_both_languages(title, expected):
    recs = scenes.recommend(title, count=3)
    assert all(expected & set(r.preset.categories) for r in recs), [r.preset.name_en for r in recs]
    assert recs[0].reasons[0]["signal"] in {"category", "title_similarity"}


def test_it_embeds_without_network(monkeypatch):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    emb = scene_text.TextEmbedder("e5")  # a fresh model load, not the cached one
    vecs = emb.embed_queries(["蓝牙耳机", "bluetooth earbuds"])
    assert vecs.shape[0] == 2 and float(vecs[0] @ vecs[1]) > 0.8
    assert attempts == []


def test_it_caches_scene_embeddings_to_a_file(tmp_path):
    path = tmp_path / "scene-emb.npz"
    texts = ["white studio", "kitchen counter"]
    first = scene_text.passage_matrix(texts, "e5", path)
    scene_text.clear_memory_cache()
    again = scene_text.passage_matrix(texts, "e5", path)
    assert path.is_file() and np.allclose(first, again)


def test_it_reads_scene_type_cues_from_titles():
    fit, cues = scenes.title_type_fit("Christmas gift box for her")
    assert fit[3] == 1.0 and "gift" in cues[3]
    fit, cues = scenes.title_type_fit("螺丝刀套装 精密维修工具")
    assert not cues and fit[1] == 1.0 and fit[3] < 0.5 and fit[2] < 0.5  # a tool wants a clean set
    fit, cues = scenes.title_type_fit("户外露营帐篷 防雨")
    assert fit[2] == 1.0 and fit[1] < 1.0 and "露营" in cues[2]
    assert scenes.title_type_fit("限时特价 促销")[0][4] == 1.0
    assert scenes.title_type_fit("Ergonomic office chair")[1] == {}  # word starts only: "office" is no cue
