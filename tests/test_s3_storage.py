"""S3 storage against a real S3-compatible server (moto) on 127.0.0.1: private files, signed URLs."""

import httpx
import pytest
from django.urls import reverse

from catalog.models import ProductImage
from tests.conftest import client_for, make_image_bytes, make_product


@pytest.fixture
def s3_storage(settings):
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket="vitrine-test")
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "vitrine-test",
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": credentials["aws_access_key_id"],
                "secret_key": credentials["aws_secret_access_key"],
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 120,
                "file_overwrite": False,
                "addressing_style": "path",
            },
        },
    }
    yield client
    server.stop()


def bucket_keys(client) -> list[str]:
    return [entry["Key"] for entry in client.list_objects_v2(Bucket="vitrine-test").get("Contents", [])]


def test_it_stores_uploads_in_s3_and_serves_them_by_signed_url(
    s3_storage, team, owner, outsider, django_capture_on_commit_callbacks
):
    data = make_image_bytes(400, 300)
    product = make_product(team)
    image, _ = ProductImage.objects.ingest(
        team=team, data=data, original_filename="a.jpg", uploaded_by=owner, product=product
    )
    assert bucket_keys(s3_storage) == [image.file.name]

    # Anonymous access to the bucket object is refused: it is private.
    public = httpx.get(f"{s3_storage.meta.endpoint_url}/vitrine-test/{image.file.name}")
    assert public.status_code == 403

    response = client_for(owner).get(reverse("catalog:image_file", args=[image.pk]))
    assert response.status_code == 302
    signed_url = response["Location"]
    assert "Signature" in signed_url and "Expires" in signed_url
    assert httpx.get(signed_url).content == data
    assert client_for(outsider).get(reverse("catalog:image_file", args=[image.pk])).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        client_for(owner).post(reverse("catalog:product_delete", args=[product.pk]))
    assert bucket_keys(s3_storage) == []
