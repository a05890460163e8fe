"""The test suite's network guard, for the pytest process and every Python process it starts.

Vitrine promises that nothing phones home. The suite proves it by refusing, and recording, every
connection, datagram and name lookup that would leave the machine: TCP or UDP to an address that is
not loopback, and DNS lookups of names other than localhost (a lookup is itself an outbound packet).
Child processes (workers, gunicorn, `manage.py` commands, moto) load this module through the
`sitecustomize.py` beside it, which `tests/conftest.py` puts on `PYTHONPATH`; they append what they
refused to the file named by `VITRINE_NETGUARD_LOG`, which the suite reads at the end.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable

LOG_VARIABLE = "VITRINE_NETGUARD_LOG"
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

_real = {
    "connect": socket.socket.connect,
    "connect_ex": socket.socket.connect_ex,
    "sendto": socket.socket.sendto,
    "getaddrinfo": socket.getaddrinfo,
}


def is_local_host(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "":
        return True  # getaddrinfo(None, port): the local wildcard address, nothing is sent
    host = str(host).rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_numeric(host: object) -> bool:
    """True for any address form the C library parses without a lookup (decimal, octal, short IPv4 too)."""
    try:
        _real["getaddrinfo"](host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, TypeError, ValueError):
        return False
    return True


def _address_is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # a Unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    return is_local_host(host)


def install(record: Callable[[str], None]) -> None:
    """Patch the socket module so that leaving the machine raises and is recorded."""

    def refuse(what: str, target: object) -> None:
        record(f"{what} {target!r}")
        raise ConnectionRefusedError(f"test network guard: outbound {what} to {target!r} refused")

    def connect(self: socket.socket, address):
        if self.family != socket.AF_UNIX and not _address_is_local(address):
            refuse("connection", address)
        return _real["connect"](self, address)

    def connect_ex(self: socket.socket, address):
        if self.family != socket.AF_UNIX and not _address_is_local(address):
            refuse("connection", address)
        return _real["connect_ex"](self, address)

    def sendto(self: socket.socket, data, *args):
        address = args[-1]
        if self.family != socket.AF_UNIX and not _address_is_local(address):
            refuse("datagram", address)
        return _real["sendto"](self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        # A numeric address resolves without sending anything; connecting to it is checked above.
        if not is_local_host(host) and not _is_numeric(host):
            record(f"name lookup {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: lookup of {host!r} refused")
        return _real["getaddrinfo"](host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _real["connect"]
    socket.socket.connect_ex = _real["connect_ex"]
    socket.socket.sendto = _real["sendto"]
    socket.getaddrinfo = _real["getaddrinfo"]


def install_in_child() -> None:
    """Called by sitecustomize in processes the suite starts: record refusals in the shared log."""
    log_path = os.environ.get(LOG_VARIABLE)
    if not log_path:
        return

    def record(line: str) -> None:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()}: {line}\n")

    install(record)
