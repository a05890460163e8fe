"""/healthz reports the database, storage and queue, and says 503 when one of them fails."""

from unittest import mock


def test_it_reports_healthy_dependencies(client, db, media_root):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and set(body["checks"]) == {"database", "storage", "queue"}
    assert not any(media_root.rglob("*.txt"))  # the probe file is cleaned up


def test_it_answers_503_when_storage_is_read_only(client, db, media_root):
    with mock.patch(
        "project.health.default_storage.save", side_effect=PermissionError("read-only file system")
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {
        "ok": False,
        "error": "PermissionError: read-only file system",
    }
    assert response.json()["checks"]["database"]["ok"] is True
