"""Accounts, teams, invitations, roles, API tokens and the catalog pages around them."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from catalog.models import ApiToken, Category, Invitation, Membership, Product, Role, Team
from tests.conftest import PASSWORD, client_for, make_product, make_product_image, make_user


def test_it_signs_up_a_merchant_with_their_own_team(client, db):
    response = client.post(
        reverse("signup"),
        {"username": "mei", "password1": PASSWORD, "password2": PASSWORD, "team_name": "Mei's Tea"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="mei")
    assert membership.team.name == "Mei's Tea" and membership.role == Role.OWNER
    assert client.get(reverse("catalog:product_list")).status_code == 200


def test_it_lets_a_new_user_join_by_invitation(client, team, owner):
    owner_client = client_for(owner)
    owner_client.post(reverse("catalog:invitation_create"), {"role": Role.VIEWER, "email": ""})
    invitation = Invitation.objects.get(team=team)
    accept_url = invitation.get_absolute_url()
    assert "Create an account" in client.get(accept_url).content.decode()
    client.post(
        f"{reverse('signup')}?next={accept_url}",
        {"username": "nina", "password1": PASSWORD, "password2": PASSWORD, "next": accept_url},
    )
    client.post(accept_url)
    nina = get_user_model().objects.get(username="nina")
    assert Membership.objects.get(user=nina).team == team
    assert Membership.objects.get(user=nina).role == Role.VIEWER
    # Used once: a second person gets a clear "gone".
    assert client_for(make_user("late")).post(accept_url).status_code == 410


def test_it_lets_an_existing_user_join_a_second_team_and_switch(team, owner, outsider):
    invitation = Invitation.objects.create(team=team, role=Role.EDITOR, created_by=owner)
    client = client_for(outsider)
    client.post(invitation.get_absolute_url())
    assert Membership.objects.filter(user=outsider).count() == 2
    make_product(team, "Olivia teapot")
    assert "Olivia teapot" in client.get(reverse("catalog:product_list")).content.decode()
    own_team = Team.objects.get(memberships__user=outsider, memberships__role=Role.OWNER)
    client.post(reverse("catalog:team_switch"), {"team": own_team.pk})
    assert "Olivia teapot" not in client.get(reverse("catalog:product_list")).content.decode()


def test_it_refuses_a_switch_to_a_team_the_user_is_not_in(team, outsider):
    assert client_for(outsider).post(reverse("catalog:team_switch"), {"team": team.pk}).status_code == 404


def test_it_refuses_expired_and_revoked_invitations(team, owner, outsider):
    expired = Invitation.objects.create(team=team, created_by=owner, expires_at=timezone.now())
    revoked = Invitation.objects.create(team=team, created_by=owner)
    revoked.revoke()
    for invitation in (expired, revoked):
        assert client_for(outsider).post(invitation.get_absolute_url()).status_code == 410
    assert not Membership.objects.filter(team=team, user=outsider).exists()


def test_it_stores_api_tokens_hashed_and_shows_them_once(team, owner):
    client = client_for(owner)
    client.post(reverse("catalog:token_create"), {"name": "ERP sync"})
    page = client.get(reverse("catalog:team_settings")).content.decode()
    token = ApiToken.objects.get(team=team)
    raw = page.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith(token.prefix) and token.hashed != raw and raw not in token.hashed
    assert ApiToken.objects.authenticate(raw) == token
    assert raw not in client.get(reverse("catalog:team_settings")).content.decode()
    client.post(reverse("catalog:token_revoke", args=[token.pk]))
    assert ApiToken.objects.authenticate(raw) is None


def test_it_lets_only_owners_manage_the_team(team, teammate, viewer):
    for user in (teammate, viewer):
        client = client_for(user)
        assert client.post(reverse("catalog:token_create"), {"name": "x"}).status_code == 403
        assert client.post(reverse("catalog:invitation_create"), {"role": "owner"}).status_code == 403
    assert not ApiToken.objects.exists() and not Invitation.objects.exists()


def test_it_keeps_at_least_one_owner(team, owner):
    membership = Membership.objects.get(team=team, user=owner)
    client_for(owner).post(reverse("catalog:member_update", args=[membership.pk]), {"role": Role.VIEWER})
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_it_filters_and_pages_the_catalog(team, owner, settings):
    settings.CATALOG_PAGE_SIZE = 2
    make_product(team, "保温杯 不锈钢 500ml", category=Category.HOME_GARDEN, sku="CUP-1")
    make_product(team, "Trail running shoes", category=Category.SPORTS, sku="SH-9")
    make_product(team, "Yoga mat", category=Category.SPORTS)
    client = client_for(owner)
    page = client.get(reverse("catalog:product_list"), {"q": "保温杯"}).content.decode()
    assert "保温杯" in page and "Yoga mat" not in page
    page = client.get(reverse("catalog:product_list"), {"q": "sh-9"}).content.decode()
    assert "Trail running shoes" in page and "Yoga mat" not in page
    page = client.get(reverse("catalog:product_list"), {"category": Category.SPORTS}).content.decode()
    assert "保温杯" not in page and "Page 1 of 1" not in page
    assert "Page 1 of 2" in client.get(reverse("catalog:product_list")).content.decode()
    fragment = client.get(reverse("catalog:product_list"), {"q": "yoga"}, headers={"HX-Request": "true"})
    assert fragment.content.decode().strip().startswith('<div id="results">')


def test_it_creates_a_product_from_uploaded_photos(team, owner):
    images = [make_product_image(team, colour=(n * 50, 10, 10), name=f"{n}.jpg") for n in range(2)]
    client = client_for(owner)
    response = client.post(
        reverse("catalog:product_create"),
        {
            "title": "Linen apron",
            "category": Category.CLOTHING,
            "sku": "AP-1",
            "int_attr": 3,
            "images": [image.pk for image in images],
        },
    )
    product = Product.objects.get()
    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert list(product.images.order_by("position").values_list("pk", flat=True)) == [i.pk for i in images]
    duplicate = client.post(
        reverse("catalog:product_create"), {"title": "Other", "category": 1, "sku": "AP-1"}
    )
    assert "already has this SKU" in duplicate.content.decode()


def test_it_locks_a_username_after_repeated_wrong_passwords(client, owner):
    for _attempt in range(5):
        response = client.post(reverse("login"), {"username": owner.username, "password": "wrong"})
        assert "Please enter a correct username and password" in response.content.decode()
    locked = client.post(reverse("login"), {"username": owner.username, "password": PASSWORD})
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    other = client_for(make_user("unrelated"))
    assert other.get(reverse("catalog:team_create")).status_code == 200


def test_it_logs_in_with_the_right_password(client, owner, team):
    response = client.post(reverse("login"), {"username": owner.username, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


def test_it_lets_only_an_owner_set_the_result_retention(team, owner, teammate):
    client_for(teammate).post(
        reverse("catalog:team_update"), {"name": "Hijacked", "result_retention_days": 1}
    )
    team.refresh_from_db()
    assert team.name != "Hijacked" and team.result_retention_days == 0
    client_for(owner).post(reverse("catalog:team_update"), {"name": team.name, "result_retention_days": 30})
    team.refresh_from_db()
    assert team.result_retention_days == 30
