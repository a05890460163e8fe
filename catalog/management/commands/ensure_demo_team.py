import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from catalog.models import Team

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = "Create a demo team and user when the site has no team yet, and print the login."

    def handle(self, *args, **options) -> None:
        credentials_file = Path(settings.VAR_DIR) / "demo-login.txt"
        user_model = get_user_model()
        if not Team.objects.exists():
            password = secrets.token_urlsafe(12)
            user = user_model.objects.filter(username=DEMO_USERNAME).first()
            if user is None:
                user = user_model.objects.create_user(DEMO_USERNAME, password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            Team.create_with_owner("Demo shop", user)
            credentials_file.parent.mkdir(parents=True, exist_ok=True)
            credentials_file.write_text(f"{DEMO_USERNAME}\n{password}\n")
            credentials_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS("Created the team “Demo shop”."))
        if credentials_file.exists():
            username, password = credentials_file.read_text().split()[:2]
            if user_model.objects.filter(username=username).exists():
                self.stdout.write(f"Log in at http://127.0.0.1:8000 as {username} / {password}")
                return
        self.stdout.write("Log in with your own account at http://127.0.0.1:8000")
