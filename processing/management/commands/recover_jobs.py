import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from processing.tasks import run_maintenance, wait_for_database

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Requeue jobs whose worker died (lease expired), failing them after the last attempt; "
        "delete results past each team's retention period, and prune old search deletion records."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", type=int, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, loop: int = 0, **options) -> None:
        while True:
            try:
                recovered, expired = run_maintenance()
            except DatabaseError:
                if not loop:
                    raise
                # A database restart must not end the sweep that brings jobs back after it.
                logger.exception("recovery sweep failed; retrying once the database answers")
                wait_for_database()
                continue
            if recovered or expired or not loop:
                self.stdout.write(f"{recovered} stale job(s) recovered, {expired} expired job(s) deleted")
            if not loop:
                return
            time.sleep(loop)
