"""Who may do what, for every URL the project serves.

Every URL pattern of the URLconf (walked with get_resolver, so a new URL cannot be missed) has a row
below: the expected answer to a GET and to a state-changing POST for an anonymous visitor, an
outsider (a member of another team), a viewer, an editor and an owner of the team that owns the
objects. A URL without a row fails `test_it_has_a_matrix_row_for_every_url`. The admin site is
checked as a whole: no admin URL serves anything to a non-staff user.

Expected answers: a status code, LOGIN (a redirect to the login page), or OK (allowed: the view ran;
any answer below 500 that is not 403, 404 or a login redirect, e.g. a form with errors).
Objects of another team always answer 404, never 403. Destructive rows get a fresh object for every
request, so each role is judged on an object that exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signing import TimestampSigner
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from catalog.models import ApiToken, Invitation, Membership, Product, ProductImage, Role, SearchInstance
from processing.api import signed_result_path
from processing.kinds.erase import ERASE, ERASE_DETECT
from processing.kinds.refine import CUTOUT_MATTE, CUTOUT_REFINE
from processing.models import Job, Result, Scene
from processing.views.scenes import signed_cover_path
from tests.conftest import client_for, make_image_bytes, make_product, make_product_image
from tests.test_isolation import catalog_objects  # noqa: F401 (the shared fixture)

ROLES = ("anonymous", "outsider", "viewer", "editor", "owner")
LOGIN, OK, ADMIN_LOGIN = "LOGIN", "OK", "ADMIN_LOGIN"


def expect(spec: str) -> dict[str, object]:
    """'LOGIN 404 403 OK OK' -> {role: expectation}, in the order of ROLES."""
    parts = spec.split()
    assert len(parts) == len(ROLES), spec
    return {role: (int(part) if part.isdigit() else part) for role, part in zip(ROLES, parts, strict=True)}


@dataclass
class Row:
    get: str | None
    post: str | None = None
    args: Callable[[World], list] = lambda world: []
    data: Callable[[World], dict] = lambda world: {}
    query: Callable[[World], dict] = lambda world: {}
    # Destructive rows build their target afresh for every request (args is called each time).
    notes: str = field(default="")


# Shorthands for the common shapes.
MEMBER_PAGE = "LOGIN 200 200 200 200"  # the current team's page; an outsider sees their own team's
TEAM_OBJECT = "LOGIN 404 200 200 200"  # an object of the team: members read it, others get 404
EDITOR_PAGE = "LOGIN 200 403 200 200"  # a form of the current team (an outsider edits their own team)
EDITOR_OBJECT = "LOGIN 404 403 OK OK"  # changing an object of the team
OWNER_ACTION = "LOGIN OK 403 403 OK"  # team management of the current team (the outsider owns theirs)
OWNER_OBJECT = "LOGIN 404 403 403 OK"  # team management on an object of the team
NOT_ALLOWED = "405 405 405 405 405"
API_NO_TOKEN = "401 401 401 401 401"  # a session never authenticates an API call


class World:
    """The objects of the team (see tests/test_isolation.py) plus the rest the URLs need."""

    def __init__(self, objects, team, owner, viewer) -> None:
        self.team, self.owner = team, owner
        self.product, self.image = objects["product"], objects["image"]
        self.job = objects["job"]
        self.result = self._file_result()
        self.viewer_membership = Membership.objects.get(team=team, user=viewer)
        self.scene = self.new_scene()
        self.erase_detect_job = self._erase_job(ERASE_DETECT, detection=True)
        self.erase_job = self._erase_job(ERASE)
        self.instance = SearchInstance.objects.create(team=team, name="matrixshop")
        self.matte_job = self._erase_job(CUTOUT_MATTE)
        self.refine_job = self._erase_job(CUTOUT_REFINE)

    _serial = 0

    def _next(self) -> int:
        World._serial += 1
        return World._serial

    def new_product(self) -> Product:
        return make_product(self.team, f"Throwaway {self._next()}")

    def new_image(self) -> ProductImage:
        n = self._next()
        return make_product_image(self.team, colour=(n % 250, 90, 200 - n % 200), name=f"t{n}.jpg")

    def new_invitation(self) -> Invitation:
        return Invitation.objects.create(team=self.team, role=Role.EDITOR, created_by=self.owner)

    def new_token(self) -> ApiToken:
        return ApiToken.objects.create_token(self.team, f"token {self._next()}", self.owner)[0]

    def new_instance(self) -> SearchInstance:
        return SearchInstance.objects.create(team=self.team, name=f"inst{self._next()}")

    def new_scene(self) -> Scene:
        scene = Scene.objects.create(
            model_num=f"T{90000 + self._next()}",
            team=self.team,
            name_en="Oak counter",
            scene_types=[1],
            categories=[3],
            product_box=[0.3, 0.3, 0.7, 0.8],
            created_by=self.owner,
        )
        photo = make_image_bytes(400, 300)
        scene.cover.save("cover.jpg", ContentFile(photo), save=False)
        scene.background.save("photo.jpg", ContentFile(photo), save=False)
        scene.save()
        return scene

    def _file_result(self) -> Result:
        """A finished cut-out result with its PNG (the thumbnails job's results carry no file)."""
        job = Job.objects.create_for_images(
            team=self.team, kind="cutout", images=[self.image], created_by=self.owner
        )
        result = Result(
            team=self.team, job=job, item=job.items.get(), content_type="image/png", width=320, height=240
        )
        result.file.save("cut.png", ContentFile(make_image_bytes(image_format="PNG")), save=False)
        result.save()
        return result

    def _erase_job(self, kind: str, detection: bool = False) -> Job:
        job = Job.objects.create_for_images(
            team=self.team, kind=kind, images=[self.image], created_by=self.owner
        )
        if detection:
            result = Result(team=self.team, job=job, item=job.items.get(), content_type="application/json")
            result.file.save("detection.json", ContentFile(b'{"elements": []}'), save=False)
            result.save()
        return job


# --- the matrix -----------------------------------------------------------------------------------
def _jpeg_upload(world: World) -> dict:
    return {"file": SimpleUploadedFile("new.jpg", make_image_bytes(colour=(9, 99, 199)), "image/jpeg")}


MATRIX: dict[str, Row] = {
    # Public and account pages.
    # GET redirects to the product list; a POST is the image-search API (the Alibaba Cloud SDK's path).
    "": Row(get="302 302 302 302 302", post="403 403 403 403 403"),
    "healthz": Row(get="200 200 200 200 200"),
    "login": Row(get="200 200 200 200 200", post="200 200 200 200 200"),
    "logout": Row(get=NOT_ALLOWED, post="302 302 302 302 302"),
    "signup": Row(get="200 302 302 302 302", post="200 302 302 302 302"),
    "api_openapi": Row(get="200 200 200 200 200", post=NOT_ALLOWED),
    # The API: a session cookie is no token (the token matrix is below).
    "api_cut_out": Row(get=API_NO_TOKEN, post=API_NO_TOKEN),
    "api_bg_remove_submit": Row(get=NOT_ALLOWED, post=API_NO_TOKEN),
    "api_bg_remove_query": Row(get=NOT_ALLOWED, post=API_NO_TOKEN),
    "api_scene_query": Row(get=API_NO_TOKEN, post=API_NO_TOKEN),
    "api_scene_generate": Row(get=NOT_ALLOWED, post=API_NO_TOKEN),
    "api_removal": Row(get=API_NO_TOKEN, post=API_NO_TOKEN),
    "api_image_search": Row(get="403 403 403 403 403", post="403 403 403 403 403"),
    # The open-platform gateway: without a sign, the same token check as the paths it fronts.
    "api_iop_cut_out": Row(get=API_NO_TOKEN, post=API_NO_TOKEN),
    "api_iop_removal": Row(get=API_NO_TOKEN, post=API_NO_TOKEN),
    "api_iop_scene_query": Row(get=API_NO_TOKEN, post=API_NO_TOKEN),
    "api_iop_scene_generate": Row(get=NOT_ALLOWED, post=API_NO_TOKEN),
    "api_iop_unknown": Row(
        get="404 404 404 404 404", post="404 404 404 404 404", args=lambda w: ["ai/nothing"]
    ),
    # Catalog.
    "catalog:product_list": Row(get=MEMBER_PAGE),
    "catalog:photo_list": Row(get=MEMBER_PAGE),
    "catalog:photo_bulk_delete": Row(
        get="LOGIN 404 403 200 200",
        post="LOGIN 404 403 302 302",
        query=lambda w: {"images": [w.image.pk]},
        data=lambda w: {"images": [w.new_image().pk], "confirm": "yes"},
        notes="another team's photo ids are not found here: 404",
    ),
    "catalog:product_create": Row(
        get=EDITOR_PAGE, post="LOGIN 302 403 302 302", data=lambda w: {"title": "New", "category": 1}
    ),
    "catalog:product_detail": Row(get=TEAM_OBJECT, args=lambda w: [w.product.pk]),
    "catalog:product_edit": Row(
        get="LOGIN 404 403 200 200",
        post="LOGIN 404 403 302 302",
        args=lambda w: [w.product.pk],
        data=lambda w: {"title": "Renamed", "category": 1},
    ),
    "catalog:product_delete": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.new_product().pk]
    ),
    "catalog:image_detail": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.image.pk]),
    "catalog:image_file": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.image.pk]),
    "catalog:product_photos": Row(
        get=NOT_ALLOWED,
        post="LOGIN 404 403 302 302",
        args=lambda w: [w.product.pk],
        data=lambda w: {"image": w.image.pk, "action": "cover"},
    ),
    "catalog:product_add_images": Row(
        get=EDITOR_PAGE,
        post="LOGIN 404 403 302 302",
        data=lambda w: {"images": [w.new_image().pk], "product": w.product.pk},
        notes="the product is the team's: an outsider's POST naming it finds nothing (404)",
    ),
    "catalog:image_thumbnail": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.image.pk]),
    "catalog:image_tile": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.image.pk]),
    "catalog:image_delete": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.new_image().pk]
    ),
    "catalog:upload": Row(get=EDITOR_PAGE, post="LOGIN 302 403 302 302", data=_jpeg_upload),
    "catalog:upload_file": Row(get=NOT_ALLOWED, post="LOGIN 200 403 200 200", data=_jpeg_upload),
    "catalog:upload_finish": Row(
        get=NOT_ALLOWED,
        post="LOGIN 400 403 200 200",
        data=lambda w: {"images": [w.image.pk]},
        notes="another team's photo ids are simply not found: nothing to finish (400)",
    ),
    "catalog:team_settings": Row(get=MEMBER_PAGE),
    "catalog:team_create": Row(
        get="LOGIN 200 200 200 200", post="LOGIN 302 302 302 302", data=lambda w: {"name": "Side shop"}
    ),
    "catalog:team_update": Row(
        get=NOT_ALLOWED, post="LOGIN 302 403 403 302", data=lambda w: {"name": "Renamed shop"}
    ),
    "catalog:team_switch": Row(
        get=NOT_ALLOWED, post="LOGIN 404 302 302 302", data=lambda w: {"team": w.team.pk}
    ),
    "catalog:invitation_create": Row(
        get=NOT_ALLOWED, post="LOGIN 302 403 403 302", data=lambda w: {"role": Role.EDITOR}
    ),
    "catalog:invitation_revoke": Row(
        get=NOT_ALLOWED, post=OWNER_OBJECT.replace("OK", "302"), args=lambda w: [w.new_invitation().pk]
    ),
    "catalog:member_update": Row(
        get=NOT_ALLOWED,
        post="LOGIN 404 403 403 302",
        args=lambda w: [w.viewer_membership.pk],
        data=lambda w: {"role": Role.VIEWER},
    ),
    "catalog:token_create": Row(get=NOT_ALLOWED, post="LOGIN 302 403 403 302", data=lambda w: {"name": "ci"}),
    "catalog:token_revoke": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 403 302", args=lambda w: [w.new_token().pk]
    ),
    "catalog:invitation_accept": Row(
        get="200 200 200 200 200",
        post="200 302 302 302 302",
        args=lambda w: [w.new_invitation().token],
        notes="the link is the credential: whoever holds an unused invitation may join",
    ),
    # Jobs and results.
    "processing:job_list": Row(get=MEMBER_PAGE),
    "processing:job_detail": Row(get=TEAM_OBJECT, args=lambda w: [w.job.pk]),
    "processing:job_cancel": Row(get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.job.pk]),
    "processing:job_retry": Row(get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.job.pk]),
    "processing:item_retry": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.job.pk, w.job.items.first().pk]
    ),
    "processing:result_file": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.result.pk]),
    "processing:job_zip": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.job.pk]),
    "processing:cutout_new": Row(get=EDITOR_PAGE, post="LOGIN 200 403 200 200"),
    "processing:result_download": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.result.pk, "png"]),
    "processing:result_rerun": Row(
        get="LOGIN 404 403 200 200", post="LOGIN 404 403 OK OK", args=lambda w: [w.result.pk]
    ),
    "processing:result_save": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.result.pk]
    ),
    "processing:signed_result": Row(
        get="200 200 200 200 200",
        post=NOT_ALLOWED,
        args=lambda w: [signed_result_path(w.result.pk).rstrip("/").rsplit("/", 1)[1]],
        notes="the signed link is the credential; tampering and expiry are tested below",
    ),
    # The cut-out refine editor, on a cut-out result of the team.
    "processing:refine_editor": Row(
        get="LOGIN 404 403 200 200", post=NOT_ALLOWED, args=lambda w: [w.result.pk]
    ),
    "processing:refine_base": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.result.pk]
    ),
    "processing:refine_base_status": Row(
        get="LOGIN 404 302 302 302", post=NOT_ALLOWED, args=lambda w: [w.result.pk, w.matte_job.pk]
    ),
    "processing:refine_apply": Row(get=NOT_ALLOWED, post=EDITOR_OBJECT, args=lambda w: [w.result.pk]),
    "processing:refine_run_status": Row(
        get="LOGIN 404 302 302 302", post=NOT_ALLOWED, args=lambda w: [w.result.pk, w.refine_job.pk]
    ),
    "processing:refine_save": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.result.pk]
    ),
    "processing:refine_saved_status": Row(
        get="LOGIN 404 302 302 302", post=NOT_ALLOWED, args=lambda w: [w.result.pk, w.result.job_id]
    ),
    # Scenes.
    "processing:scene_list": Row(get=MEMBER_PAGE),
    "processing:scene_new": Row(get=EDITOR_PAGE, post="LOGIN 200 403 200 200"),
    "processing:product_scenes": Row(get=TEAM_OBJECT, args=lambda w: [w.product.pk]),
    "processing:scene_preview": Row(
        get="LOGIN 404 OK OK OK",
        post=NOT_ALLOWED,
        args=lambda w: [w.product.pk],
        query=lambda w: {"scene": w.scene.model_num, "image": w.image.pk},
    ),
    "processing:scene_render": Row(get=NOT_ALLOWED, post=EDITOR_OBJECT, args=lambda w: [w.product.pk]),
    "processing:scene_detail": Row(get=TEAM_OBJECT, post=EDITOR_OBJECT, args=lambda w: [w.scene.model_num]),
    "processing:scene_delete": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 302 302", args=lambda w: [w.new_scene().model_num]
    ),
    "processing:scene_cover": Row(
        get="404 404 200 200 200",
        post=NOT_ALLOWED,
        args=lambda w: [w.scene.model_num],
        notes="a team scene's cover: members, or anyone with the signed link (tested below)",
    ),
    "processing:scene_photo": Row(get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.scene.model_num]),
    # Erase.
    "processing:erase_new": Row(get=EDITOR_PAGE, post="LOGIN 200 403 200 200"),
    "processing:erase_editor": Row(get="LOGIN 404 403 200 200", args=lambda w: [w.image.pk]),
    "processing:erase_detect": Row(get=NOT_ALLOWED, post=EDITOR_OBJECT, args=lambda w: [w.image.pk]),
    "processing:erase_apply": Row(get=NOT_ALLOWED, post=EDITOR_OBJECT, args=lambda w: [w.image.pk]),
    "processing:erase_detect_status": Row(
        get="LOGIN 404 302 302 302", post=NOT_ALLOWED, args=lambda w: [w.erase_detect_job.pk]
    ),
    "processing:erase_elements": Row(
        get=TEAM_OBJECT, post=NOT_ALLOWED, args=lambda w: [w.erase_detect_job.pk]
    ),
    "processing:erase_result_status": Row(
        get="LOGIN 404 302 302 302", post=NOT_ALLOWED, args=lambda w: [w.erase_job.pk]
    ),
    # Search.
    "processing:search": Row(get=MEMBER_PAGE, post=NOT_ALLOWED),
    "processing:search_query": Row(get=NOT_ALLOWED, post="LOGIN OK OK OK OK"),
    "processing:search_duplicates": Row(get=MEMBER_PAGE, post=NOT_ALLOWED),
    "processing:search_instance_create": Row(
        get=NOT_ALLOWED, post="LOGIN 302 403 403 302", data=lambda w: {"name": f"i{w._next()}"}
    ),
    "processing:search_instance_delete": Row(
        get=NOT_ALLOWED, post="LOGIN 404 403 403 302", args=lambda w: [w.new_instance().pk]
    ),
}


