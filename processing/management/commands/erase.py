"""Erase elements from every image in a folder: `manage.py erase IN_DIR OUT_DIR --product 1,2,4
--background 1,2,3,4`. Types: 1 semi-transparent, 2 specific name, 3 character, 4 colour block."""

from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from processing.engines.imageio import ImageDecodeError, decode_image, encode_image
from processing.kinds import ItemError
from processing.kinds.erase import parse_types
from processing.progress import ProgressBar

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def types_option(value: str, option: str) -> list[int]:
    if value.strip().lower() in ("", "none"):
        return []
    try:
        return parse_types(value)
    except ValueError as error:
        raise CommandError(f"{option}: {error} (use e.g. 1,2,4 or none)") from None


class Command(BaseCommand):
    help = "Erase watermarks, shop names, text and colour blocks from all images in IN_DIR into OUT_DIR."

    def add_arguments(self, parser) -> None:
        parser.add_argument("in_dir", type=Path)
        parser.add_argument("out_dir", type=Path)
        parser.add_argument(
            "--product", default="none", help="types to erase on the product, e.g. 1,2,4 (default: none)"
        )
        parser.add_argument(
            "--background", default="1,2,3,4", help="types to erase around it (default: 1,2,3,4)"
        )
        parser.add_argument(
            "--method",
            choices=["auto", "telea", "ns", "harmonic", "patchmatch"],
            default="auto",
            help="inpainting method (default: auto, chosen per region)",
        )

    def handle(self, *args, in_dir: Path, out_dir: Path, **options) -> None:
        from processing.engines.erase import remove_elements
        from processing.kinds.erase import subject_alpha_for

        if not in_dir.is_dir():
            raise CommandError(f"{in_dir} is not a folder")
        product = types_option(options["product"], "--product")
        background = types_option(options["background"], "--background")
        if not product and not background:
            raise CommandError("Nothing to erase: give --product or --background types.")
        files = sorted(path for path in in_dir.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CommandError(f"No JPG, PNG, WebP or BMP files in {in_dir}")
        out_dir.mkdir(parents=True, exist_ok=True)
        progress = ProgressBar(len(files), stream=self.stderr._out)
        failures: list[tuple[str, str]] = []
        elements_removed = 0
        for path in files:
            try:
                decoded = decode_image(
                    path.read_bytes(),
                    min_side=settings.MIN_IMAGE_SIDE,
                    max_side=settings.MAX_IMAGE_SIDE,
                    max_pixels=settings.MAX_IMAGE_PIXELS,
                )
                rgb = np.asarray(decoded.image.convert("RGB"))
                result = remove_elements(
                    rgb,
                    subject_alpha=subject_alpha_for(rgb, required=True),
                    object_types=set(product),
                    non_object_types=set(background),
                    method=options["method"],
                )
                elements_removed += sum(
                    1
                    for element in result.elements
                    if element.type in (product if element.on_subject else background)
                )
                # JPEG stays JPEG (quality 95); everything else becomes a lossless PNG.
                if decoded.format == "JPEG":
                    name, payload = f"{path.stem}.jpg", encode_image(result.image, "JPEG", quality=95)
                else:
                    name, payload = f"{path.stem}.png", encode_image(result.image, "PNG")
                (out_dir / name).write_bytes(payload)
            except ItemError as error:  # the cut-out model is missing: no image can be scoped
                raise CommandError(error.message) from None
            except ImageDecodeError as error:
                failures.append((path.name, error.message))
            except OSError as error:
                failures.append((path.name, str(error)))
            progress.advance(path.name)
        done = len(files) - len(failures)
        self.stdout.write(
            self.style.SUCCESS(
                f"{done} of {len(files)} images written to {out_dir} ({elements_removed} elements erased)"
            )
        )
        if failures:
            self.stdout.write(self.style.WARNING(f"{len(failures)} file(s) skipped:"))
            for name, reason in failures:
                self.stdout.write(f"  {name}: {reason}")
