"""The network guard itself: the suite's privacy proof is only as good as what it catches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netguard import vitrine_netguard

CHILD_PROBE = """
import os
import socket
outcomes = [str(os.getpid())]
for attempt in (
    lambda: socket.create_connection(("192.0.2.7", 80), timeout=2),
    lambda: socket.getaddrinfo("vitrine-phones-home.example", 443),
    lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.8", 53)),
):
    try:
        attempt()
        outcomes.append("sent")
    except (ConnectionRefusedError, socket.gaierror) as error:
        outcomes.append("refused" if "test network guard" in str(error) else "other")
print(",".join(outcomes))
"""


def _take_child_lines(marker: str) -> list[str]:
    """Remove this test's own deliberate attempts from the shared child log, so the run stays green."""
    log = Path(os.environ[vitrine_netguard.LOG_VARIABLE])
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    ours = [line for line in lines if marker in line]
    log.write_text("".join(f"{line}\n" for line in lines if marker not in line), encoding="utf-8")
    return ours


def test_it_guards_python_processes_started_by_the_suite():
    result = subprocess.run(
        [sys.executable, "-c", CHILD_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    child_pid, *outcomes = result.stdout.strip().split(",")
    assert outcomes == ["refused", "refused", "refused"]
    recorded = _take_child_lines(f"pid {child_pid}:")
    assert [line.split(": ", 1)[1].split(" ")[0] for line in recorded] == ["connection", "name", "datagram"]


def test_it_refuses_name_lookups_and_datagrams_in_the_test_process(network_guard):
    before = len(network_guard)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("vitrine-phones-home.example", 443)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(ConnectionRefusedError):
        sock.sendto(b"x", ("192.0.2.9", 53))
    # Loopback names and numeric addresses stay usable: the live servers and the SSRF tests need them.
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("192.0.2.10", 80)
    assert len(network_guard) - before == 2
    del network_guard[before:]  # these were ours
