"""Real servers on 127.0.0.1 for the scale-out and fault tests, and a Vitrine stack run as subprocesses.

PostgreSQL (Debian's server, run as the `postgres` user when we are root: initdb refuses root), Redis
(Debian's redis-server) and an S3-compatible endpoint (moto in server mode) are started once per test
session on free ports. Each test gets its own database (a copy of a migrated template), bucket, Redis
database and media folder, and runs Vitrine exactly as an operator would: `gunicorn`, `rqworker`,
`db_worker` and `recover_jobs` subprocesses with the same environment. The test process talks to them
over HTTP and reads the database with plain SQL, so the checks do not depend on the suite's own database
(SQLite in `make test`, PostgreSQL in the second pass of `.ci/run`).

Every process is started in its own process group and killed with it in teardown.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Generous: the machine running CI may be busy; these bound hangs, they are not performance checks.
START_TIMEOUT = 90.0
S3_CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
# Variables of the parent environment that would leak the suite's own configuration into a stack.
_STACK_VARIABLES = (
    "DATABASE_URL",
    "STORAGE_BACKEND",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_ADDRESSING_STYLE",
    "TASK_BACKEND",
    "REDIS_URL",
    "CACHE_BACKEND",
    "MEDIA_ROOT",
    "SEARCH_INDEX_DIR",
    "JOB_LEASE_SECONDS",
    "JOB_MAX_ATTEMPTS",
    "VITRINE_TESTING",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll until `predicate()` is truthy and return its value; a generous bound, not a timing check."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {timeout:.0f} s for {what}")
        time.sleep(interval)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, found through /proc: an RQ work horse starts its own session, so
    killing the worker's process group alone would leave it running."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL it and anything it left behind."""
    below = descendants(process.pid)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    _kill_all(below + descendants(process.pid))
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a worker and every process under it at once: a worker dying mid-item."""
    below = descendants(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    _kill_all(below)
    process.wait(timeout=30)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


# --- PostgreSQL --------------------------------------------------------------------------------------
def postgres_bin() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return candidates[-1].parent if candidates else None


class PostgresServer:
    """A throwaway cluster in a temporary folder, trusting local connections as user `vitrine`."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL is not installed: `make system-deps` installs Debian's postgresql."
            )
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="vitrine-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "vitrine", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def _run(self, *command: str) -> None:
        subprocess.run(
            _as_postgres(list(command)),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "-t", str(int(START_TIMEOUT)), "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://vitrine@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql)


# --- Redis -------------------------------------------------------------------------------------------
class RedisServer:
    """Debian's redis-server without persistence: a restart loses the queue, the worst case."""

    def __init__(self) -> None:
        if not Path("/usr/bin/redis-server").exists():
            raise RuntimeError("redis-server is missing: `make system-deps` installs Debian's redis-server.")
        self.dir = Path(tempfile.mkdtemp(prefix="vitrine-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            "/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
            "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        log = open(self.dir / "log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_until(lambda: self.ping(), START_TIMEOUT, "redis-server to answer")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            kill_group(self.process)
            self.process = None

    def destroy(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()


# --- S3 (moto) ---------------------------------------------------------------------------------------
class S3Server:
    """moto's S3 in server mode, in this process: its data outlives a stop/start, like a real outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_until(lambda: port_open(self.port), START_TIMEOUT, "moto to listen")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        wait_until(lambda: not port_open(self.port), START_TIMEOUT, "moto to stop listening")

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **S3_CREDENTIALS)

    def keys(self, bucket: str) -> set[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return {
            entry["Key"] for page in paginator.paginate(Bucket=bucket) for entry in page.get("Contents", [])
        }


# --- one Vitrine installation made of subprocesses ---------------------------------------------------
def manage_command(*args: str) -> list[str]:
    return [PYTHON, str(ROOT / "manage.py"), *args]


class Stack:
    """One test's Vitrine: its database, storage, queue and processes, all sharing one environment."""

    def __init__(
        self,
        *,
        postgres: PostgresServer,
        database: str,
        work_dir: Path,
        s3: S3Server | None = None,
        redis_server: RedisServer | None = None,
        **env: str,
    ) -> None:
        self.postgres = postgres
        self.database = database
        self.work_dir = work_dir
        self.s3 = s3
        self.redis = redis_server
        self.media = work_dir / "media"
        self.media.mkdir(parents=True, exist_ok=True)
        self.bucket = f"vitrine-{secrets.token_hex(4)}" if s3 else ""
        self.processes: list[subprocess.Popen] = []
        self._logs: dict[int, Path] = {}
        base = {key: value for key, value in os.environ.items() if key not in _STACK_VARIABLES}
        self.env = {
            **base,
            "DATABASE_URL": postgres.url(database),
            "MEDIA_ROOT": str(self.media),
            "SEARCH_INDEX_DIR": str(work_dir / "search-index"),
            "DEBUG": "true",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "CACHE_BACKEND": "redis" if redis_server else "locmem",
            "TASK_BACKEND": "rq" if redis_server else "db",
            # Short enough for a dead worker to be noticed within the test, long enough for any one item.
            "JOB_LEASE_SECONDS": "20",
            **env,
        }
        if redis_server is not None:
            self.env["REDIS_URL"] = redis_server.url(0)
        if s3 is not None:
            s3.client().create_bucket(Bucket=self.bucket)
            self.env.update(
                STORAGE_BACKEND="s3",
                S3_BUCKET=self.bucket,
                S3_ENDPOINT_URL=s3.endpoint,
                S3_REGION="us-east-1",
                S3_ACCESS_KEY_ID=S3_CREDENTIALS["aws_access_key_id"],
                S3_SECRET_ACCESS_KEY=S3_CREDENTIALS["aws_secret_access_key"],
                S3_ADDRESSING_STYLE="path",
            )
        else:
            self.env["STORAGE_BACKEND"] = "local"
        self.web_url = ""

    # --- processes -----------------------------------------------------------------------------------
    def spawn(self, name: str, command: list[str], *, wrap: list[str] | None = None) -> subprocess.Popen:
        log_path = self.work_dir / f"{name}-{len(self.processes)}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [*(wrap or []), *command],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        self._logs[process.pid] = log_path
        return process

    def log_of(self, process: subprocess.Popen) -> str:
        return self._logs[process.pid].read_text(errors="replace")

    def all_logs(self) -> str:
        return "\n".join(
            f"== {path.name}\n{path.read_text(errors='replace')[-4000:]}" for path in self._logs.values()
        )

    def manage(self, *args: str, timeout: float = 300) -> str:
        completed = subprocess.run(
            manage_command(*args), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if completed.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed.stdout

    def start_web(self) -> str:
        """gunicorn as in production (it reads ./gunicorn.conf.py when there is one), on a free port."""
        port = free_port()
        command = [PYTHON, "-m", "gunicorn", "project.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
                   "--timeout", "300", "--no-control-socket"]  # fmt: skip
        self.spawn("gunicorn", command)
        self.web_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: port_open(port), START_TIMEOUT, "gunicorn to listen")
        return self.web_url

    def start_rq_worker(self, name: str = "rqworker") -> subprocess.Popen:
        return self.spawn(
            name,
            # Unique names: a killed worker's registration stays in Redis until it times out.
            manage_command(
                "rqworker",
                "default",
                "--job-class",
                "django_tasks_rq.Job",
                "--name",
                f"{name}-{len(self.processes)}",
            ),  # fmt: skip
        )

    def start_db_worker(self, *, wrap: list[str] | None = None) -> subprocess.Popen:
        return self.spawn(
            "db_worker", manage_command("db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"),
            wrap=wrap,
        )  # fmt: skip

    def start_recovery(self, every: int = 1) -> subprocess.Popen:
        return self.spawn("recover_jobs", manage_command("recover_jobs", "--loop", str(every)))

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)

    # --- the database, read directly -----------------------------------------------------------------
    def sql(self, query: str, params: tuple | dict | None = None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.postgres.url(self.database), autocommit=True, connect_timeout=10) as db:
            cursor = db.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def scalar(self, query: str, params: tuple | dict | None = None) -> Any:
        rows = self.sql(query, params)
        return rows[0][0] if rows else None

    def job(self, job_id: int) -> dict:
        row = self.sql(
            "SELECT status, attempts, error_code, error_message, kind FROM processing_job WHERE id = %s",
            (job_id,),
        )[0]
        return dict(zip(("status", "attempts", "error_code", "error_message", "kind"), row, strict=True))

    def item_counts(self, job_id: int) -> dict[str, int]:
        rows = self.sql(
            "SELECT status, count(*) FROM processing_jobitem WHERE job_id = %s GROUP BY status", (job_id,)
        )
        return dict(rows)

    def wait_for_job(self, job_id: int, timeout: float = 300) -> dict:
        def finished() -> dict | None:
            job = self.job(job_id)
            return job if job["status"] in ("SUCCESS", "FAILED", "CANCELLED") else None

        try:
            return wait_until(finished, timeout, f"job {job_id} to finish", interval=0.5)
        except TimeoutError as error:
            raise TimeoutError(
                f"{error}: {self.job(job_id)} {self.item_counts(job_id)}\n{self.all_logs()}"
            ) from None

    def stored_keys(self) -> set[str]:
        """Every stored file's name, as the database would record it."""
        if self.s3 is not None:
            return self.s3.keys(self.bucket)
        return {str(path.relative_to(self.media)) for path in self.media.rglob("*") if path.is_file()}


def create_database_from(postgres: PostgresServer, template: str) -> str:
    name = f"vitrine_{secrets.token_hex(4)}"
    postgres.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop_database(postgres: PostgresServer, name: str) -> None:
    with contextlib.suppress(Exception):
        postgres.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def stack_for(postgres: PostgresServer, template: str, work_dir: Path, **options: Any) -> Iterator[Stack]:
    database = create_database_from(postgres, template)
    stack = Stack(postgres=postgres, database=database, work_dir=work_dir, **options)
    try:
        yield stack
    finally:
        stack.stop_all()
        drop_database(postgres, database)


# --- a merchant in a browser-less session ------------------------------------------------------------
class Merchant:
    """Signs up and uses the studio over HTTP, sending the CSRF token like the pages' forms do."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=300, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, data: dict | None = None, files=None) -> httpx.Response:
        """A form post: the CSRF cookie's token goes in the form field, as the pages' forms send it."""
        if "csrftoken" not in self.http.cookies:
            self.http.get("/accounts/login/")
        token = self.http.cookies["csrftoken"]
        return self.http.post(path, data={**(data or {}), "csrfmiddlewaretoken": token}, files=files)

    def sign_up(self, username: str, password: str, team: str) -> None:
        response = self.post(
            "/accounts/signup/",
            {"username": username, "password1": password, "password2": password, "team_name": team},
        )
        assert response.status_code == 302, response.text[:2000]

    def upload(self, files: list[tuple[str, bytes, str]]) -> list[int]:
        """The upload page's JavaScript: one request per file, then "finish" starts the thumbnails job."""
        ids = []
        for name, data, content_type in files:
            response = self.post("/catalog/upload/file/", files={"file": (name, data, content_type)})
            assert response.status_code == 200, response.text
            ids.append(response.json()["image"]["id"])
        return ids

    @staticmethod
    def job_id(response: httpx.Response) -> int:
        assert response.status_code == 302, response.text[:3000]
        match = re.search(r"/jobs/(\d+)/$", response.headers["location"])
        assert match, response.headers["location"]
        return int(match.group(1))


# --- fixtures (imported by tests/conftest.py so every module shares one set of servers) ---------------
class Servers:
    def __init__(
        self, postgres: PostgresServer, redis_server: RedisServer, s3: S3Server, template: str
    ) -> None:
        self.postgres = postgres
        self.redis = redis_server
        self.s3 = s3
        self.template = template


@pytest.fixture(scope="session")
def real_servers() -> Iterator[Servers]:
    """PostgreSQL, Redis and S3 on 127.0.0.1 for the whole session, and a migrated template database."""
    postgres = PostgresServer()
    redis_server = RedisServer()
    s3 = S3Server()
    try:
        postgres.start()
        redis_server.start()
        s3.start()
        template = "vitrine_template"
        postgres.admin(f'CREATE DATABASE "{template}"')
        environment = {key: value for key, value in os.environ.items() if key not in _STACK_VARIABLES}
        subprocess.run(
            manage_command("migrate", "--no-input", "-v", "0"),
            cwd=ROOT,
            env={**environment, "DATABASE_URL": postgres.url(template)},
            check=True,
            timeout=600,
        )
        yield Servers(postgres, redis_server, s3, template)
    finally:
        with contextlib.suppress(Exception):
            s3.stop()
        redis_server.destroy()
        postgres.destroy()


@pytest.fixture
def make_stack(real_servers: Servers, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """`make_stack(s3=True, rq=True, **env)`: a fresh database, bucket, queue and media folder."""
    opened: list[contextlib.ExitStack] = []

    def make(*, s3: bool = False, rq: bool = False, **env: str) -> Stack:
        if rq:
            real_servers.redis.flush()
        exits = contextlib.ExitStack()
        opened.append(exits)
        work_dir = tmp_path / f"stack{len(opened)}"
        work_dir.mkdir()
        return exits.enter_context(
            stack_for(
                real_servers.postgres,
                real_servers.template,
                work_dir,
                s3=real_servers.s3 if s3 else None,
                redis_server=real_servers.redis if rq else None,
                **env,
            )
        )

    yield make
    for exits in reversed(opened):
        exits.close()
