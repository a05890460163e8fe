"""A team's data as one ZIP: every photo, every job result, and a CSV of the products."""

import csv
import io
import zipfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Category, Product, ProductImage, Team
from processing.models import Result
from processing.progress import ProgressBar

PRODUCT_COLUMNS = [
    "id", "title", "category_id", "category", "sku", "int_attr", "int_attr2", "str_attr", "str_attr2",
    "custom_content", "created_at", "images",
]  # fmt: skip


class Command(BaseCommand):
    help = "Export a team's photos, results and products (CSV) into a ZIP file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("team", help="the team's slug")
        parser.add_argument("output", type=Path, help="the ZIP file to write")

    def handle(self, *args, team: str, output: Path, **options) -> None:
        team_row = Team.objects.filter(slug=team).first()
        if team_row is None:
            raise CommandError(f"No team with the slug {team!r}")
        images = list(ProductImage.objects.for_team(team_row).order_by("pk"))
        results = list(Result.objects.for_team(team_row).exclude(file="").order_by("pk"))
        progress = ProgressBar(len(images) + len(results) + 1, stream=self.stderr._out)
        missing: list[str] = []
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            image_paths: dict[int, str] = {}
            for image in images:
                folder = f"products/{image.product_id}" if image.product_id else "unsorted"
                path = f"images/{folder}/{image.pk}-{Path(image.file.name).name}"
                if self._copy(archive, image.file, path):
                    image_paths[image.pk] = path
                else:
                    missing.append(image.file.name)
                progress.advance(image.original_filename)
            for result in results:
                path = f"results/job-{result.job_id}/{Path(result.file.name).name}"
                if not self._copy(archive, result.file, path):
                    missing.append(result.file.name)
                progress.advance(path)
            archive.writestr("products.csv", self._products_csv(team_row, images, image_paths))
            progress.advance("products.csv")
        # Only a complete archive takes the final name.
        partial.replace(output)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(images)} photos, {len(results)} results and products.csv written to {output}"
            )
        )
        for name in missing:
            self.stdout.write(self.style.WARNING(f"  missing from storage: {name}"))

    def _copy(self, archive: zipfile.ZipFile, field_file, path: str) -> bool:
        try:
            with field_file.storage.open(field_file.name, "rb") as source, archive.open(path, "w") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
        except FileNotFoundError:
            return False
        return True

    def _products_csv(self, team: Team, images: list[ProductImage], image_paths: dict[int, str]) -> str:
        by_product: dict[int, list[str]] = {}
        for image in images:
            if image.product_id and image.pk in image_paths:
                by_product.setdefault(image.product_id, []).append(image_paths[image.pk])
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(PRODUCT_COLUMNS)
        for product in Product.objects.for_team(team).order_by("pk"):
            writer.writerow(
                [
                    product.pk, product.title, product.category, Category(product.category).label, product.sku,
                    product.int_attr, product.int_attr2, product.str_attr, product.str_attr2,
                    product.custom_content, product.created_at.isoformat(), " ".join(by_product.get(product.pk, [])),
                ]
            )  # fmt: skip
        return buffer.getvalue()
