"""Put every product photo in a folder onto one scene: `manage.py compose IN_DIR OUT_DIR --scene 10001`."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from PIL import Image

from processing.engines import scenes
from processing.engines.imageio import ImageDecodeError, decode_image, encode_image
from processing.kinds import ItemError
from processing.kinds.scenes import render_on_scene, set_plan
from processing.models import Scene
from processing.progress import ProgressBar
from processing.scene_library import ensure_cover, sync_presets

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def parse_size(value: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise CommandError(f"--size must look like 1000x1000, not {value!r}") from None
    if not (64 <= width <= 2048 and 64 <= height <= 2048):
        raise CommandError("--size sides must be between 64 and 2048 pixels")
    return width, height


class Command(BaseCommand):
    help = (
        "Cut out the product in every image of IN_DIR and place it on one scene (--scene MODELNUM), writing "
        "JPG files to OUT_DIR. All images share one size rule and baseline (a consistent set); photos that "
        "are already cut-outs (PNG with transparency) are used as they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("in_dir", type=Path)
        parser.add_argument("out_dir", type=Path)
        parser.add_argument("--scene", required=True, help="the scene's modelNum, e.g. 10001")
        parser.add_argument("--size", default="1024x1024", help="WIDTHxHEIGHT up to 2048, e.g. 1000x1000")
        parser.add_argument(
            "--category",
            type=int,
            choices=sorted(scenes.CATEGORIES),
            default=None,
            help="product category 1-11 (sets the product's size); default: the scene's first",
        )
        parser.add_argument("--independent", action="store_true", help="size each image on its own")

    def handle(self, *args, in_dir: Path, out_dir: Path, **options) -> None:
        if not in_dir.is_dir():
            raise CommandError(f"{in_dir} is not a folder")
        size = parse_size(options["size"])
        scene = self._scene(options["scene"])
        category = options["category"] or (scene.categories[0] if scene.categories else 1)
        files = sorted(path for path in in_dir.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CommandError(f"No JPG, PNG, WebP or BMP files in {in_dir}")
        out_dir.mkdir(parents=True, exist_ok=True)
        progress = ProgressBar(2 * len(files), stream=self.stderr._out)
        failures: list[tuple[str, str]] = []
        cut_paths: list[tuple[Path, Path]] = []
        with tempfile.TemporaryDirectory(prefix="vitrine-compose-") as scratch:
            # Pass 1: cut-outs to scratch files, so a large folder never sits in memory at once.
            for path in files:
                try:
                    cut = self._cut_out(path)
                    cut_path = Path(scratch) / f"{len(cut_paths):05d}.png"
                    cut.save(cut_path)
                    cut_paths.append((path, cut_path))
                except (ImageDecodeError, ItemError) as error:
                    failures.append((path.name, error.message))
                except OSError as error:
                    failures.append((path.name, str(error)))
                progress.advance(f"cut out {path.name}")
            for _ in range(len(files) - len(cut_paths)):
                progress.advance("")
            # Pass 2: the set's sizes come from all cut-outs together (small proxies), then one render each.
            plans = None
            if not options["independent"] and len(cut_paths) > 1:
                proxies = [self._proxy(cut_path) for _, cut_path in cut_paths]
                plans = set_plan(proxies, [category] * len(proxies), scene, size)
            written = 0
            for index, (path, cut_path) in enumerate(cut_paths):
                try:
                    with Image.open(cut_path) as handle:
                        cut = handle.convert("RGBA")
                    image, _geometry = render_on_scene(
                        cut, scene, category=category, size=size, planned=plans[index] if plans else None
                    )
                    (out_dir / f"{path.stem}.jpg").write_bytes(encode_image(image, "JPEG", quality=92))
                    written += 1
                except (OSError, ValueError) as error:
                    failures.append((path.name, str(error)))
                progress.advance(f"compose {path.name}")
        self.stdout.write(self.style.SUCCESS(f"{written} of {len(files)} images written to {out_dir}"))
        if failures:
            self.stdout.write(self.style.WARNING(f"{len(failures)} file(s) skipped:"))
            for name, reason in failures:
                self.stdout.write(f"  {name}: {reason}")

    def _scene(self, model_num: str) -> Scene:
        scene = Scene.objects.filter(model_num=model_num).first()
        if scene is None:
            try:
                scenes.get_preset(model_num)
            except scenes.UnknownSceneError:
                raise CommandError(
                    f"Unknown scene {model_num!r}; see the Scenes page for modelNums"
                ) from None
            sync_presets()
            scene = Scene.objects.get(model_num=model_num)
            ensure_cover(scene)
        return scene

    def _cut_out(self, path: Path) -> Image.Image:
        from processing.scene_library import cut_out

        decoded = decode_image(
            path.read_bytes(),
            min_side=settings.MIN_IMAGE_SIDE,
            max_side=settings.MAX_IMAGE_SIDE,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        )
        try:
            return cut_out(decoded.image)
        except ItemError as error:
            if error.code == "model_missing":
                raise CommandError(error.message) from None
            raise

    @staticmethod
    def _proxy(cut_path: Path) -> Image.Image:
        with Image.open(cut_path) as handle:
            proxy = handle.convert("RGBA")
        proxy.thumbnail((320, 320), Image.Resampling.LANCZOS)
        return proxy
