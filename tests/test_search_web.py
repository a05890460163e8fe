"""Search by picture in the studio: the page and its partial, filters, Find similar, duplicates, search
instances in the team settings, indexing on upload, the reindex command, and index syncing/persistence."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from catalog import search_index
from catalog.models import ImageSearchEntry, ProductImage, SearchIndexState, SearchInstance
from processing.engines.embedding import ImageEmbedder
from processing.engines.search import SearchEngine, VectorIndex
from processing.models import Job, Status
from tests.conftest import client_for, make_product, make_team, make_user
from tests.test_engine_search import make_product_image
from tests.test_search_api import add_indexed_image, fresh_search_engines, jpeg, reshoot  # noqa: F401

SEARCH = "/jobs/search/"
QUERY = "/jobs/search/query/"


def upload(picture: Image.Image, name: str = "query.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg(picture), content_type="image/jpeg")


@pytest.fixture
def catalog(team):
    products = []
    for seed, (cat, ia, sa) in enumerate([(7, 10, "red"), (3, 20, "blue"), (7, 30, "red")], start=1):
        product = make_product(
            team, f"Product {seed}", sku=f"SKU-{seed}", category=cat, int_attr=ia, str_attr=sa
        )
        add_indexed_image(team, product, seed)
        products.append(product)
    return products


def hit_skus(response) -> list[str]:
    html = response.content.decode()
    skus = []
    for chunk in html.split('class="tile search-hit')[1:]:
        marker = "SKU "
        skus.append(chunk.split(marker, 1)[1].split("<", 1)[0].strip() if marker in chunk else "")
    return skus


# ---- the page -------------------------------------------------------------------------------------------------
def test_it_links_search_in_the_nav_and_shows_the_page(owner, catalog):
    client = client_for(owner)
    page = client.get(reverse("catalog:product_list")).content.decode()
    assert f'href="{SEARCH}"' in page
    response = client.get(SEARCH)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert "3 of 3 photos searchable" in html
    assert "vitrine/search.js" in html


def test_it_answers_a_dropped_photo_with_the_results_partial(owner, catalog):
    client = client_for(owner)
    response = client.post(
        QUERY, {"picture": upload(reshoot(make_product_image(2))), "crop": "1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="search-results"') and "<html" not in html
    assert hit_skus(response)[0] == "SKU-2"
    first = html.split('class="tile search-hit', 2)[1]
    assert "same product" in first and "Home &amp; Garden" in first and "Find similar" in first
    assert 'class="region-box main"' in html and "data:image/jpeg;base64," in html


def test_it_narrows_results_with_the_sidebar_filters(owner, catalog):
    client = client_for(owner)

    def query(**fields):
        # Every hit, however weak: this is about the filters, not the minimum score.
        data = {"picture": upload(make_product_image(1)), "crop": "1", "min_score": "0", **fields}
        return client.post(QUERY, data, HTTP_HX_REQUEST="true")

    assert sorted(hit_skus(query(category="7"))) == ["SKU-1", "SKU-3"]
    assert hit_skus(query(int_min="15", int_max="25")) == ["SKU-2"]
    assert sorted(hit_skus(query(str_attr="red"))) == ["SKU-1", "SKU-3"]
    response = query(str_attr='red" OR str_attr != "')  # a value, not syntax
    assert hit_skus(response) == [] and response.status_code == 200
    response = query(filter='int_attr > 15 AND str_attr = "red"')
    assert (
        hit_skus(response) == ["SKU-3"]
        and "int_attr &gt; 15 AND str_attr = &quot;red&quot;" in response.content.decode()
    )
    response = query(filter="1=1; DROP TABLE catalog_product")
    assert response.status_code == 400 and 'id="search-error"' in response.content.decode()


def test_it_searches_a_dragged_region(owner, catalog):
    client = client_for(owner)
    picture = Image.new("RGB", (800, 400), (240, 240, 240))
    picture.paste(make_product_image(3).resize((380, 380)), (410, 10))
    data = {"picture": upload(picture), "crop": "1", "region": "410,790,10,390"}
    response = client.post(QUERY, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-region="410,790,10,390"' in html
    assert hit_skus(response)[0] == "SKU-3"
    response = client.post(
        QUERY, {**data, "picture": upload(picture), "region": "1,2,3"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400


def test_it_finds_similar_products_from_a_catalog_photo_and_leaves_it_out(owner, team, catalog, outsider):
    image = catalog[0].images.get()
    client = client_for(owner)
    detail = client.get(catalog[0].get_absolute_url()).content.decode()
    assert f"{SEARCH}?image={image.pk}" in detail
    photos = client.get(reverse("catalog:photo_list")).content.decode()
    assert f"{SEARCH}?image={image.pk}" in photos
    response = client.get(SEARCH, {"image": image.pk, "min_score": "0"})
    assert response.status_code == 200
    skus = hit_skus(response)
    assert "SKU-1" not in skus and sorted(skus) == ["SKU-2", "SKU-3"]
    # Another team's photo id is not found, whichever way it is asked for.
    assert client_for(outsider).get(SEARCH, {"image": image.pk}).status_code == 404
    assert client_for(outsider).post(QUERY, {"image": image.pk}).status_code == 404


def test_it_never_shows_another_teams_products(owner, team, catalog):
    rival_owner = make_user("rita")
    rival = make_team("Rival", rival_owner)
    add_indexed_image(rival, make_product(rival, "Rival copy", sku="RIVAL-1"), 2)
    response = client_for(owner).post(
        QUERY, {"picture": upload(make_product_image(2)), "min_score": "0"}, HTTP_HX_REQUEST="true"
    )
    assert "RIVAL-1" not in hit_skus(response) and len(hit_skus(response)) == 3
    response = client_for(rival_owner).post(
        QUERY, {"picture": upload(make_product_image(2)), "min_score": "0"}, HTTP_HX_REQUEST="true"
    )
    assert hit_skus(response) == ["RIVAL-1"]


def test_it_lets_a_viewer_search_and_asks_for_a_picture(viewer, catalog):
    client = client_for(viewer)
    response = client.post(QUERY, {"crop": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Drop, paste or choose a photo" in response.content.decode()
    response = client.post(QUERY, {"picture": upload(make_product_image(1))}, HTTP_HX_REQUEST="true")
    assert hit_skus(response)[0] == "SKU-1"


# ---- duplicates ----------------------------------------------------------------------------------------------
def test_it_pairs_a_relisted_photo_and_nothing_else_on_the_duplicates_page(owner, team, catalog):
    copy_product = make_product(team, "Listed twice", sku="SKU-1-COPY")
    resaved = make_product_image(1).resize((300, 300))
    image, _ = ProductImage.objects.ingest(
        team=team,
        data=jpeg(resaved, quality=70),
        original_filename="again.jpg",
        uploaded_by=None,
        product=copy_product,
    )
    search_index.index_image(image)
    response = client_for(owner).get(reverse("processing:search_duplicates"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="duplicate-pair"') == 1
    assert "SKU SKU-1-COPY" in html and "SKU SKU-1<" in html and "different products" in html
    assert "SKU-2" not in html and "SKU-3" not in html


# ---- search instances -----------------------------------------------------------------------------------------
def test_it_lets_owners_manage_search_instances_in_the_team_settings(owner, team, teammate, outsider):
    client = client_for(owner)
    response = client.post(reverse("processing:search_instance_create"), {"name": "shop-1"})
    assert response.status_code == 302
    instance = SearchInstance.objects.get(team=team)
    assert instance.name == "shop-1"
    assert "shop-1" in client.get(reverse("catalog:team_settings")).content.decode()
    for bad in ["x" * 21, "has space", "-leading", ""]:
        client.post(reverse("processing:search_instance_create"), {"name": bad})
    # Names are global: the outsider cannot take ours.
    client_for(outsider).post(reverse("processing:search_instance_create"), {"name": "shop-1"})
    assert list(SearchInstance.objects.values_list("name", flat=True)) == ["shop-1"]
    assert (
        client_for(teammate).post(reverse("processing:search_instance_create"), {"name": "mine"}).status_code
        == 403
    )
    delete = reverse("processing:search_instance_delete", args=[instance.pk])
    assert client_for(teammate).post(delete).status_code == 403
    assert client_for(outsider).post(delete).status_code == 404
    assert client.post(delete).status_code == 302
    assert not SearchInstance.objects.exists()


# ---- indexing ---------------------------------------------------------------------------------------------------
def test_it_indexes_uploaded_photos_in_the_facts_job(owner, team):
    client = client_for(owner)
    ids = []
    for seed in (5, 6):
        response = client.post(
            reverse("catalog:upload_file"), {"file": upload(make_product_image(seed), f"u{seed}.jpg")}
        )
        ids.append(response.json()["image"]["id"])
    client.post(reverse("catalog:upload_finish"), {"images": ids})
    job = Job.objects.get(team=team, kind="image_facts")
    assert job.claim()
    job.run()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
    entries = ImageSearchEntry.objects.filter(image_id__in=ids)
    assert entries.count() == 2
    entry = entries.first()
    assert len(entry.vectors) == 2 * 320 * 4 and len(entry.local_features) > 1000 and entry.region
    response = client.post(QUERY, {"picture": upload(reshoot(make_product_image(6)))}, HTTP_HX_REQUEST="true")
    assert "u6.jpg" in response.content.decode().split('class="tile search-hit', 2)[1]


def test_it_still_finishes_facts_without_the_model(owner, team, tmp_path, monkeypatch):
    monkeypatch.setattr(
        search_index, "_extractor", SearchEngine(VectorIndex(320), embedder=ImageEmbedder(model_dir=tmp_path))
    )
    image = ProductImage.objects.ingest(
        team=team, data=jpeg(make_product_image(8)), original_filename="x.jpg", uploaded_by=owner
    )[0]
    job = Job.objects.create_for_images(team=team, kind="image_facts", images=[image], created_by=owner)
    assert job.claim()
    job.run()
    job.refresh_from_db()
    image.refresh_from_db()
    assert job.status == Status.SUCCESS and image.thumbnail
    assert not ImageSearchEntry.objects.exists()


def test_it_reindexes_a_team_with_progress_from_the_command(team, owner):
    images = [
        ProductImage.objects.ingest(
            team=team, data=jpeg(make_product_image(s)), original_filename=f"{s}.jpg", uploaded_by=owner
        )[0]
        for s in (11, 12)
    ]
    out, err = io.StringIO(), io.StringIO()
    call_command("reindex_search", team=team.slug, stdout=out, stderr=err)
    assert "2 photo(s)" in out.getvalue() and "2/2" in err.getvalue()
    assert set(ImageSearchEntry.objects.values_list("image_id", flat=True)) == {i.pk for i in images}
    call_command("reindex_search", team=team.slug, missing=True, stdout=out, stderr=io.StringIO())
    assert "0 photo(s)" in out.getvalue().splitlines()[-1]
    with pytest.raises(CommandError):
        call_command("reindex_search", team="no-such-team")


# ---- syncing and persistence -------------------------------------------------------------------------------------
def test_it_keeps_cached_engines_in_step_with_changes_made_elsewhere(team, catalog):
    engine = search_index.engine_for_team(team)
    assert len(engine.index) == 6  # two vectors per image
    version = SearchIndexState.current(team.pk)
    # Another process indexes one image and deletes another: only the version and the rows say so.
    new = add_indexed_image(team, make_product(team, "New"), 21)
    gone = catalog[1].images.get().pk
    catalog[1].delete()
    assert SearchIndexState.current(team.pk) == version + 2
    engine = search_index.engine_for_team(team)
    ids = {int(k) // 2 for k in engine.index.search(engine.index.vectors([2 * new.pk])[0], 10)[0]}
    assert new.pk in ids and gone not in ids and len(engine.index) == 6


def test_it_saves_and_reloads_the_index_above_the_threshold(team, catalog, settings):
    settings.SEARCH_APPROXIMATE_THRESHOLD = 4  # vectors: three images make it approximate
    settings.SEARCH_INDEX_SAVE_EVERY = 1
    search_index.forget_engines()
    engine = search_index.engine_for_team(team)
    assert engine.index.approximate
    files = list((settings.SEARCH_INDEX_DIR / f"team-{team.pk}").glob("v*.index"))
    assert [f.name for f in files] == [f"v{SearchIndexState.current(team.pk)}.index"]
    # A fresh process loads the file, then replays what changed since it was written.
    search_index.forget_engines()
    added = add_indexed_image(team, make_product(team, "Later"), 22)
    gone = catalog[0].images.get().pk
    catalog[0].delete()
    engine = search_index.engine_for_team(team)
    assert engine.index.approximate
    assert added.pk * 2 in engine.index and gone * 2 not in engine.index
    result = search_index.search_team(team, reshoot(make_product_image(22)))
    assert result.result.hits[0].image_id == added.pk
    assert gone not in {hit.image_id for hit in result.result.hits}
    saved = sorted(p.name for p in (settings.SEARCH_INDEX_DIR / f"team-{team.pk}").glob("v*.index"))
    assert saved == [f"v{SearchIndexState.current(team.pk)}.index"]


def test_it_leaves_nothing_behind_when_deleting_a_team_with_an_index(team, catalog):
    search_index.engine_for_team(team)
    team_id = team.pk
    team.delete()
    assert not ImageSearchEntry.objects.exists()
    engine = search_index.engine_for_team(team_id)
    assert len(engine.index) == 0
