"""Shared fixtures: an owner, a teammate (editor), a viewer and an outsider in another team.

Every test runs behind a network guard: any connection to something other than loopback or a
Unix socket fails the test, which is how the suite proves Vitrine never phones home.
"""

from __future__ import annotations

import io
import ipaddress
import socket

import pytest
from django.contrib.auth import get_user_model
from PIL import Image

from catalog.models import Membership, Product, ProductImage, Role, Team
from tests.servers import make_stack, real_servers  # noqa: F401 - shared server fixtures (scale-out, faults)

PASSWORD = "a-long-test-password-42"
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
outbound_attempts: list[object] = []


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # Unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address):
    if self.family != socket.AF_UNIX and not _is_local(address):
        outbound_attempts.append(address)
        raise ConnectionRefusedError(f"test network guard: outbound connection to {address!r} refused")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address):
    if self.family != socket.AF_UNIX and not _is_local(address):
        outbound_attempts.append(address)
        raise ConnectionRefusedError(f"test network guard: outbound connection to {address!r} refused")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def network_guard():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield outbound_attempts
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


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
