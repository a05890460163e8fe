import logging
import time

from django.core.cache import cache
from django.db import DatabaseError, connection, connections, transaction
from django.tasks import task

from catalog.models import SearchDeletion

from . import scene_library
from .models import Job, Scene

logger = logging.getLogger(__name__)

# A page that finds covers missing asks the worker to draw them; while one request is out (or for this
# long, if its task was lost) other pages do not ask again.
COVERS_QUEUED_SECONDS = 300
_COVERS_QUEUED_KEY = "scene-covers-queued"

# How long a worker whose database went away waits for it before giving up the task (a restart or a
# failover takes seconds; the wait keeps the worker alive to record the task's end and take the next one).
DATABASE_WAIT_SECONDS = 120


@task()
def run_job_task(job_id: str) -> None:
    try:
        job = Job.objects.filter(pk=int(job_id)).first()
        claimed = job is not None and job.claim()
        # Every worker run doubles as a sweep for jobs whose worker died, so recovery needs no scheduler.
        # It runs after the claim: a job still waiting for this very task would look orphaned to it.
        Job.objects.recover_stale()
        if job is None:
            logger.info("job %s no longer exists", job_id)
            return
        if not claimed:
            logger.info("job %s was not waiting (%s); nothing to do", job_id, job.status)
            return
        job.run()
    except DatabaseError:
        # Nothing about the job can be recorded now. Its lease lapses and the recovery sweep gives it to
        # a worker again; this one drops the broken connection and waits for the database, so that the
        # task queue can record this task's failure and the worker carries on with the next one.
        logger.exception("job %s interrupted by a database error; it will be retried", job_id)
        wait_for_database()
        raise


def wait_for_database(timeout: float = DATABASE_WAIT_SECONDS) -> bool:
    """Reconnect until the database answers again (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        connections.close_all()
        try:
            connection.ensure_connection()
            return True
        except DatabaseError:
            if time.monotonic() > deadline:
                return False
            time.sleep(1)


def run_maintenance() -> tuple[int, int]:
    """One sweep of the periodic maintenance (`serve`'s loop, `recover_jobs`): requeue or fail jobs
    whose worker died, delete results past each team's retention, prune old search deletion records.
    Returns (jobs recovered, expired jobs deleted)."""
    recovered = Job.objects.recover_stale()
    expired = Job.objects.delete_past_retention()
    SearchDeletion.objects.prune()
    return recovered, expired


@task()
def recover_stale_jobs_task() -> int:
    return Job.objects.recover_stale()


@task()
def delete_expired_results_task() -> int:
    expired = Job.objects.delete_past_retention()
    # The same periodic maintenance drops search deletion records past their retention.
    SearchDeletion.objects.prune()
    return expired


@task()
def draw_scene_covers_task() -> int:
    """Draw every missing preset cover (about 0.2 s each), so that pages never render covers while a
    merchant waits. Returns how many were drawn."""
    drawn = 0
    try:
        for scene in Scene.objects.presets():
            if scene_library.ensure_cover(scene):
                drawn += 1
    finally:
        cache.delete(_COVERS_QUEUED_KEY)
    return drawn


def queue_missing_covers() -> bool:
    """Ask the worker for the missing covers once; True when this call queued the task."""
    if not cache.add(_COVERS_QUEUED_KEY, True, timeout=COVERS_QUEUED_SECONDS):
        return False

    def send() -> None:
        try:
            draw_scene_covers_task.enqueue()
        except Exception:  # a queue that is down must not break the page; a later view asks again
            cache.delete(_COVERS_QUEUED_KEY)
            logger.exception("could not queue the scene covers task")

    transaction.on_commit(send)
    return True
