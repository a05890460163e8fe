"""Run the web server and a worker together, as `make run` does; Ctrl-C stops both."""

import logging
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from processing.tasks import run_maintenance

RECOVERY_INTERVAL_SECONDS = 30
logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve the web app and run one background worker until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr: str, **options) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        if settings.TASK_BACKEND == "rq":
            worker = [*manage, "rqworker", "default", "--job-class", "django_tasks_rq.Job"]
        else:
            worker = [*manage, "db_worker", "--no-reload"]
        processes = [
            subprocess.Popen([*manage, "runserver", addr, "--noreload"]),
            subprocess.Popen(worker),
        ]
        stopping = False

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            self.style.SUCCESS(f"Vitrine is at http://{addr} (Ctrl-C stops the server and worker)")
        )
        next_recovery = 0.0
        try:
            while not stopping:
                if any(process.poll() is not None for process in processes):
                    self.stderr.write("A child process stopped; shutting down.")
                    break
                if time.monotonic() >= next_recovery:
                    next_recovery = time.monotonic() + RECOVERY_INTERVAL_SECONDS
                    try:
                        run_maintenance()
                    except DatabaseError:
                        # A database restart must not take the web server and worker down with the sweep.
                        logger.exception("recovery sweep failed; retrying in %s s", RECOVERY_INTERVAL_SECONDS)
                        close_old_connections()
                time.sleep(0.5)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
