"""Load: job-status polling, an API burst and a worker soak against gunicorn with production settings.

    .venv/bin/python bench/load.py            # full run (a few minutes)
    .venv/bin/python bench/load.py --quick    # smaller numbers, about a minute
    .venv/bin/python bench/load.py --only polling --workers 3 --threads 8

Self-contained: a temporary directory holds the SQLite database, media and logs; the script
migrates it, starts gunicorn (gunicorn.conf.py, DEBUG=false, a random SECRET_KEY, ALLOWED_HOSTS
127.0.0.1, behind a pretend TLS proxy: every request says X-Forwarded-Proto: https) and later one
`manage.py db_worker`, and stops them and deletes the directory at the end. Only 127.0.0.1.

Polling. 200 users (200 sessions of 20 members of one team) each poll the status fragment of one
of 4 running cut-out jobs (24 items, half of them done with results), as htmx does (HX-Request),
keeping their cookie and the last ETag like a browser's cache. Two load shapes, each run twice in
the same server: "token" (If-None-Match sent, 304 answers) and "baseline" (no If-None-Match, the
whole fragment rendered every time, which is what every poll cost before the change token):
- paced: every user polls every 200/RATE seconds (RATE = 500 req/s in all), open loop; latency
  counts from the moment the poll was due, so a late answer also delays the user's next poll and is
  charged (no coordinated omission). This is the target's shape: 500 req/s, p99 <= 100 ms.
- wrk: 200 connections sending back to back (closed loop, one session): the server's capacity.
  Latency here is queueing by Little's law (200 / throughput), not what a polling page sees.

Burst. 50 clients start together, each sending its requests back to back: Aliyun-style
`/api/v1/bg-remove/submit` batches of 10 image URLs (no worker runs, so the batches only queue) and
one synchronous Aidge `/ai/image/cut/out` each (a small JPEG; the accepted ones run the model in
the web workers). The team's limit is API_RATE_LIMIT_QPS (5/s): the rest must get the seeds'
throttling answers (HTTP 403 code 23500004; HTTP 200 resCode 501), nothing may answer 5xx, and the
RSS of the gunicorn workers is sampled throughout.

Soak. N photos (1,000; 200 with --quick) in jobs of 100 through one `db_worker`, job kind
image_facts: decode, facts, thumbnail and the search index entry (EfficientNet-Lite0 when the model
is installed), about 0.1 s a photo. The real cut-out (~1.5 s a photo, 25 minutes for 1,000 on a
quiet machine) would measure the model, which bench/cutout.py --soak already does; this measures
the worker's job loop, ORM, storage and index. Peak RSS of the worker over the first 10% of photos
after the first 20 (models loaded) is compared with the peak over the last 10%: growth <= 10%.

The machine is shared: wrk and the clients run on the same cores as the server. Compare the token
and baseline figures of one run; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
WRK = shutil.which("wrk") or "/usr/bin/wrk"

POLL_USERS = 200
POLL_RATE = 500.0  # req/s in all, the target
TARGET_P99_MS = 100.0
BURST_CLIENTS = 50


# =================================================================================================
# Inside Django (the script re-runs itself as `load.py _setup ...` with the server's environment)
# =================================================================================================
def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()


def setup_polling() -> dict:
    """A team with 20 members, 4 running cut-out jobs half done, 200 sessions and an API token."""
    _django()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from catalog.models import ApiToken, Membership, Role, Team
    from processing.models import Job, JobItem, Result, Status

    # A random id: the file cache holding rate-limit counters is shared with anything else on this machine.
    team = Team.objects.create(
        pk=random.randint(10**8, 10**9), name="Load shop", slug=f"load-{uuid.uuid4().hex[:8]}"
    )
    users = []
    for index in range(20):
        user = get_user_model().objects.create(username=f"load{index}")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(team=team, user=user, role=Role.OWNER if index == 0 else Role.EDITOR)
        users.append(user)
    now = timezone.now()
    jobs = []
    for _ in range(4):
        job = Job.objects.create_with_items(
            team=team,
            kind="cutout",
            items=[JobItem(source_name=f"https://shop.example/p{n}.jpg", params={}) for n in range(24)],
            created_by=users[0],
            params={"background": "white"},
            enqueue=False,
        )
        Job.objects.filter(pk=job.pk).update(
            status=Status.RUNNING,
            started_at=now,
            lease_expires_at=now + timedelta(days=1),
            version=12,
            attempts=1,
        )
        for item in job.items.order_by("position")[:12]:
            JobItem.objects.filter(pk=item.pk).update(
                status=Status.SUCCESS, started_at=now, finished_at=now, duration_ms=1400 + item.position
            )
            Result.objects.create(
                team=team,
                job=job,
                item=item,
                file=f"teams/{team.pk}/results/{job.pk}/{item.position:05d}.png",
                content_type="image/png",
                width=1000,
                height=1000,
                score=0.93,
                metadata={"fitted": True, "background": "white", "needs_review": False},
            )
        jobs.append(job.pk)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    sessions = []
    for index in range(POLL_USERS):
        user = users[index % len(users)]
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(
            {
                "cookie": f"sessionid={store.session_key}; csrftoken={secrets.token_hex(16)}",
                "job": jobs[index % len(jobs)],
            }
        )
    _token, raw = ApiToken.objects.create_token(team, "load", users[0])
    return {"team": team.pk, "jobs": jobs, "sessions": sessions, "token": raw}


def setup_soak(count: int, team_id: int, per_job: int = 100) -> dict:
    """`count` distinct photos in jobs of `per_job`, queued for the worker."""
    _django()
    import numpy as np
    from PIL import Image

    from catalog.models import ProductImage, Team
    from processing.models import Job

    team = Team.objects.get(pk=team_id)
    rng = np.random.default_rng(7)
    images = []
    for index in range(count):
        pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        picture = Image.fromarray(pixels).resize((640, 480), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=85)
        image, _created = ProductImage.objects.ingest(
            team=team, data=buffer.getvalue(), original_filename=f"soak-{index:04d}.jpg", uploaded_by=None
        )
        images.append(image)
    jobs = [
        Job.objects.create_for_images(
            team=team, kind="image_facts", images=images[start : start + per_job], created_by=None
        ).pk
        for start in range(0, count, per_job)
    ]
    return {"jobs": jobs}


# =================================================================================================
# Processes
# =================================================================================================
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class RssSampler:
    """Samples the RSS of a process, or of a gunicorn master's workers, every `interval` seconds."""

    def __init__(self, pid: int, *, workers_of: bool, interval: float = 0.2, probe=None) -> None:
        self.pid, self.workers_of, self.interval, self.probe = pid, workers_of, interval, probe
        self.samples: list[tuple[float, float, float, object]] = []  # time, total MB, max one MB, probe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def measure(self) -> tuple[float, float]:
        pids = children(self.pid) if self.workers_of else [self.pid]
        values = [rss_mb(pid) for pid in pids] or [0.0]
        return sum(values), max(values)

    def _run(self) -> None:
        while not self._stop.is_set():
            total, largest = self.measure()
            self.samples.append((time.monotonic(), total, largest, self.probe() if self.probe else None))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_total(self) -> float:
        return max((sample[1] for sample in self.samples), default=0.0)