# --- the URLconf -----------------------------------------------------------------------------------
def url_patterns() -> dict[str, str]:
    """Every named (or root) URL pattern outside the admin: matrix key -> route."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                key = f"{namespace}{pattern.name}" if pattern.name else route
                found[key] = route

    walk(get_resolver().url_patterns, "", "")
    return found


ALL_URLS = url_patterns()
PAGE_URLS = sorted(key for key, route in ALL_URLS.items() if not route.startswith("admin/"))
ADMIN_URLS = sorted(key for key, route in ALL_URLS.items() if route.startswith("admin/"))


def test_it_has_a_matrix_row_for_every_url():
    missing = sorted(set(PAGE_URLS) - set(MATRIX))
    assert not missing, f"URLs without an access-matrix row in tests/test_access_matrix.py: {missing}"
    stale = sorted(set(MATRIX) - set(PAGE_URLS))
    assert not stale, f"matrix rows for URLs that no longer exist: {stale}"
    assert len(ADMIN_URLS) > 10


@pytest.fixture
def world(catalog_objects, team, owner, teammate, viewer, outsider):  # noqa: F811
    return World(catalog_objects, team, owner, viewer)


@pytest.fixture
def clients(owner, teammate, viewer, outsider):
    return {
        "anonymous": Client(),
        "outsider": client_for(outsider),
        "viewer": client_for(viewer),
        "editor": client_for(teammate),
        "owner": client_for(owner),
    }


def judge(response, expected) -> bool:
    location = response.get("Location", "")
    if expected == LOGIN:
        return response.status_code == 302 and location.startswith(reverse("login"))
    if expected == ADMIN_LOGIN:
        return response.status_code == 302 and location.startswith(reverse("admin:login"))
    if expected == OK:
        to_login = response.status_code == 302 and location.startswith(reverse("login"))
        return response.status_code < 500 and response.status_code not in (403, 404, 405) and not to_login
    return response.status_code == expected


@pytest.mark.parametrize("name", PAGE_URLS)
def test_it_answers_every_role_as_the_matrix_says(name, world, clients, settings, monkeypatch):
    from PIL import Image

    from processing import scene_library

    settings.API_RATE_LIMIT_QPS = 10_000
    # Access is what is judged here: the preview's cut-out engine is replaced by a ready cut-out.
    monkeypatch.setattr(
        scene_library, "cached_cutout", lambda image: Image.new("RGBA", (120, 160), (200, 30, 30, 255))
    )
    row = MATRIX.get(name)
    assert row is not None, f"{name} has no access-matrix row"
    failures = []
    for method, spec in (("get", row.get), ("post", row.post)):
        if spec is None:
            continue
        for role, expected in expect(spec).items():
            args = row.args(world)
            url = reverse(name, args=args) if ":" in name or ALL_URLS[name] != name else "/" + name
            if name == "":
                url = "/"
            if method == "get":
                response = clients[role].get(url, row.query(world))
            else:
                response = clients[role].post(url, row.data(world))
            if not judge(response, expected):
                failures.append(f"{method.upper()} {url} as {role}: {response.status_code} "
                                f"{response.get('Location', '')} (expected {expected})")  # fmt: skip
    assert not failures, "\n".join(failures)


def test_it_leaves_the_objects_alone_after_refused_changes(world, clients):
    """The refused POSTs above change nothing: every object a refused role aimed at is still there."""
    targets = {
        "catalog:product_delete": (world.product.pk, Product.objects),
        "catalog:image_delete": (world.image.pk, ProductImage.objects),
        "processing:scene_delete": (world.scene.model_num, None),
    }
    for role in ("anonymous", "outsider", "viewer"):
        for name, (key, _manager) in targets.items():
            clients[role].post(reverse(name, args=[key]))
    assert Product.objects.filter(pk=world.product.pk).exists()
    assert ProductImage.objects.filter(pk=world.image.pk).exists()
    assert Scene.objects.filter(pk=world.scene.pk).exists()
    token, invitation = world.new_token(), world.new_invitation()
    for role in ("outsider", "viewer", "editor"):
        clients[role].post(reverse("catalog:token_revoke", args=[token.pk]))
        clients[role].post(reverse("catalog:invitation_revoke", args=[invitation.pk]))
        clients[role].post(
            reverse("catalog:member_update", args=[world.viewer_membership.pk]), {"role": Role.OWNER}
        )
        clients[role].post(reverse("processing:search_instance_delete", args=[world.instance.pk]))
    token.refresh_from_db()
    invitation.refresh_from_db()
    world.viewer_membership.refresh_from_db()
    assert token.revoked_at is None and invitation.is_usable
    assert world.viewer_membership.role == Role.VIEWER
    assert SearchInstance.objects.filter(pk=world.instance.pk).exists()


def _admin_url(route: str) -> str:
    """A concrete URL for an admin route: every converter gets a harmless value."""
    url = re.sub(r"<(?:int:)?\w+>", "1", route)
    url = re.sub(r"<path:\w+>", "1", url)
    url = url.replace("^", "").replace("$", "")
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "x", url)
    return "/" + url


def test_it_keeps_every_admin_url_from_non_staff_users(world, clients):
    failures = []
    for name in ADMIN_URLS:
        if name in ("admin:login", "admin:logout"):
            continue
        url = _admin_url(ALL_URLS[name])
        for role, client in clients.items():
            response = client.get(url)
            if response.status_code == 200 or not (
                judge(response, ADMIN_LOGIN) or response.status_code in (404, 405)
            ):
                failures.append(
                    f"{name} {url} as {role}: {response.status_code} {response.get('Location', '')}"
                )
    assert not failures, "\n".join(failures)


# --- signed URLs ---------------------------------------------------------------------------------------
def test_it_refuses_tampered_and_expired_result_links(world, client, settings):
    path = signed_result_path(world.result.pk)
    assert client.get(path).status_code == 200
    token = path.rstrip("/").rsplit("/", 1)[1]
    value, stamp, signature = token.split(":")
    other = make_product_image(world.team, colour=(1, 2, 3), name="other.jpg")
    tampered = [
        f"{int(value) + 1}:{stamp}:{signature}",  # another result id, same signature
        f"{value}:{stamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{value}:{stamp}",
        f"{value}",
        # A valid signature of the cover signer (another salt) is not a result link.
        TimestampSigner(salt="vitrine.scene-cover").sign(str(world.result.pk)),
        TimestampSigner(salt="vitrine.result-url", key="not-our-secret-key-" * 3).sign(str(world.result.pk)),
        f"{other.pk}",
    ]
    for bad in tampered:
        assert client.get(reverse("processing:signed_result", args=[bad])).status_code == 404, bad
    settings.SIGNED_URL_MAX_AGE = 30
    old = TimestampSigner(salt="vitrine.result-url")
    old.timestamp = lambda: "1"  # signed at the epoch: long expired
    expired = old.sign(str(world.result.pk))
    assert client.get(reverse("processing:signed_result", args=[expired])).status_code == 404


def test_it_refuses_tampered_and_expired_cover_links(world, client):
    path = signed_cover_path(world.scene)
    assert client.get(path).status_code == 200
    url, signature = path.split("?sig=")
    assert client.get(url).status_code == 404
    other = world.new_scene()
    forged = signature.replace(world.scene.model_num, other.model_num, 1)
    assert (
        client.get(reverse("processing:scene_cover", args=[other.model_num]), {"sig": forged}).status_code
        == 404
    )
    assert client.get(url, {"sig": signature[:-2]}).status_code == 404
    result_link = signed_result_path(world.result.pk).rstrip("/").rsplit("/", 1)[1]
    assert client.get(url, {"sig": result_link}).status_code == 404
    old = TimestampSigner(salt="vitrine.scene-cover")
    old.timestamp = lambda: "1"  # signed at the epoch: long expired
    assert client.get(url, {"sig": old.sign(world.scene.model_num)}).status_code == 404
    fresh = TimestampSigner(salt="vitrine.scene-cover").sign(world.scene.model_num)
    assert client.get(url, {"sig": fresh}).status_code == 200


# --- API tokens ------------------------------------------------------------------------------------------
def test_it_scopes_api_tokens_to_their_team(world, outsider, settings):
    settings.API_RATE_LIMIT_QPS = 10_000
    rival_team = outsider.memberships.get().team
    rival = ApiToken.objects.create_token(rival_team, "rival", outsider)[1]
    ours_token, ours = ApiToken.objects.create_token(world.team, "ours", world.owner)
    api = Client()
    job = Job.objects.create_for_images(team=world.team, kind="cutout", images=[world.image], created_by=None)

    def aliyun(token: str, nonce: str):
        headers = {"Authorization": f"APPCODE {token}", "X-Ca-Nonce": nonce}
        return api.post("/api/v1/bg-remove/query", {"data": {"result_key": job.result_key}},
                        content_type="application/json", headers=headers)  # fmt: skip

    assert aliyun(ours, "n1").status_code == 200
    assert aliyun(rival, "n2").json()["code"] == "23500008"  # another team's batch is unknown
    search = {"Action": "DeleteImage", "InstanceName": world.instance.name, "ProductId": "BB-01"}
    answer = api.post("/api/imagesearch", search, headers={"Authorization": f"APPCODE {rival}"})
    assert answer.status_code == 400 and answer.json()["Code"] == "InvalidInstance"
    answer = api.post(
        "/ai/image/background/generation", {"modelNum": world.scene.model_num}, headers={"X-Api-Token": rival}
    )
    assert answer.json()["resCode"] == 700 and "modelNum" in answer.json()["resMessage"]
    assert Product.objects.filter(pk=world.product.pk).exists()
    ours_token.revoke()
    assert aliyun(ours, "n3").status_code == 401
    for header in ({"Authorization": f"Bearer {ours}"}, {"X-Api-Token": ours}, {"Authorization": "Bearer"}):
        assert (
            api.post("/ai/image/cut/out", {"backGroundType": "TRANSPARENT"}, headers=header).status_code
            == 401
        )
