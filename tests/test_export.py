"""`manage.py export_team`: a ZIP with the team's photos, results and a products CSV, nothing else."""

import csv
import io
import zipfile

from django.core.management import call_command

from tests.conftest import make_product, make_product_image


def test_it_exports_a_teams_photos_and_products_only(team, owner, outsider, tmp_path):
    product = make_product(team, "保温杯 Thermos", sku="TH-1", int_attr=3, str_attr="silver")
    make_product_image(team, product=product, colour=(10, 20, 200), name="front.jpg")
    make_product_image(team, colour=(200, 20, 10), name="loose.jpg")
    rival_team = outsider.memberships.get().team
    make_product(rival_team, "Rival secret")
    make_product_image(rival_team, colour=(0, 200, 0), name="rival.jpg")

    output = tmp_path / "export.zip"
    call_command("export_team", team.slug, str(output), stdout=io.StringIO(), stderr=io.StringIO())

    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        rows = list(csv.DictReader(io.StringIO(archive.read("products.csv").decode())))
        assert archive.read(rows[0]["images"])[:2] == b"\xff\xd8"
    assert len([name for name in names if name.startswith("images/")]) == 2
    assert any(name.startswith("images/unsorted/") for name in names)
    assert [row["title"] for row in rows] == ["保温杯 Thermos"]
    assert (
        rows[0]["sku"] == "TH-1" and rows[0]["int_attr"] == "3" and rows[0]["category"] == "General Purpose"
    )
    assert not (tmp_path / "export.zip.partial").exists()