class Stack:
    """The temporary directory, its environment, gunicorn and the worker."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dir = Path(tempfile.mkdtemp(prefix="vitrine-load-"))
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "BEHIND_TLS_PROXY": "true",
            "DATABASE_URL": f"sqlite:///{self.dir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(self.dir / "media"),
            "SEARCH_INDEX_DIR": str(self.dir / "search-index"),
            "IMAGE_FETCH_ALLOWED_HOSTS": HOST,
            "LOG_LEVEL": "WARNING",
            # Persistent connections: opening SQLite and its PRAGMAs per request doubled a 304's cost.
            "CONN_MAX_AGE": str(args.conn_max_age),
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
        }
        for name in (
            "VITRINE_TESTING",
            "TASK_BACKEND",
            "CACHE_BACKEND",
            "STORAGE_BACKEND",
            "PYTEST_CURRENT_TEST",
        ):
            self.env.pop(name, None)
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def manage(self, *arguments: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *arguments], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL
        )

    def inside(self, *arguments: str) -> dict:
        done = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "_setup", *arguments],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start_server(self) -> None:
        log = open(self.dir / "gunicorn.log", "ab")  # noqa: SIM115 - closed with the directory
        self.server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "project.wsgi", "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.dir / 'gunicorn.log').read_text()[-2000:]}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as connection:
                    connection.sendall(
                        b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n"
                    )
                    answered = connection.recv(64).startswith(b"HTTP/1")
                if answered and len(children(self.server.pid)) >= self.args.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def stop_server(self) -> None:
        self.server = _stop(self.server)

    def start_worker(self) -> subprocess.Popen:
        log = open(self.dir / "worker.log", "ab")  # noqa: SIM115
        self.worker = subprocess.Popen(
            [PYTHON, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        return self.worker

    def stop_worker(self) -> None:
        self.worker = _stop(self.worker)

    def close(self) -> None:
        self.stop_worker()
        self.stop_server()
        shutil.rmtree(self.dir, ignore_errors=True)


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return None


# =================================================================================================
# A tiny HTTP/1.1 client: keep-alive, per-user cookie and ETag, microseconds of client CPU per request
# =================================================================================================
class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def poll_request(path: str, cookie: str, etag: str | None) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {HOST}",
        f"Cookie: {cookie}",
        "HX-Request: true",
        "X-Forwarded-Proto: https",
    ]
    if etag:
        lines.append(f"If-None-Match: {etag}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Run:
    name: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    missed: int = 0  # polls that fell due but were never sent: the users were still waiting
    cpu_start: float = 0.0
    client_cpu_ms: float = 0.0  # this script's CPU per poll, taken from the same cores

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def paced_polling(
    port: int, sessions: list[dict], *, use_etag: bool, seconds: float, rate: float, name: str, master: int
) -> Run:
    interval = len(sessions) / rate
    run = Run(name)
    loop = asyncio.get_running_loop()
    connections = [Connection(port) for _ in sessions]
    etags: list[str | None] = [None] * len(sessions)
    # Warm up: every user loads the fragment once (a page's first poll), which also fills the ETags.
    warm = await asyncio.gather(
        *(
            conn.request(poll_request(f"/jobs/{s['job']}/", s["cookie"], None))
            for conn, s in zip(connections, sessions, strict=False)
        )
    )
    for index, (status, headers, _body) in enumerate(warm):
        if status != 200:
            raise RuntimeError(f"warm-up poll answered {status}")
        etags[index] = headers.get("etag") if use_etag else None
    start = loop.time() + 0.2
    deadline = start + seconds
    run.cpu_start = server_cpu_seconds(master)  # after the warm-up's full renders
    client_cpu_start = time.process_time()

    async def user(index: int) -> None:
        session, connection = sessions[index], connections[index]
        due = start + random.random() * interval
        # Stop at the deadline even when behind: what a saturated server never got to is counted as missed.
        while due < deadline and loop.time() < deadline + 2:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status, headers, _body = await connection.request(
                    poll_request(f"/jobs/{session['job']}/", session["cookie"], etags[index])
                )
            except (OSError, asyncio.IncompleteReadError):
                run.errors += 1
                await connection.close()
                due += interval
                continue
            run.latencies_ms.append((loop.time() - due) * 1000)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            if use_etag and headers.get("etag"):
                etags[index] = headers["etag"]
            due += interval

    await asyncio.gather(*(user(index) for index in range(len(sessions))))
    run.seconds = loop.time() - start
    run.client_cpu_ms = 1000 * (time.process_time() - client_cpu_start) / max(1, len(run.latencies_ms))
    run.missed = max(0, int(seconds * rate) - len(run.latencies_ms) - run.errors)
    for connection in connections:
        await connection.close()
    return run


def wrk_polling(port: int, session: dict, etag: str | None, *, seconds: int) -> dict:
    command = [WRK, "-t2", f"-c{POLL_USERS}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for header in ("HX-Request: true", "X-Forwarded-Proto: https", f"Cookie: {session['cookie']}"):
        command += ["-H", header]
    if etag:
        command += ["-H", f"If-None-Match: {etag}"]
    command.append(f"http://{HOST}:{port}/jobs/{session['job']}/")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": _wrk_ms(output, "50%"),
        "p99": _wrk_ms(output, "99%"),
        "non2xx3xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": socket_errors.group(0) if socket_errors else "",
    }


def _wrk_ms(output: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


# =================================================================================================
# Burst
# =================================================================================================
def small_jpeg_base64() -> str:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (480, 360), (235, 235, 230))
    ImageDraw.Draw(picture).ellipse((140, 80, 340, 300), fill=(180, 40, 40))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return base64.b64encode(buffer.getvalue()).decode()


def api_request(path: str, token: str, payload: dict, *, aliyun: bool) -> bytes:
    body = json.dumps(payload).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}",
        "X-Forwarded-Proto: https",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Authorization: {'APPCODE' if aliyun else 'Bearer'} {token}",
    ]
    if aliyun:
        lines.append(f"X-Ca-Nonce: {uuid.uuid4()}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def burst(port: int, token: str, *, per_client: int, sync: bool) -> tuple[dict[str, int], float]:
    """Returns {"HTTP status / seed code": count} and the seconds the burst took."""
    counts: dict[str, int] = {}
    gate = asyncio.Event()
    image = small_jpeg_base64() if sync else ""

    async def client(index: int) -> None:
        connection = Connection(port)
        await gate.wait()
        for number in range(per_client):
            if sync:
                raw = api_request(
                    "/ai/image/cut/out",
                    token,
                    {"imageBase64": image, "backGroundType": "WHITE_BACKGROUND"},
                    aliyun=False,
                )
            else:
                tasks = [
                    {"image": f"http://{HOST}:9/c{index}-{number}-{n}.jpg", "model_type": "general"}
                    for n in range(10)
                ]
                raw = api_request(
                    "/api/v1/bg-remove/submit", token, {"data": {"task_list": tasks}}, aliyun=True
                )
            try:
                status, _headers, body = await connection.request(raw)
            except (OSError, asyncio.IncompleteReadError) as error:
                key = f"connection error {error.__class__.__name__}"
            else:
                try:
                    answer = json.loads(body)
                    code = answer.get("resCode") if sync else answer.get("code")
                except ValueError:
                    code = "not JSON"
                key = f"HTTP {status} / {'resCode' if sync else 'code'} {code}"
            counts[key] = counts.get(key, 0) + 1
        await connection.close()

    runners = [asyncio.create_task(client(index)) for index in range(BURST_CLIENTS)]
    await asyncio.sleep(0.1)
    began = time.monotonic()
    gate.set()
    await asyncio.gather(*runners)
    return counts, time.monotonic() - began


# =================================================================================================
# The run
# =================================================================================================
@dataclass
class Row:
    area: str
    metric: str
    value: str
    target: str = ""
    met: bool | None = None


def fmt_ms(value: float) -> str:
    return f"{value:.1f} ms"


def server_cpu_seconds(master: int) -> float:
    """CPU time of gunicorn's workers: the live ones, plus the reaped ones the master has waited for."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return []

    total = 0.0
    for pid in children(master):
        values = fields(pid)
        if values:
            total += (int(values[11]) + int(values[12])) / tick  # utime, stime
    values = fields(master)
    if values:
        total += (int(values[13]) + int(values[14])) / tick  # cutime, cstime
    return total


