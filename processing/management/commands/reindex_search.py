"""Re-index a team's catalog for search by picture: `manage.py reindex_search --team SLUG [--missing]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalog import search_index
from catalog.models import ProductImage, Team
from processing.engines.embedding import ModelMissingError
from processing.engines.imageio import ImageDecodeError
from processing.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Embed every photo of a team for search by picture (after an upgrade, or for photos uploaded before)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument(
            "--missing",
            action="store_true",
            help="Only photos without an entry for the current model (default: every photo).",
        )

    def handle(self, *args, team: str, missing: bool = False, **options) -> None:
        found = Team.objects.filter(slug=team).first()
        if found is None:
            raise CommandError(f"No team with slug {team!r}.")
        try:
            search_index.feature_extractor().embedder.ensure_loaded()
        except ModelMissingError as error:
            raise CommandError(str(error)) from None
        images = list(ProductImage.objects.for_team(found).order_by("pk"))
        if missing:
            images = [image for image in images if search_index.needs_indexing(image)]
        bar = ProgressBar(len(images), stream=self.stderr)
        indexed = failed = 0
        for image in images:
            try:
                if search_index.index_image(image) is not None:
                    indexed += 1
            except (ImageDecodeError, FileNotFoundError) as error:
                failed += 1
                self.stderr.write(f"\nimage {image.pk} ({image.original_filename}): {error}")
            bar.advance(image.original_filename)
        saved = search_index.save_engine(found)
        self.stdout.write(
            f"{indexed} photo(s) of {found.name} indexed"
            + (f", {failed} unreadable" if failed else "")
            + (f"; index saved to {saved}" if saved else "")
        )
