"""Load the scene preset library into the database and render its covers: `manage.py load_scene_presets`."""

from django.core.management.base import BaseCommand

from processing.models import Scene
from processing.progress import ProgressBar
from processing.scene_library import COVER_SIDE, ensure_cover, sync_presets, warm_text_cache


class Command(BaseCommand):
    help = (
        "Create or update the preset scenes (metadata from the engine's library) and render each missing "
        f"{COVER_SIDE} px cover into storage. Idempotent: a second run changes nothing and renders nothing. "
        "The full 2048 px backgrounds are NOT rendered here (all 60 take minutes): each is rendered on its "
        "first use and then stored, so only the first render on a scene is slower."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-covers",
            action="store_true",
            help="metadata only; the worker draws the covers when a page first lists them",
        )
        parser.add_argument(
            "--no-text-cache", action="store_true", help="skip embedding the preset texts now"
        )

    def handle(self, *args, **options) -> None:
        created, updated = sync_presets()
        rendered = 0
        if not options["no_covers"]:
            presets = list(Scene.objects.presets())
            missing = [scene for scene in presets if not scene.cover]
            progress = ProgressBar(len(missing), stream=self.stderr._out) if missing else None
            for scene in presets:
                if ensure_cover(scene):
                    rendered += 1
                    if progress is not None:
                        progress.advance(scene.model_num)
        message = f"Scene presets: {created} created, {updated} updated, {rendered} cover(s) rendered."
        if not options["no_text_cache"]:
            try:
                backend = warm_text_cache()
                message += f" Text model: {backend}."
            except Exception as error:  # recommendation still works, just slower on its first call
                message += f" Text cache not warmed ({error.__class__.__name__})."
        self.stdout.write(self.style.SUCCESS(message))
