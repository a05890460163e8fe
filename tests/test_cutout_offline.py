"""Loading the cut-out model and running it must not touch the network."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from processing.engines import cutout


def make_test_photo() -> np.ndarray:
    photo = np.full((256, 256, 3), 230, np.uint8)
    photo[80:180, 90:170] = (180, 60, 40)
    return photo


@pytest.fixture
def network_attempts(monkeypatch) -> list[str]:
    attempts: list[str] = []

    def refuse(name: str):
        def blocked(*args, **kwargs):
            attempts.append(name)
            raise OSError(f"network access attempted: {name}")

        return blocked

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    return attempts


def test_it_loads_and_runs_the_model_without_network(network_attempts):
    path = cutout.model_path("general")
    if not path.is_file():
        raise cutout.ModelMissingError(f"cut-out model {path} is missing: run `make models`")
    # A fresh session, so loading is inside the guarded window too.
    cutout.clear_sessions()
    alpha = cutout.predict_alpha(make_test_photo())
    assert alpha.shape == (256, 256) and alpha.dtype == np.uint8
    assert network_attempts == []