def wait_idle(master: int, limit: float = 120.0) -> None:
    """Wait until the workers stop using CPU: a saturated run leaves queued requests to drain."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = server_cpu_seconds(master)
        time.sleep(0.5)
        if server_cpu_seconds(master) - before < 0.03:
            return


def run_polling(stack: Stack, setup: dict, args: argparse.Namespace, rows: list[Row]) -> None:
    sessions = setup["sessions"]
    seconds = 8 if args.quick else 20
    wrk_seconds = 5 if args.quick else 10
    print(
        f"\n== Polling: {len(sessions)} users, {POLL_RATE:.0f} req/s paced for {seconds} s; "
        f"wrk -c{POLL_USERS} {wrk_seconds} s"
    )
    master = stack.server.pid
    paced: dict[str, Run] = {}
    cpu_ms: dict[str, float] = {}
    for label in ("baseline", "token"):
        run = asyncio.run(
            paced_polling(
                stack.port,
                sessions,
                use_etag=label == "token",
                seconds=seconds,
                rate=POLL_RATE,
                name=label,
                master=master,
            )
        )
        wait_idle(master)  # what was still queued is part of the run's cost
        cpu_ms[label] = 1000 * (server_cpu_seconds(master) - run.cpu_start) / max(1, len(run.latencies_ms))
        paced[label] = run
        print(
            f"paced {label:8s}: {run.throughput:6.1f} req/s  p50 {fmt_ms(run.percentile(0.5))}  "
            f"p99 {fmt_ms(run.percentile(0.99))}  statuses {dict(sorted(run.statuses.items()))}  "
            f"errors {run.errors}  missed {run.missed}  server CPU {cpu_ms[label]:.2f} ms/request  "
            f"client CPU {run.client_cpu_ms:.2f} ms/request  "
            f"load {os.getloadavg()[0]:.1f}"
        )
        wait_idle(master)
    # wrk: every connection is the first user, with its current tag (or none: the baseline).
    first = sessions[0]
    _status, headers, _body = asyncio.run(
        _one(stack.port, poll_request(f"/jobs/{first['job']}/", first["cookie"], None))
    )
    closed: dict[str, dict] = {}
    for label, etag in (("baseline", None), ("token", headers.get("etag"))):
        closed[label] = wrk_polling(stack.port, first, etag, seconds=wrk_seconds)
        figures = closed[label]
        print(
            f"wrk   {label:8s}: {figures['rps']:6.1f} req/s  p50 {fmt_ms(figures['p50'])}  "
            f"p99 {fmt_ms(figures['p99'])}  non-2xx/3xx {figures['non2xx3xx']}  {figures['errors']}  "
            f"load {os.getloadavg()[0]:.1f}"
        )
        wait_idle(master)

    token, baseline = paced["token"], paced["baseline"]
    cores = os.cpu_count() or 2
    errors = token.errors + baseline.errors + closed["token"]["non2xx3xx"] + closed["baseline"]["non2xx3xx"]

    def p50_p99(run: Run) -> str:
        return f"{run.percentile(0.5):.1f} / {run.percentile(0.99):.1f} ms"

    rows += [
        Row(
            "polling paced",
            "throughput, token (304s)",
            f"{token.throughput:.0f} req/s",
            ">= 500 req/s",
            token.throughput >= 0.97 * POLL_RATE,
        ),
        Row(
            "polling paced",
            "p50 / p99, token",
            p50_p99(token),
            "p99 <= 100 ms",
            token.percentile(0.99) <= TARGET_P99_MS,
        ),
        Row("polling paced", "missed polls, token", str(token.missed), "", None),
        Row(
            "polling paced",
            "throughput, baseline (full fragment)",
            f"{baseline.throughput:.0f} req/s",
            "(baseline)",
            None,
        ),
        Row("polling paced", "p50 / p99, baseline", p50_p99(baseline), "(baseline)", None),
        Row("polling paced", "missed polls, baseline", str(baseline.missed), "(baseline)", None),
        Row(
            "polling",
            "server CPU per poll: token / baseline",
            f"{cpu_ms['token']:.2f} / {cpu_ms['baseline']:.2f} ms",
            "",
            None,
        ),
        Row(
            "polling",
            f"=> polls/s that {cores} idle cores could serve: token / baseline",
            f"{1000 * cores / cpu_ms['token']:.0f} / {1000 * cores / cpu_ms['baseline']:.0f}",
            ">= 500 (estimate)",
            1000 * cores / cpu_ms["token"] >= POLL_RATE,
        ),
        Row(
            "polling wrk -c200",
            "throughput: token / baseline",
            f"{closed['token']['rps']:.0f} / {closed['baseline']['rps']:.0f} req/s",
            "(closed loop)",
            None,
        ),
        Row(
            "polling wrk -c200",
            "p50 / p99, token",
            f"{closed['token']['p50']:.1f} / {closed['token']['p99']:.1f} ms",
            "(closed loop)",
            None,
        ),
        Row(
            "polling wrk -c200",
            "p50 / p99, baseline",
            f"{closed['baseline']['p50']:.1f} / {closed['baseline']['p99']:.1f} ms",
            "(baseline)",
            None,
        ),
        Row("polling", "errors (paced, wrk non-2xx/3xx)", str(errors), "0", errors == 0),
    ]


async def _one(port: int, raw: bytes):
    connection = Connection(port)
    try:
        return await connection.request(raw)
    finally:
        await connection.close()


def run_burst(stack: Stack, setup: dict, args: argparse.Namespace, rows: list[Row]) -> None:
    per_client = 2 if args.quick else 4
    print(
        f"\n== Burst: {BURST_CLIENTS} clients at once, {per_client} async batches each"
        + (", then 1 sync cut-out each" if args.sync_burst else "")
    )
    sampler = RssSampler(stack.server.pid, workers_of=True, interval=0.1)
    before_total, before_max = sampler.measure()
    with sampler:
        async_counts, async_seconds = asyncio.run(
            burst(stack.port, setup["token"], per_client=per_client, sync=False)
        )
        time.sleep(1.1)  # a fresh rate-limit window
        sync_counts, sync_seconds = (
            asyncio.run(burst(stack.port, setup["token"], per_client=1, sync=True))
            if args.sync_burst
            else ({}, 0.0)
        )
        time.sleep(0.5)
    after_total, after_max = sampler.measure()
    print(f"async submit ({async_seconds:.1f} s): {dict(sorted(async_counts.items()))}")
    if sync_counts:
        print(f"sync cut-out ({sync_seconds:.1f} s): {dict(sorted(sync_counts.items()))}")
    print(
        f"gunicorn workers RSS: before {before_total:.0f} MB (largest {before_max:.0f}), "
        f"peak {sampler.peak_total:.0f} MB, after {after_total:.0f} MB (largest {after_max:.0f})"
    )
    every = {
        **{f"submit {k}": v for k, v in async_counts.items()},
        **{f"cut/out {k}": v for k, v in sync_counts.items()},
    }
    server_errors = sum(v for k, v in every.items() if re.search(r"HTTP 5\d\d|connection error", k))
    accepted = async_counts.get("HTTP 200 / code 0", 0)
    throttled = async_counts.get("HTTP 403 / code 23500004", 0)
    other = sum(async_counts.values()) - accepted - throttled
    limit_allowance = 5 * (int(async_seconds) + 2)  # 5/s per team, windows touched by the burst
    rows += [
        Row(
            "burst submit",
            f"{sum(async_counts.values())} batches in {async_seconds:.1f} s: accepted / 403 23500004 / other",
            f"{accepted} / {throttled} / {other}",
            f"accepted <= {limit_allowance}, other 0",
            accepted <= limit_allowance and other == 0 and throttled > 0,
        ),
    ]
    if sync_counts:
        sync_ok = sync_counts.get("HTTP 200 / resCode 200", 0) + sync_counts.get("HTTP 200 / resCode None", 0)
        sync_throttled = sync_counts.get("HTTP 200 / resCode 501", 0)
        sync_other = sum(sync_counts.values()) - sync_ok - sync_throttled
        rows.append(
            Row(
                "burst cut/out",
                f"{sum(sync_counts.values())} sync calls: done / resCode 501 / other",
                f"{sync_ok} / {sync_throttled} / {sync_other}",
                "501 for the excess, other 0",
                sync_throttled > 0 and sync_other == 0,
            )
        )
    rows += [
        Row("burst", "5xx or dropped connections", str(server_errors), "0", server_errors == 0),
        Row(
            "burst",
            "workers' RSS before / peak / after",
            f"{before_total:.0f} / {sampler.peak_total:.0f} / {after_total:.0f} MB",
            "bounded",
            None,
        ),
    ]


def run_soak(stack: Stack, setup: dict, args: argparse.Namespace, rows: list[Row]) -> None:
    count = args.soak or (200 if args.quick else 1000)
    print(f"\n== Soak: {count} photos (image_facts) through one db_worker")
    made = stack.inside("soak", str(count), str(setup["team"]))
    database = stack.dir / "db.sqlite3"
    job_ids = ",".join(str(pk) for pk in made["jobs"])

    def done() -> int:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(
                f"SELECT COUNT(*) FROM processing_jobitem WHERE job_id IN ({job_ids}) "  # noqa: S608 - our ints
                "AND status IN ('SUCCESS','FAILED','CANCELLED')"
            ).fetchone()[0]

    worker = stack.start_worker()
    began = time.monotonic()
    with RssSampler(worker.pid, workers_of=False, interval=0.25, probe=done) as sampler:
        while time.monotonic() - began < 3600:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited: {(stack.dir / 'worker.log').read_text()[-2000:]}")
            if sampler.samples and sampler.samples[-1][3] >= count:
                break
            time.sleep(0.5)
    seconds = time.monotonic() - began
    stack.stop_worker()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        failed = db.execute(
            f"SELECT COUNT(*) FROM processing_jobitem WHERE job_id IN ({job_ids}) AND status != 'SUCCESS'"  # noqa: S608
        ).fetchone()[0]
    warm_from = 20
    window = max(10, count // 10)
    start_peak = max((s[1] for s in sampler.samples if warm_from <= s[3] <= warm_from + window), default=0.0)
    end_peak = max((s[1] for s in sampler.samples if s[3] >= count - window), default=0.0)
    cold = next((s[1] for s in sampler.samples if s[3] >= 1), 0.0)
    growth = (end_peak / start_peak - 1) * 100 if start_peak else float("nan")
    print(
        f"{count} photos in {seconds:.0f} s ({count / seconds:.1f}/s), {failed} not SUCCESS; worker RSS after the first "
        f"photo {cold:.0f} MB, peak over photos {warm_from}-{warm_from + window} {start_peak:.0f} MB, over the last "
        f"{window} {end_peak:.0f} MB ({growth:+.1f} %), load {os.getloadavg()[0]:.1f}"
    )
    rows += [
        Row(
            "soak",
            f"{count} photos, image_facts, one worker",
            f"{seconds:.0f} s, {count / seconds:.1f}/s, {failed} failed",
            "0 failed",
            failed == 0,
        ),
        Row(
            "soak",
            "worker peak RSS, start -> end",
            f"{start_peak:.0f} -> {end_peak:.0f} MB ({growth:+.1f} %)",
            "<= +10 %",
            growth <= 10,
        ),
    ]


def print_table(rows: list[Row], args: argparse.Namespace, loads: tuple[float, float]) -> None:
    print(
        f"\n== Figures (gunicorn gthread {args.workers} workers x {args.threads} threads, DEBUG=false, SQLite; "
        f"{os.cpu_count()} cores shared, load average {loads[0]:.1f} at start, {loads[1]:.1f} at end)"
    )
    widths = [
        max(len(r.area) for r in rows),
        max(len(r.metric) for r in rows),
        max(len(r.value) for r in rows),
        max(len(r.target) for r in rows),
    ]
    header = ("area", "metric", "value", "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + "  met")
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "NO")
        print(
            "  ".join(
                v.ljust(w)
                for v, w in zip((row.area, row.metric, row.value, row.target), widths, strict=False)
            )
            + f"  {met}"
        )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_setup":
        what = sys.argv[2]
        result = setup_polling() if what == "polling" else setup_soak(int(sys.argv[3]), int(sys.argv[4]))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, 200 soak photos")
    parser.add_argument("--only", choices=["polling", "burst", "soak"], action="append")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=600,
        help="CONN_MAX_AGE for the server (0: a connection per request)",
    )
    parser.add_argument(
        "--soak", type=int, default=0, help="photos in the soak (default 1000, 200 with --quick)"
    )
    parser.add_argument(
        "--sync-burst",
        action="store_true",
        help="also burst the synchronous /ai/image/cut/out (the admitted calls run the model in the web workers)",
    )
    args = parser.parse_args()
    parts = args.only or ["polling", "burst", "soak"]
    if "polling" in parts and not Path(WRK).exists():
        parser.error(f"{WRK} is missing: apt-get install wrk (make test installs it)")

    load_start = os.getloadavg()[0]
    rows: list[Row] = []
    stack = Stack(args)
    try:
        print(f"temporary directory {stack.dir}; migrating")
        stack.manage("migrate", "--noinput")
        setup = stack.inside("polling")
        if "polling" in parts or "burst" in parts:
            stack.start_server()
            print(
                f"gunicorn on {HOST}:{stack.port}: {args.workers} workers x {args.threads} threads (gthread)"
            )
            if "polling" in parts:
                run_polling(stack, setup, args, rows)
            if "burst" in parts:
                run_burst(stack, setup, args, rows)
            stack.stop_server()
        if "soak" in parts:
            run_soak(stack, setup, args, rows)
    finally:
        stack.close()
    print_table(rows, args, (load_start, os.getloadavg()[0]))
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
