"""'Download all as ZIP' for every job kind: the archive opens, every entry decodes, names are unique,
each result comes in its own format, and the archive is streamed in bounded pieces."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from catalog.models import ProductImage
from processing.kinds import ItemOutcome
from processing.models import Job, Result, Status
from processing.zipstream import CHUNK_BYTES, ZipEntry, iter_zip
from tests.conftest import client_for, make_product
from tests.test_api_cutout import make_product_photo
from tests.test_erase_api import make_erase_photo
from tests.test_scenes_helpers import add_photo, make_cutout_png, presets  # noqa: F401


def run_job(job: Job) -> Job:
    """What the worker does, in this process."""
    assert job.claim()
    job.run()
    job.refresh_from_db()
    return job


def download_zip(client, job: Job, **query) -> tuple[zipfile.ZipFile, list[bytes]]:
    response = client.get(f"/jobs/{job.pk}/download.zip", query)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f'filename="vitrine-job-{job.pk}.zip"' in response["Content-Disposition"]
    assert response.streaming
    chunks = list(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None  # every entry's CRC matches its bytes
    return archive, chunks


def decoded_entries(archive: zipfile.ZipFile) -> dict[str, Image.Image]:
    images = {}
    for name in archive.namelist():
        image = Image.open(io.BytesIO(archive.read(name)))
        image.load()
        images[name] = image
    return images


def stored_bytes(result: Result) -> bytes:
    with result.file.storage.open(result.file.name, "rb") as handle:
        return handle.read()


def ingest(team, owner, data: bytes, name: str, product=None) -> ProductImage:
    image, _created = ProductImage.objects.ingest(
        team=team, data=data, original_filename=name, uploaded_by=owner, product=product
    )
    return image


def test_it_zips_cutouts_as_jpg_on_white_and_png_when_transparent(owner, team, viewer):
    # Two photos with the same name (two products' mug.jpg) must not overwrite each other.
    first = ingest(team, owner, make_product_photo(400, 400), "mug.jpg", make_product(team, "Mug A"))
    second = ingest(team, owner, make_product_photo(420, 380), "mug.jpg", make_product(team, "Mug B"))
    white = run_job(
        Job.objects.create_for_images(
            team=team,
            kind="cutout",
            images=[first, second],
            created_by=owner,
            params={"background": "white", "target_width": 300, "target_height": 300},
        )
    )
    transparent = run_job(
        Job.objects.create_for_images(
            team=team, kind="cutout", images=[first], created_by=owner, params={"background": "transparent"}
        )
    )
    assert white.status == transparent.status == Status.SUCCESS

    # A viewer may download: reading is what viewers do.
    archive, _chunks = download_zip(client_for(viewer), white)
    images = decoded_entries(archive)
    assert sorted(images) == ["mug-cutout-2.jpg", "mug-cutout.jpg"]
    for image in images.values():
        assert image.format == "JPEG" and image.size == (300, 300)
        assert image.getpixel((2, 2)) == (255, 255, 255)

    archive, _chunks = download_zip(client_for(owner), transparent)
    (name,) = archive.namelist()
    assert name == "mug-cutout.png"
    result = transparent.results.get()
    # Same format as stored: the stored bytes themselves, copied through unchanged.
    assert archive.read(name) == stored_bytes(result)
    image = decoded_entries(archive)[name]
    assert image.format == "PNG" and image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_it_zips_erase_results_as_png(owner, team):
    photo = ingest(team, owner, make_erase_photo(), "promo.png")
    client = client_for(owner)
    client.post("/jobs/erase/new/", {"images": [photo.pk], "non_object_types": ["1", "2", "3", "4"]})
    job = run_job(Job.objects.get(kind="erase"))
    assert job.status == Status.SUCCESS
    archive, _chunks = download_zip(client, job)
    images = decoded_entries(archive)
    assert list(images) == ["promo-erased.png"]
    assert images["promo-erased.png"].format == "PNG"
    assert archive.read("promo-erased.png") == stored_bytes(job.results.get())


def test_it_zips_scene_renders_as_jpg_and_converts_on_request(owner, team, presets):  # noqa: F811
    product = make_product(team, "Red ceramic mug")
    tall = add_photo(team, product, make_cutout_png(400, 600), "mug.png")
    client = client_for(owner)
    client.post(
        f"/jobs/scenes/product/{product.pk}/render/",
        {"images": [tall.pk], "scenes": ["10001", "10002"], "aspect": "1:1", "long_side": "512"},
    )
    job = run_job(Job.objects.get(kind="scene_render"))
    assert job.status == Status.SUCCESS and job.results.count() == 2
    archive, _chunks = download_zip(client, job)
    images = decoded_entries(archive)
    assert sorted(images) == ["mug-scene-2.jpg", "mug-scene.jpg"]
    assert all(image.format == "JPEG" and image.size == (512, 512) for image in images.values())

    archive, _chunks = download_zip(client, job, format="png")
    images = decoded_entries(archive)
    assert sorted(images) == ["mug-scene-2.png", "mug-scene.png"]
    assert all(image.format == "PNG" for image in images.values())


def test_it_streams_large_results_in_bounded_pieces_each_sent_once(owner, team):
    """Results of several megabytes go out in pieces no larger than one read plus a header."""
    photo = ingest(team, owner, make_product_photo(), "noise.jpg")
    job = Job.objects.create_for_images(
        team=team,
        kind="cutout",
        images=[photo, photo],
        created_by=owner,
        params={"background": "transparent"},
    )
    assert job.claim()
    generator = np.random.default_rng(7)
    for item in job.items.all():
        assert item.claim()
        noise = generator.integers(0, 256, (700, 900, 4), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(noise, "RGBA").save(buffer, "PNG")
        item.succeed(
            ItemOutcome(
                width=900,
                height=700,
                file_bytes=buffer.getvalue(),
                content_type="image/png",
                metadata={"background": "transparent"},
            )
        )
    job.finish()
    archive, chunks = download_zip(client_for(owner), job)
    stored = [stored_bytes(result) for result in Result.objects.filter(job=job)]
    assert min(len(data) for data in stored) > 10 * CHUNK_BYTES
    assert len(chunks) > 20 and max(len(chunk) for chunk in chunks) <= CHUNK_BYTES + 1024
    # Each stored byte is in the archive once: the archive is the entries plus a few headers.
    assert sum(len(chunk) for chunk in chunks) < sum(len(data) for data in stored) + 2048
    assert [archive.read(name) for name in archive.namelist()] == stored
    for image in decoded_entries(archive).values():
        assert image.size == (900, 700)


def test_it_skips_results_that_are_not_images(owner, team):
    photo = ingest(team, owner, make_product_photo(), "mug.jpg")
    job = Job.objects.create_for_images(team=team, kind="erase_detect", images=[photo], created_by=owner)
    assert job.claim()
    item = job.items.get()
    assert item.claim()
    item.succeed(
        ItemOutcome(file_bytes=b'{"elements": []}', extension="json", content_type="application/json")
    )
    job.finish()
    archive, _chunks = download_zip(client_for(owner), job)
    assert archive.namelist() == []


def test_it_writes_an_archive_other_readers_accept():
    """The stream's own format check: local headers, data descriptors and the central directory agree."""
    payloads = {f"photo-{n}.bin": bytes([n]) * (n * 50_000 + 1) for n in range(4)}
    data = b"".join(
        iter_zip(
            ZipEntry(name, [payload[i : i + 30_000] for i in range(0, len(payload), 30_000)])
            for name, payload in payloads.items()
        )
    )
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        # The entry's data starts where its local header says, right after it.
        assert data[info.header_offset : info.header_offset + 4] == b"PK\x03\x04"
        assert archive.read(info.filename) == payloads[info.filename]


def test_it_keeps_the_zip_inside_the_team(owner, team, outsider):
    photo = ingest(team, owner, make_product_photo(), "mug.jpg")
    job = Job.objects.create_for_images(team=team, kind="cutout", images=[photo], created_by=owner)
    assert client_for(outsider).get(f"/jobs/{job.pk}/download.zip").status_code == 404
