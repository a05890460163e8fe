"""Benchmark the erase engine on the dev set (figures printed last).

    .venv/bin/python bench/erase.py [--limit N] [--only ID ...] [--methods auto,telea,...]
                                    [--predicted-alpha] [--verbose]

Per image, all in this one process:
- detection: processing.engines.erase.detect_elements with the ground-truth subject alpha; element
  pixels per type are the ground-truth mask inside that type's polygons (grown by 4 px).
  recall = share of those pixels our removal mask covers; precision (per predicted type) = share
  of the pixels we mark as that type that are element pixels of any type; type accuracy = share of
  a type's pixels that we mark with the right type.
- keep: on images with text printed on the product, erase with object_types={} and
  non_object_types={1,2,3,4}; kept = share of printed-text pixels not erased.
- removal: PSNR / SSIM against the clean original inside the ground-truth element mask and over
  the whole image, for: our masks + our inpainter (vitrine), our masks + OpenCV Telea (baseline),
  ground-truth mask + our inpainter (mask upper bound), plus any --methods on our masks.
- residual: text lines the detector still finds after erasing that overlap element pixels.
- --predicted-alpha: the same figures with the subject alpha from the cut-out engine, as the
  product runs it (erase never sees the ground truth), timed end to end including the cut-out.
- seconds: remove_elements end to end (detect, mask, inpaint), decoded RGB in; wall clock and
  this process's CPU seconds. The machine is shared, so the same run also times two references
  on every image: the text detector alone at the previous 1024 px limit, and OpenCV Telea on our
  mask; and the load average is printed at the start and the end.
The data set is test data: nothing from it is stored or derived into the engine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from devdata import DEV_DATA  # noqa: E402  (bench/ is the script's own directory)

from processing.engines import erase  # noqa: E402
from processing.engines.erase import ocr  # noqa: E402
from processing.engines.erase.fill import inpaint_array  # noqa: E402

DATA_DIR = Path(os.environ.get("VITRINE_ERASE_DATA", DEV_DATA / "erase"))
ALL = {1, 2, 3, 4}

network_attempts: list[str] = []


def refuse_network() -> None:
    def refuse(name: str) -> Callable[..., object]:
        def blocked(*args: object, **kwargs: object) -> object:
            network_attempts.append(f"{name}{args[:2]!r}")
            raise OSError(f"network disabled in the erase bench ({name})")

        return blocked

    socket.getaddrinfo = refuse("getaddrinfo")  # type: ignore[assignment]
    socket.create_connection = refuse("create_connection")  # type: ignore[assignment]
    socket.socket.connect = refuse("connect")  # type: ignore[method-assign]


def load(path: Path, mode: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert(mode))


def type_masks(item: dict, truth: np.ndarray) -> dict[int, np.ndarray]:
    height, width = truth.shape
    masks: dict[int, np.ndarray] = {}
    for element in item["elements"]:
        region = np.zeros((height, width), np.uint8)
        polygons = element.get("polygons") or [element.get("polygon")]
        for polygon in polygons:
            if polygon:
                cv2.fillPoly(region, [np.round(np.array(polygon)).astype(np.int32)], 1)
        x0, y0, x1, y1 = element["box"]
        if not region.any():
            region[y0:y1, x0:x1] = 1
        region = cv2.dilate(region, np.ones((9, 9), np.uint8)).astype(bool)
        region[:y0] = region[y1:] = False
        region[:, :x0] = region[:, x1:] = False
        kind = int(element["type"])
        masks[kind] = masks.get(kind, np.zeros((height, width), bool)) | (region & truth)
    return masks


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff[where] ** 2)) if where is not None else float(np.mean(diff**2))
    return 99.0 if mse <= 1e-10 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    _, full = structural_similarity(a, b, channel_axis=2, data_range=255, full=True)
    local = full.mean(axis=2)
    return float(local[where].mean()) if where is not None else float(local.mean())


def timed(store: list[float], function: Callable[..., np.ndarray], *args: object) -> np.ndarray:
    started = time.perf_counter()
    value = function(*args)
    store.append(time.perf_counter() - started)
    return value


def residual_lines(image: np.ndarray, truth: np.ndarray) -> int:
    count = 0
    for line in erase.detect_text(image):
        region = np.zeros(truth.shape, np.uint8)
        cv2.fillPoly(region, [np.round(line.quad).astype(np.int32)], 1)
        area = region.sum()
        if area and (truth & region.astype(bool)).sum() > 0.2 * area:
            count += 1
    return count


def predicted_alpha_fn() -> Callable[[np.ndarray], np.ndarray] | None:
    try:
        from processing.engines import cutout
    except Exception:  # noqa: BLE001 - another engineer's module may be mid-edit
        return None
    model = REPO_ROOT / "var" / "models" / "isnet-medium.onnx"
    function = getattr(cutout, "predict_alpha", None)
    if function is None or not model.is_file():
        return None

    def predict(rgb: np.ndarray) -> np.ndarray:
        # The same call as processing/kinds/erase.py: the product's subject mask, without the crop pass.
        alpha = np.asarray(function(rgb, refine=False))
        return np.clip(alpha * 255 if alpha.dtype.kind == "f" else alpha, 0, 255).astype(np.uint8)

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--methods", default="", help="extra inpaint methods on our masks, comma-separated")
    parser.add_argument(
        "--predicted-alpha", action="store_true", help="also run with the cut-out engine's alpha"
    )
    parser.add_argument("--no-residual", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--no-speed-reference", action="store_true", help="skip timing the detector at the old 1024 limit"
    )
    args = parser.parse_args()
    refuse_network()

    items = json.loads((DATA_DIR / "manifest.json").read_text())["items"]
    if args.only:
        items = [item for item in items if item["id"] in set(args.only)]
    if args.limit:
        items = items[: args.limit]
    methods = [m for m in args.methods.split(",") if m]
    predictor = predicted_alpha_fn() if args.predicted_alpha else None

    ocr.get_ocr()
    erase.detect_text(np.full((64, 64, 3), 255, np.uint8))  # warm the sessions up

    covered: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # type -> [hit, total]
    right_type: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    marked: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # predicted type -> [true, total]
    kept: list[float] = []
    quality: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    residual: list[int] = []
    residual_before: list[int] = []
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    reference_detect: list[float] = []
    reference_telea: list[float] = []
    load_start = os.getloadavg()
    predicted_recall: list[float] = []
    predicted_kept: list[float] = []
    predicted_seconds: list[float] = []
    predicted_psnr_mask: list[float] = []
    predicted_psnr_all: list[float] = []
    predicted_covered: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # type -> [hit, total]
    predicted_telea_mask: list[float] = []
    predicted_ssim_mask: list[float] = []

    for item in items:
        rgb = load(DATA_DIR / item["file"], "RGB")
        clean = load(DATA_DIR / item["clean"], "RGB")
        truth = load(DATA_DIR / item["mask"], "L") > 127
        alpha = load(DATA_DIR / item["alpha"], "L")
        per_type = type_masks(item, truth)

        started, started_cpu = time.perf_counter(), time.process_time()
        result = erase.remove_elements(rgb, subject_alpha=alpha, object_types=ALL, non_object_types=ALL)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - started_cpu)
        if not args.no_speed_reference:
            started = time.perf_counter()
            ocr.run_detector(np.ascontiguousarray(rgb[..., ::-1]), 1024)
            reference_detect.append(time.perf_counter() - started)
        ours = result.mask > 0
        output = np.asarray(result.image)

        labelled = {t: np.zeros(truth.shape, bool) for t in ALL}
        for element in result.elements:
            element.paint_into(labelled[element.type])
        for kind, pixels in per_type.items():
            covered[kind][0] += int((ours & pixels).sum())
            covered[kind][1] += int(pixels.sum())
            right_type[kind][0] += int((labelled[kind] & pixels).sum())
            right_type[kind][1] += int(pixels.sum())
        for kind, pixels in labelled.items():
            marked[kind][0] += int((pixels & truth).sum())
            marked[kind][1] += int(pixels.sum())

        if item.get("mask_onsubject"):
            printed = load(DATA_DIR / item["mask_onsubject"], "L") > 127
            keep_mask = erase.build_removal_mask(rgb, result.elements, alpha, set(), ALL) > 0
            kept.append(1.0 - float((keep_mask & printed).sum() / max(1, printed.sum())))

        variants = {
            "vitrine": output,
            "telea (our mask)": timed(reference_telea, inpaint_array, rgb, result.mask, alpha, "telea"),
            "vitrine (gt mask)": inpaint_array(rgb, truth.astype(np.uint8) * 255, alpha, "auto"),
            "input (no erase)": rgb,
        }
        for method in methods:
            variants[f"{method} (our mask)"] = inpaint_array(rgb, result.mask, alpha, method)
        for name, image in variants.items():
            quality[name]["psnr_mask"].append(psnr(image, clean, truth))
            quality[name]["psnr_all"].append(psnr(image, clean))
            quality[name]["ssim_mask"].append(ssim(image, clean, truth))
            quality[name]["ssim_all"].append(ssim(image, clean))

        if not args.no_residual:
            residual.append(residual_lines(output, truth))
            residual_before.append(residual_lines(rgb, truth))

        if predictor is not None:
            # The product's own path: the subject comes from the cut-out engine, not the ground truth.
            started = time.perf_counter()
            predicted = predictor(rgb)
            elements = erase.detect_elements(rgb, predicted)
            removal = erase.build_removal_mask(rgb, elements, predicted, ALL, ALL)
            erased = inpaint_array(rgb, removal, predicted, "auto")
            predicted_seconds.append(time.perf_counter() - started)
            mask = removal > 0
            predicted_recall.append(float((mask & truth).sum() / max(1, truth.sum())))
            predicted_psnr_mask.append(psnr(erased, clean, truth))
            predicted_psnr_all.append(psnr(erased, clean))
            predicted_ssim_mask.append(ssim(erased, clean, truth))
            predicted_telea_mask.append(psnr(inpaint_array(rgb, removal, predicted, "telea"), clean, truth))
            for kind, pixels in per_type.items():
                predicted_covered[kind][0] += int((mask & pixels).sum())
                predicted_covered[kind][1] += int(pixels.sum())
            if item.get("mask_onsubject"):
                printed = load(DATA_DIR / item["mask_onsubject"], "L") > 127
                keep_mask = erase.build_removal_mask(rgb, elements, predicted, set(), ALL) > 0
                predicted_kept.append(1.0 - float((keep_mask & printed).sum() / max(1, printed.sum())))

        recall = float((ours & truth).sum() / max(1, truth.sum()))
        precision = float((ours & truth).sum() / max(1, ours.sum()))
        line = (
            f"{item['id']} {rgb.shape[1]}x{rgb.shape[0]} types={item['element_types']} "
            f"recall={recall:.3f} precision={precision:.3f} "
            f"psnr_mask={quality['vitrine']['psnr_mask'][-1]:.2f} "
            f"telea={quality['telea (our mask)']['psnr_mask'][-1]:.2f} s={seconds[-1]:.2f}"
        )
        if residual:
            line += f" residual={residual[-1]}/{residual_before[-1]}"
        print(line, flush=True)
        if args.verbose:
            for element in result.elements:
                features = " ".join(f"{k}={v:.2f}" for k, v in element.features.items())
                print(f"    t{element.type} subj={element.on_subject} {element.text!r} {features}")

    print()
    print(f"== erase bench: {len(items)} images from {DATA_DIR} ==")
    print("detection (pixels; recall = covered by the removal mask, any type):")
    for kind in sorted(covered):
        hit, total = covered[kind]
        good, _ = right_type[kind]
        true, count = marked[kind]
        target = 0.85 if kind == 1 else 0.95
        print(
            f"  type {kind} {erase.TYPE_NAMES[kind]:<30} recall={hit / max(1, total):.3f} "
            f"(target {target}) type-accuracy={good / max(1, total):.3f} "
            f"precision={true / max(1, count):.3f} ({count} px marked)"
        )
    hits = sum(v[0] for v in covered.values())
    totals = sum(v[1] for v in covered.values())
    print(f"  all types recall={hits / max(1, totals):.3f}")
    if kept:
        print(
            f"on-subject text kept (background-only removal): mean={np.mean(kept):.3f} "
            f"images>=0.95: {sum(k >= 0.95 for k in kept)}/{len(kept)} (target 0.95)"
        )
    print("removal quality vs clean original (mean over images):")
    for name, values in quality.items():
        print(
            f"  {name:<24} PSNR mask={np.mean(values['psnr_mask']):6.2f} dB  all={np.mean(values['psnr_all']):6.2f} dB"
            f"  SSIM mask={np.mean(values['ssim_mask']):.4f} all={np.mean(values['ssim_all']):.4f}"
        )
    gain = np.mean(quality["vitrine"]["psnr_mask"]) - np.mean(quality["telea (our mask)"]["psnr_mask"])
    print(f"  masked PSNR gain over Telea on the same masks: {gain:+.2f} dB (target +2)")
    if residual:
        print(
            f"residual text lines on element pixels: after={np.mean(residual):.2f}/image "
            f"(before={np.mean(residual_before):.2f}), images with none: "
            f"{sum(r == 0 for r in residual)}/{len(residual)}"
        )
    if predicted_recall:
        print(
            "with the cut-out engine's alpha, as the product runs it (cut-out alpha, detect, mask, inpaint):"
        )
        recalls = " ".join(
            f"type {kind}={hit / max(1, total):.3f}"
            for kind, (hit, total) in sorted(predicted_covered.items())
        )
        print(f"  recall {recalls}; per image mean={np.mean(predicted_recall):.3f}")
        if predicted_kept:
            print(
                f"  on-subject text kept: mean={np.mean(predicted_kept):.3f} "
                f"images>=0.95: {sum(k >= 0.95 for k in predicted_kept)}/{len(predicted_kept)} (target 0.95)"
            )
        gain = np.mean(predicted_psnr_mask) - np.mean(predicted_telea_mask)
        print(
            f"  PSNR mask={np.mean(predicted_psnr_mask):.2f} dB (Telea on the same masks "
            f"{np.mean(predicted_telea_mask):.2f} dB, gain {gain:+.2f}) all={np.mean(predicted_psnr_all):.2f} dB "
            f"SSIM mask={np.mean(predicted_ssim_mask):.4f}"
        )
        print(f"  median {statistics.median(predicted_seconds):.2f} s per image end to end (target 2.0)")
    elif args.predicted_alpha:
        print("with the cut-out engine's alpha: not available (no predict_alpha or model file)")
    print(
        f"seconds per image end to end: median={statistics.median(seconds):.2f} "
        f"max={max(seconds):.2f} (target 2.0; {os.cpu_count()} cores); "
        f"CPU seconds median={statistics.median(cpu_seconds):.2f}"
    )
    references = f"Telea on our mask median={statistics.median(reference_telea):.2f}"
    if reference_detect:
        references = (
            f"text detector alone at the previous 1024 px limit median={statistics.median(reference_detect):.2f}, "
            + references
        )
    load_end = os.getloadavg()
    print(
        f"same-run references (s): {references}; load average "
        f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at end (1 min)"
    )
    print(f"network attempts: {len(network_attempts)}")


if __name__ == "__main__":
    main()
