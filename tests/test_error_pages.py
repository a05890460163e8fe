"""403, 404 and 500 in the site's layout, with the reason; a viewer learns who in the team may do it."""

from __future__ import annotations

from unittest import mock

from django.test import Client

from tests.conftest import client_for, make_product


def assert_in_layout(page: str) -> None:
    assert '<header class="topbar">' in page and "vitrine.css" in page and "</html>" in page


def test_it_tells_a_viewer_why_and_who_in_the_team_can(owner, team, teammate, viewer):
    response = client_for(viewer).get("/catalog/upload/")
    assert response.status_code == 403
    page = response.content.decode()
    assert_in_layout(page)
    assert 'href="/catalog/photos/"' in page  # the navigation is there
    assert "Viewers cannot upload, edit or start jobs." in page
    assert "You are viewer in <strong>Olivia&#x27;s shop</strong>" in page
    assert "An owner or editor of the team can do it:" in page
    # Owners first, then editors; the viewer is not among them.
    assert page.index("olivia <span") < page.index("tom <span") and "vera <span" not in page


def test_it_names_only_the_owners_for_owner_actions(owner, team, teammate):
    response = client_for(teammate).post("/catalog/team/tokens/", {"name": "ci"})
    assert response.status_code == 403
    page = response.content.decode()
    assert_in_layout(page)
    assert "Only the team&#x27;s owners can manage members and API tokens." in page
    assert "You are editor in" in page and "An owner of the team can do it:" in page
    assert "olivia <span" in page and "tom <span" not in page


def test_it_shows_a_404_in_the_layout_for_another_teams_object(owner, team, outsider):
    product = make_product(team, "Secret teapot")
    response = client_for(outsider).get(product.get_absolute_url())
    assert response.status_code == 404
    page = response.content.decode()
    assert_in_layout(page)
    assert "This page is not here" in page and "belongs to another team" in page
    assert "Secret teapot" not in page and 'href="/catalog/"' in page
    anonymous = Client().get("/catalog/no-such-page/")
    assert anonymous.status_code == 404 and "Log in" in anonymous.content.decode()


def test_it_shows_a_500_in_the_layout_with_the_request_id(owner, team):
    client = client_for(owner)
    client.raise_request_exception = False
    with mock.patch("catalog.models.ProductQuerySet.search", side_effect=RuntimeError("boom")):
        response = client.get("/catalog/", {"q": "mug"})
    assert response.status_code == 500
    page = response.content.decode()
    assert_in_layout(page)
    assert "Something went wrong on our side" in page
    assert f"<code>{response['X-Request-ID']}</code>" in page
    assert "boom" not in page and "Traceback" not in page
