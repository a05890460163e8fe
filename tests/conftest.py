"""Shared fixtures: an owner, a teammate (editor), a viewer and an outsider in another team.

Every test runs behind a network guard (tests/netguard/), in this process and in every Python process
it starts: a connection, datagram or name lookup that would leave the machine is refused, recorded, and
fails the run at the end, which is how the suite proves Vitrine never phones home.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from PIL import Image

from catalog.models import Membership, Product, ProductImage, Role, Team
from tests.netguard import vitrine_netguard
from tests.servers import make_stack, real_servers  # noqa: F401 - shared server fixtures (scale-out, faults)

PASSWORD = "a-long-test-password-42"
outbound_attempts: list[object] = []

# Python processes the suite starts load the same guard through tests/netguard/sitecustomize.py and
# append what they refused to this file, read when the session ends.
_NETGUARD_DIR = Path(__file__).resolve().parent / "netguard"
_CHILD_LOG = Path(tempfile.gettempdir()) / f"vitrine-netguard-{os.getpid()}.log"
_CHILD_LOG.unlink(missing_ok=True)
os.environ[vitrine_netguard.LOG_VARIABLE] = str(_CHILD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(
    part for part in (str(_NETGUARD_DIR), os.environ.get("PYTHONPATH", "")) if part
)


@pytest.fixture(autouse=True, scope="session")
def network_guard():
    vitrine_netguard.install(outbound_attempts.append)
    yield outbound_attempts
    vitrine_netguard.uninstall()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The privacy promise, checked over the whole run: fail it if anything tried to leave the machine."""
    child_attempts = _CHILD_LOG.read_text(encoding="utf-8").splitlines() if _CHILD_LOG.exists() else []
    _CHILD_LOG.unlink(missing_ok=True)
    attempts = [str(attempt) for attempt in outbound_attempts] + child_attempts
    if attempts and not hasattr(session.config, "workerinput"):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("network guard: outbound attempts during the run:", red=True)
            for attempt in attempts[:50]:
                reporter.write_line(f"  {attempt}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Each test writes files into its own folder, so leftover-file checks are exact."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/unserved-media/"},
        },
    }
    settings.STORAGE_BACKEND = "local"
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache; no test may inherit another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- factories ----------------------------------------------------------------------------------
def make_user(username: str):
    return get_user_model().objects.create_user(username, password=PASSWORD)


def make_team(name: str, owner) -> Team:
    return Team.create_with_owner(name, owner)


def make_member(team: Team, username: str, role: str):
    user = make_user(username)
    Membership.objects.create(team=team, user=user, role=role)
    return user


def make_image_bytes(
    width: int = 320,
    height: int = 240,
    colour: tuple[int, int, int] = (200, 40, 40),
    image_format: str = "JPEG",
    mode: str = "RGB",
) -> bytes:
    image = Image.new(mode, (width, height), colour if mode != "L" else colour[0])
    # A second shape keeps the picture from being one flat colour (sharpness, colours).
    Image.Image.paste(
        image, (20, 120, 200) if mode == "RGB" else 90, (width // 4, height // 4, width // 2, height // 2)
    )
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def make_product(team: Team, title: str = "Ceramic mug", **fields) -> Product:
    return Product.objects.create(team=team, title=title, **fields)


def make_product_image(team: Team, product: Product | None = None, colour=(200, 40, 40), name="photo.jpg"):
    image, _created = ProductImage.objects.ingest(
        team=team,
        data=make_image_bytes(colour=colour),
        original_filename=name,
        uploaded_by=None,
        product=product,
    )
    return image


# --- people ----------------------------------------------------------------------------------------
@pytest.fixture
def owner(db):
    return make_user("olivia")


@pytest.fixture
def team(owner):
    return make_team("Olivia's shop", owner)


@pytest.fixture
def teammate(team):
    return make_member(team, "tom", Role.EDITOR)


@pytest.fixture
def viewer(team):
    return make_member(team, "vera", Role.VIEWER)


@pytest.fixture
def outsider(db):
    user = make_user("oscar")
    make_team("Oscar's rival shop", user)
    return user


@pytest.fixture
def owner_client(client, owner, team):
    client.force_login(owner)
    return client


def client_for(user):
    from django.test import Client

    test_client = Client()
    test_client.force_login(user)
    return test_client
