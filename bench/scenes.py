"""Scenes bench: recommendation quality (vs a keyword-only baseline), image category accuracy, speed.

Run: .venv/bin/python bench/scenes.py [--all-renders] [--backends e5,use,keyword]

precision@3: for each labelled title (bench/data/scene_titles.json), the top 3 scenes recommended from the
title alone (no filters); a scene is relevant when it carries the title's expected category AND at least
one of the title's suitable scene types. P@3 = mean over titles of (relevant in top 3) / 3.
The keyword-only baseline ("keyword-plain") ranks scenes by idf-weighted token overlap (English words,
Chinese character bigrams) between the title and each scene's bilingual name and description, as a plain
keyword search would. "keyword+anchors" is a stronger keyword variant shown for reference: the engine's full
ranking (category anchors + scene text) with token overlap in place of the embedding model.

Figures are printed last, in one block.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devdata import DEV_DATA  # noqa: E402  (bench/ is the script's own directory)

from processing.engines import scenes  # noqa: E402
from processing.engines.categories import CATALOG_SLUGS  # noqa: E402
from processing.engines.scenes import TextModelMissingError  # noqa: E402

SEARCH_DATA = DEV_DATA / "search"


def precision_at_3(backend: str, items: list[dict]) -> tuple[float, dict[str, float], float]:
    per_lang: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    scenes.recommend("warm up", count=3, backend=backend)  # loads the model and embeds the library
    warm = time.perf_counter() - t0
    times = []
    for it in items:
        t = time.perf_counter()
        recs = scenes.recommend(it["title"], count=3, backend=backend)
        times.append(time.perf_counter() - t)
        hits = sum(
            1
            for r in recs
            if it["category"] in r.preset.categories and set(it["types"]) & set(r.preset.scene_types)
        )
        per_lang.setdefault(it["lang"], []).append(hits / 3)
    allv = [v for vs in per_lang.values() for v in vs]
    return (
        float(np.mean(allv)),
        {k: float(np.mean(v)) for k, v in per_lang.items()},
        statistics.median(times) + 0 * warm,
    )


def image_category_accuracy() -> tuple[str, float | None, int]:
    emb_py = ROOT / "processing" / "engines" / "embedding.py"
    if not emb_py.is_file():
        return ("skipped: processing/engines/embedding.py does not exist", None, 0)
    try:
        from processing.engines import categories, embedding
    except ImportError as exc:
        return (f"skipped: cannot import the image model helpers ({exc})", None, 0)
    if not embedding.model_path().is_file():
        return (f"skipped: image model file {embedding.model_path()} missing (make models)", None, 0)
    manifest = json.loads((SEARCH_DATA / "manifest.json").read_text())
    embedder = embedding.get_embedder()
    right = total = 0
    for prod in manifest["products"]:
        img = Image.open(SEARCH_DATA / prod["images"][0]["file"]).convert("RGB")
        probs = embedder.embed(img).probs
        pred = categories.predict_category(probs, "catalog")
        right += int(pred == CATALOG_SLUGS[prod["category"]])
        total += 1
    return ("catalog products, first image, predict_category(ImageNet probs)", right / total, total)


def make_cutout(w: int = 700, h: int = 900) -> Image.Image:
    """A stored RGBA cut-out: a shaded sneaker-like shape with soft (anti-aliased) alpha edges."""
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([40, 420, w - 40, h - 60], 90, fill=(35, 90, 170, 255))
    d.ellipse([80, 180, w - 180, 640], fill=(35, 90, 170, 255))
    d.rectangle([40, h - 140, w - 40, h - 60], fill=(240, 240, 236, 255))
    a = np.asarray(im).astype(np.float32)
    x = np.linspace(-1, 1, w)[None, :, None]
    a[..., :3] *= 1 - 0.2 * x**2
    out = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    alpha = out.getchannel("A").filter(ImageFilter.GaussianBlur(1.2))
    out.putalpha(alpha)
    return out


def speed(all_renders: bool) -> dict[str, float]:
    presets = scenes.list_presets()
    sample = presets if all_renders else presets[:: max(1, len(presets) // 8)]
    render_times = []
    for p in sample:
        t = time.perf_counter()
        scenes.render_preset_background(p.model_num, 2048)
        render_times.append(time.perf_counter() - t)
    cut = make_cutout()
    nums = ["10001", "10007", "10014", "10031", "10051", "10071"]
    cold = []
    for n in nums:
        t = time.perf_counter()
        scenes.compose(cut, n, category=7, output_size=(1024, 1024))
        cold.append(time.perf_counter() - t)
    warm = []
    for _ in range(3):
        for n in nums:
            t = time.perf_counter()
            scenes.compose(cut, n, category=7, output_size=(1024, 1024))
            warm.append(time.perf_counter() - t)
    t = time.perf_counter()
    scenes.compose(cut, "10001", category=7, output_size=(1536, 2048))
    tall = time.perf_counter() - t
    return {
        "render_2048_median_s": statistics.median(render_times),
        "render_2048_all_est_s": statistics.median(render_times) * len(presets),
        "render_sampled": len(sample),
        "compose_1024_cold_median_s": statistics.median(cold),
        "compose_1024_warm_median_s": statistics.median(warm),
        "compose_9x16_2048_s": tall,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--all-renders", action="store_true", help="render every preset at 2048 (slower)")
    ap.add_argument("--backends", default="e5,use,keyword,keyword-plain")
    args = ap.parse_args()
    items = json.loads((ROOT / "bench" / "data" / "scene_titles.json").read_text())["titles"]
    print(f"labelled titles: {len(items)} ({sum(i['lang'] == 'zh' for i in items)} zh)", flush=True)

    quality = {}
    for be in args.backends.split(","):
        try:
            quality[be] = precision_at_3(be, items)
        except TextModelMissingError as exc:
            quality[be] = None
            print(f"{be}: skipped ({exc})")
    cat_note, cat_acc, cat_n = image_category_accuracy()
    sp = speed(args.all_renders)

    print()
    print("== scenes figures")
    print(f"presets: {len(scenes.list_presets())}")
    base = quality.get("keyword-plain")
    for be, q in quality.items():
        if q is None:
            continue
        p3, langs, t = q
        gap = f"  ({(p3 - base[0]) * 100:+.1f} pts vs baseline)" if base and be != "keyword-plain" else ""
        label = {"keyword-plain": "keyword baseline", "keyword": "keyword+anchors"}.get(be, f"model {be}")
        print(
            f"precision@3 {label:>16}: {p3:.3f}  zh {langs.get('zh', 0):.3f}  en {langs.get('en', 0):.3f}"
            f"  median {t * 1000:.0f} ms/title{gap}"
        )
    if cat_acc is None:
        print(f"image category accuracy: {cat_note}")
    else:
        print(f"image category accuracy: {cat_acc:.3f} on {cat_n} ({cat_note})")
    print(
        f"render preset 2048px: median {sp['render_2048_median_s']:.2f} s"
        f" (sampled {sp['render_sampled']}; all presets ~{sp['render_2048_all_est_s']:.0f} s)"
    )
    print(
        f"compose 1024x1024 from stored cut-out: median {sp['compose_1024_warm_median_s']:.3f} s with cached"
        f" background (target <= 0.5 s); first use per scene {sp['compose_1024_cold_median_s']:.2f} s;"
        f" 1536x2048 (3:4) {sp['compose_9x16_2048_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
