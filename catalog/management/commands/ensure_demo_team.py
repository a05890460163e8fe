import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.demo_photos import DemoProduct, demo_products
from catalog.models import Product, ProductImage, Team
from processing.models import Job, JobKind

DEMO_USERNAME = "demo"
DEMO_TEAM_NAME = "Demo shop"


class Command(BaseCommand):
    help = (
        "Create a demo team and user when the site has no team yet, give it sample products with photos "
        "(drawn by catalog/demo_photos.py, shipped under the project's licence), and print the login."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-samples", action="store_true", help="create the team without sample products"
        )

    def handle(self, *args, no_samples: bool = False, **options) -> None:
        var_dir = Path(settings.VAR_DIR)
        credentials_file = var_dir / "demo-login.txt"
        # Written once the samples are in, so that deleting them for good is respected on the next start.
        samples_marker = var_dir / "demo-samples-added.txt"
        user_model = get_user_model()
        if not Team.objects.exists():
            password = secrets.token_urlsafe(12)
            user = user_model.objects.filter(username=DEMO_USERNAME).first()
            if user is None:
                user = user_model.objects.create_user(DEMO_USERNAME, password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            Team.create_with_owner(DEMO_TEAM_NAME, user)
            credentials_file.parent.mkdir(parents=True, exist_ok=True)
            credentials_file.write_text(f"{DEMO_USERNAME}\n{password}\n")
            credentials_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Created the team “{DEMO_TEAM_NAME}”."))
        team = Team.objects.filter(name=DEMO_TEAM_NAME, memberships__user__username=DEMO_USERNAME).first()
        if team is not None and not no_samples and not samples_marker.exists():
            added = self.add_samples(team)
            samples_marker.parent.mkdir(parents=True, exist_ok=True)
            samples_marker.write_text(f"{added} sample products added to team {team.slug}\n")
        if credentials_file.exists():
            username, password = credentials_file.read_text().split()[:2]
            if user_model.objects.filter(username=username).exists():
                self.stdout.write(f"Log in at http://127.0.0.1:8000 as {username} / {password}")
                return
        self.stdout.write("Log in with your own account at http://127.0.0.1:8000")

    def add_samples(self, team: Team) -> int:
        """The sample products and their photos, unless the team already has products of its own."""
        if Product.objects.for_team(team).exists():
            return 0
        owner = team.memberships.filter(user__username=DEMO_USERNAME).first()
        uploaded_by = owner.user if owner else None
        images: list[ProductImage] = []
        samples = demo_products()
        try:
            with transaction.atomic():
                self._create(team, samples, uploaded_by, images)
        except BaseException:
            # The rows rolled back; the files written for them go too, so nothing half-made stays.
            for image in images:
                image.file.delete(save=False)
            raise
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {len(samples)} sample products with {len(images)} photos to “{team.name}”."
            )
        )
        return len(samples)

    def _create(
        self, team: Team, samples: list[DemoProduct], uploaded_by, images: list[ProductImage]
    ) -> None:
        """The rows of the samples; `images` collects the photos stored, for the caller's clean-up."""
        for sample in samples:
            product = Product.objects.create(
                team=team,
                title=sample.title,
                category=sample.category,
                sku=sample.sku,
                int_attr=sample.price,
                str_attr=sample.colour,
                created_by=uploaded_by,
            )
            for position, photo in enumerate(sample.photos):
                image, created = ProductImage.objects.ingest(
                    team=team,
                    data=photo.jpeg(),
                    original_filename=photo.filename,
                    uploaded_by=uploaded_by,
                    product=product,
                )
                ProductImage.objects.filter(pk=image.pk).update(position=position)
                if created:
                    images.append(image)
        if images:
            # Thumbnails, image facts and the search index, made by the worker as for any upload.
            Job.objects.create_for_images(
                team=team, kind=JobKind.IMAGE_FACTS, images=images, created_by=uploaded_by
            )
