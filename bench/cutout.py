"""Benchmark the cut-out engine against baselines on the dev set.

    .venv/bin/python bench/cutout.py [--limit N] [--only ID ...] [--no-baselines]
    .venv/bin/python bench/cutout.py --soak 200     # memory check: RSS over N consecutive images
    .venv/bin/python bench/cutout.py --cache --no-baselines --ablate --per-image   # quality iteration

With --cache, the engine's model calls (cutout.model.run_model) are memoised on disk, keyed by the
exact model input (pixels, size, model type): post-processing changes can be measured in
seconds, and only new crops cost a model run. Timings are meaningless with --cache; judge
speed from a run without it.

Methods, all run in this one process on the same images:
- vitrine: processing.engines.cutout.predict_alpha (the engine)
- raw: the upstream ISNet model at 1024x1024, output thresholded at 0.5, no post-processing
- rembg: rembg 2.x "dis_custom" session on the same upstream ONNX file (bench-only dependency)
- grabcut: OpenCV GrabCut initialised from a centred rectangle
- no-<step> (with --ablate): the engine with one step switched off, to see what it pays for

Speed is reported as the median seconds per image and as the median per-image ratio to the raw
model in the same run (the machine is shared; the ratio is what survives the load). Memory per
method is the peak RSS sampled while its calls run and the largest rise above the RSS before a
call; --soak checks that RSS stays flat over many images.

Metrics per image, then means overall and per hard-case tag / subject kind:
- IoU at alpha 0.5; SAD = sum |alpha - gt| / 1000 with alpha in 0..1; boundary F-score with a
  3 px tolerance. Seconds are end to end (decoded RGB in, full-resolution matte out).
The data set is test data: nothing from it is stored or derived into the engine.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from devdata import DEV_DATA  # noqa: E402  (bench/ is the script's own directory)

from processing.engines import cutout  # noqa: E402
from processing.engines.cutout import model as cutout_model  # noqa: E402

DATA_DIR = Path(os.environ.get("VITRINE_CUTOUT_DATA", DEV_DATA / "cutout"))
BOUNDARY_TOLERANCE_PX = 3

AlphaFn = Callable[[np.ndarray], np.ndarray]


# --- network guard: every method must run offline -------------------------------------------

network_attempts: list[str] = []


def refuse_network() -> None:
    def refuse(name: str) -> Callable[..., object]:
        def blocked(*args: object, **kwargs: object) -> object:
            network_attempts.append(f"{name}{args[:2]!r}")
            raise OSError(f"network disabled in the cut-out bench ({name})")

        return blocked

    socket.getaddrinfo = refuse("getaddrinfo")  # type: ignore[assignment]
    socket.create_connection = refuse("create_connection")  # type: ignore[assignment]
    socket.socket.connect = refuse("connect")  # type: ignore[method-assign]


# --- metrics --------------------------------------------------------------------------------


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    predicted, expected = alpha >= 0.5, truth >= 0.5
    union = np.logical_or(predicted, expected).sum()
    return float(np.logical_and(predicted, expected).sum() / union) if union else 1.0


def sad(alpha: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(alpha - truth).sum() / 1000.0)


def boundary(mask: np.ndarray) -> np.ndarray:
    as_u8 = mask.astype(np.uint8)
    return (as_u8 - cv2.erode(as_u8, np.ones((3, 3), np.uint8))).astype(bool)


def boundary_f(alpha: np.ndarray, truth: np.ndarray) -> float:
    predicted, expected = boundary(alpha >= 0.5), boundary(truth >= 0.5)
    if not predicted.any() and not expected.any():
        return 1.0
    if not predicted.any() or not expected.any():
        return 0.0

    def distance_to(edges: np.ndarray) -> np.ndarray:
        return cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, 3)

    precision = float((distance_to(expected)[predicted] <= BOUNDARY_TOLERANCE_PX).mean())
    recall = float((distance_to(predicted)[expected] <= BOUNDARY_TOLERANCE_PX).mean())
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# --- methods --------------------------------------------------------------------------------


def make_raw() -> AlphaFn:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = cutout.default_threads()
    session = ort.InferenceSession(
        str(cutout.model_dir() / "isnet-medium.onnx"), options, providers=["CPUExecutionProvider"]
    )

    def run(rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        square = cv2.resize(rgb, (1024, 1024), interpolation=cv2.INTER_AREA).astype(np.float32)
        tensor = ((square - 128.0) / 256.0).transpose(2, 0, 1)[None]
        prob = session.run(["output"], {"input": np.ascontiguousarray(tensor)})[0][0, 0]
        prob = cv2.resize(prob, (width, height), interpolation=cv2.INTER_LINEAR)
        return (prob >= 0.5).astype(np.float32)

    return run


def make_rembg() -> AlphaFn:
    import onnxruntime as ort
    from rembg import new_session, remove

    options = ort.SessionOptions()
    options.intra_op_num_threads = cutout.default_threads()
    # rembg only accepts custom models inside its home directory; point its home at ours.
    os.environ["U2NET_HOME"] = str(cutout.model_dir())
    session = new_session(
        "dis_custom", sess_opts=options, model_path=str(cutout.model_dir() / "isnet-medium.onnx")
    )

    def run(rgb: np.ndarray) -> np.ndarray:
        out = remove(Image.fromarray(rgb), session=session)
        return np.asarray(out, dtype=np.float32)[..., 3] / 255.0

    return run


def make_grabcut() -> AlphaFn:
    # GrabCut's cost grows fast with size; 512 px keeps it within a few seconds per image.
    def run(rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        scale = 512 / max(height, width)
        small = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        rect = (int(sw * 0.1), int(sh * 0.1), int(sw * 0.8), int(sh * 0.8))
        mask = np.zeros((sh, sw), np.uint8)
        cv2.grabCut(
            cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
            mask,
            rect,
            np.zeros((1, 65), np.float64),
            np.zeros((1, 65), np.float64),
            5,
            cv2.GC_INIT_WITH_RECT,
        )
        foreground = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
        return (cv2.resize(foreground, (width, height), interpolation=cv2.INTER_LINEAR) >= 0.5).astype(
            np.float32
        )

    return run


def make_vitrine(disabled_step: str | None = None) -> AlphaFn:
    def run(rgb: np.ndarray) -> np.ndarray:
        saved = dict(cutout.STEPS)
        if disabled_step:
            cutout.STEPS[disabled_step] = False
        try:
            return cutout.predict_alpha(rgb).astype(np.float32) / 255.0
        finally:
            cutout.STEPS.update(saved)

    return run


def enable_model_cache(directory: Path) -> None:
    """Memoise cutout.model.run_model on disk, keyed by its exact input."""
    directory.mkdir(parents=True, exist_ok=True)
    compute = cutout_model.run_model

    def cached(rgb: np.ndarray, size: tuple[int, int], model_type: str = "general") -> np.ndarray:
        digest = hashlib.sha1(np.ascontiguousarray(rgb).tobytes())
        digest.update(repr((rgb.shape, tuple(size), model_type)).encode())
        path = directory / f"{digest.hexdigest()}.npy"
        if path.is_file():
            return np.load(path).astype(np.float32)
        output = compute(rgb, size, model_type)
        np.save(path, output)
        return output

    cutout_model.run_model = cached  # type: ignore[assignment]


# --- runner ---------------------------------------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Peak RSS while one call runs, sampled from a background thread every few milliseconds.

    All methods share one process, so the process-wide peak cannot tell them apart; the peak
    during each method's own calls, and how far it rises above the RSS just before the call,
    can.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0.0
        self._running = False
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, rss_mib())
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.before = rss_mib()
        self.peak = self.before
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        assert self._thread is not None
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


def load_items(limit: int | None, only: list[str] | None) -> list[dict]:
    items = json.loads((DATA_DIR / "manifest.json").read_text())["items"]
    if only:
        items = [item for item in items if item["id"] in only]
    return items[:limit] if limit else items


def load_pair(item: dict) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(DATA_DIR / item["file"]).convert("RGB"))
    truth = np.asarray(Image.open(DATA_DIR / item["alpha"]).convert("L"), dtype=np.float32) / 255.0
    return rgb, truth


def soak(count: int) -> None:
    items = load_items(None, None)
    predict = make_vitrine()
    predict(load_pair(items[0])[0])
    gc.collect()
    start = rss_mib()
    samples = []
    for index in range(count):
        rgb, _ = load_pair(items[index % len(items)])
        predict(rgb)
        if index % 25 == 24:
            gc.collect()
            samples.append(rss_mib())
            print(f"  after {index + 1:4d} images: RSS {samples[-1]:7.1f} MiB", flush=True)
    gc.collect()
    end = rss_mib()
    print(
        f"soak: {count} images, RSS start {start:.1f} MiB, end {end:.1f} MiB, growth {end - start:+.1f} MiB"
    )
    print(f"peak RSS {peak_rss_mib():.1f} MiB; network attempts: {len(network_attempts)}")


def main() -> int:
    parser = argparse.ArgumentParser(description="cut-out engine benchmark")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--only", nargs="+", help="image ids, e.g. c014")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--methods", nargs="+", help="subset of: vitrine raw rembg grabcut")
    parser.add_argument("--soak", type=int, metavar="N", help="memory check over N consecutive images")
    parser.add_argument("--per-image", action="store_true", help="print every image's metrics")
    parser.add_argument("--ablate", action="store_true", help="also run the engine with each step off")
    parser.add_argument(
        "--cache",
        nargs="?",
        const=str(REPO_ROOT / "var" / "cache" / "cutout-bench"),
        metavar="DIR",
        help="memoise the engine's model outputs on disk (quality iteration; timings meaningless)",
    )
    args = parser.parse_args()

    refuse_network()
    if args.cache:
        enable_model_cache(Path(args.cache))
    if args.soak:
        soak(args.soak)
        return 0

    makers = {"vitrine": make_vitrine, "raw": make_raw, "rembg": make_rembg, "grabcut": make_grabcut}
    names = args.methods or (["vitrine"] if args.no_baselines else list(makers))
    methods = {name: makers[name]() for name in names}
    if args.ablate:
        for step in cutout.STEPS:
            methods[f"no-{step}"] = make_vitrine(step)
    items = load_items(args.limit, args.only)

    # Warm up each method so lazy session creation is not counted as per-image time.
    warm_rgb, _ = load_pair(items[0])
    for predict in methods.values():
        predict(warm_rgb)

    rows: dict[str, list[dict]] = {name: [] for name in methods}
    for item in items:
        rgb, truth = load_pair(item)
        for name, predict in methods.items():
            with RssSampler() as memory:
                started = time.perf_counter()
                alpha = predict(rgb)
                seconds = time.perf_counter() - started
            row = {
                "id": item["id"],
                "tags": item["hard_case"] + [f"subject:{item['subject']}", f"bg:{item['background_kind']}"],
                "iou": iou(alpha, truth),
                "sad": sad(alpha, truth),
                "bf": boundary_f(alpha, truth),
                "seconds": seconds,
                "rss_peak": memory.peak,
                "rss_rise": memory.peak - memory.before,
            }
            rows[name].append(row)
            if args.per_image:
                print(
                    f"{item['id']} {name:8s} IoU {row['iou']:.3f} SAD {row['sad']:7.2f} "
                    f"BF {row['bf']:.3f} {seconds:5.2f}s {' '.join(row['tags'])}",
                    flush=True,
                )

    tags = sorted({tag for table in rows.values() for row in table for tag in row["tags"]})
    print()
    print(f"per-tag mean IoU / SAD / BF over {len(items)} images")
    for tag in tags:
        cells = []
        for name, table in rows.items():
            tagged = [row for row in table if tag in row["tags"]]
            cells.append(
                f"{name} {_mean(tagged, 'iou'):.3f}/{_mean(tagged, 'sad'):6.2f}/{_mean(tagged, 'bf'):.3f}"
            )
        count = sum(tag in row["tags"] for row in next(iter(rows.values())))
        print(f"  {tag:22s} n={count:2d}  " + "   ".join(cells))
    # Speed relative to the raw model on the same image in the same run: the machine is
    # shared, so absolute seconds drift with the load while the ratio stays meaningful.
    reference = rows.get("raw")
    print()
    print(f"summary over {len(items)} images (quality, speed and memory from this one run)")
    print(
        f"{'method':16s} {'IoU':>6s} {'SAD':>7s} {'BF@3px':>7s} {'median s':>9s} {'x raw':>6s} "
        f"{'peak RSS':>9s} {'rise MiB':>9s} {'worst IoU':>11s}"
    )
    for name, table in rows.items():
        worst = min(table, key=lambda row: row["iou"])
        ratio = (
            statistics.median(
                row["seconds"] / ref["seconds"] for row, ref in zip(table, reference, strict=True)
            )
            if reference
            else float("nan")
        )
        print(
            f"{name:16s} {_mean(table, 'iou'):6.3f} {_mean(table, 'sad'):7.2f} {_mean(table, 'bf'):7.3f} "
            f"{statistics.median(row['seconds'] for row in table):9.2f} {ratio:6.2f} "
            f"{max(row['rss_peak'] for row in table):9.0f} {max(row['rss_rise'] for row in table):9.0f} "
            f"{worst['iou']:6.3f} {worst['id']}"
        )
    print(
        f"process peak RSS {peak_rss_mib():.0f} MiB (all methods in one process); "
        f"network attempts: {len(network_attempts)}"
    )
    return 0


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([row[key] for row in rows])) if rows else float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
