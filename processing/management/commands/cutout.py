"""Remove the background of every image in a folder: `manage.py cutout IN_DIR OUT_DIR`."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from processing.engines.imageio import ImageDecodeError, decode_image, encode_image
from processing.progress import ProgressBar

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def parse_size(value: str) -> tuple[int, int] | None:
    if value in ("", "original"):
        return None
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise CommandError(f"--size must look like 1000x1000, not {value!r}") from None
    if not (100 <= width <= 4096 and 100 <= height <= 4096):
        raise CommandError("--size sides must be between 100 and 4096 pixels")
    return width, height


class Command(BaseCommand):
    help = "Remove backgrounds from all images in IN_DIR and write PNG or JPG files to OUT_DIR."

    def add_arguments(self, parser) -> None:
        parser.add_argument("in_dir", type=Path)
        parser.add_argument("out_dir", type=Path)
        parser.add_argument("--background", choices=["white", "transparent"], default="white")
        parser.add_argument(
            "--size", default="original", help="WIDTHxHEIGHT, e.g. 1000x1000 (default: original)"
        )
        parser.add_argument("--margin", type=float, default=5.0, help="margin in percent when fitting a size")
        parser.add_argument("--model", choices=["general", "human"], default="general")
        parser.add_argument("--keep-shadow", action="store_true")

    def handle(self, *args, in_dir: Path, out_dir: Path, **options) -> None:
        from processing.engines.cutout import ModelMissingError, remove_background

        if not in_dir.is_dir():
            raise CommandError(f"{in_dir} is not a folder")
        size = parse_size(options["size"])
        files = sorted(path for path in in_dir.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CommandError(f"No JPG, PNG, WebP or BMP files in {in_dir}")
        out_dir.mkdir(parents=True, exist_ok=True)
        extension, image_format = (
            ("png", "PNG") if options["background"] == "transparent" else ("jpg", "JPEG")
        )
        progress = ProgressBar(len(files), stream=self.stderr._out)
        failures: list[tuple[str, str]] = []
        for path in files:
            try:
                decoded = decode_image(
                    path.read_bytes(),
                    min_side=settings.MIN_IMAGE_SIDE,
                    max_side=settings.MAX_IMAGE_SIDE,
                    max_pixels=settings.MAX_IMAGE_PIXELS,
                )
                result = remove_background(
                    decoded.image,
                    model_type=options["model"],
                    background=options["background"],
                    target_width=size[0] if size else None,
                    target_height=size[1] if size else None,
                    margin=options["margin"] / 100,
                    keep_shadow=options["keep_shadow"],
                )
                (out_dir / f"{path.stem}.{extension}").write_bytes(
                    encode_image(result.image, image_format, quality=92)
                )
            except ModelMissingError as error:
                raise CommandError(str(error)) from None
            except ImageDecodeError as error:
                failures.append((path.name, error.message))
            except OSError as error:
                failures.append((path.name, str(error)))
            progress.advance(path.name)
        done = len(files) - len(failures)
        self.stdout.write(self.style.SUCCESS(f"{done} of {len(files)} images written to {out_dir}"))
        if failures:
            self.stdout.write(self.style.WARNING(f"{len(failures)} file(s) skipped:"))
            for name, reason in failures:
                self.stdout.write(f"  {name}: {reason}")
