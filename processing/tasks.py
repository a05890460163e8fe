import logging

from django.tasks import task

from .models import Job

logger = logging.getLogger(__name__)


@task()
def run_job_task(job_id: str) -> None:
    # Every worker run doubles as a sweep for jobs whose worker died, so recovery needs no scheduler.
    Job.objects.recover_stale()
    job = Job.objects.filter(pk=int(job_id)).first()
    if job is None:
        logger.info("job %s no longer exists", job_id)
        return
    if not job.claim():
        logger.info("job %s was not waiting (%s); nothing to do", job_id, job.status)
        return
    job.run()


@task()
def recover_stale_jobs_task() -> int:
    return Job.objects.recover_stale()


@task()
def delete_expired_results_task() -> int:
    return Job.objects.delete_past_retention()
