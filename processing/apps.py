from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    verbose_name = "Jobs and results"

    def ready(self) -> None:
        # Filled at app start so that neither the kinds registry nor the models import what registers into
        # them: each job kind registers its handler, and the Job model gets the task that runs it.
        from . import signals  # noqa: F401
        from .kinds import cutout, erase, facts, refine, scenes  # noqa: F401
        from .models import Job
        from .tasks import run_job_task

        Job.run_task = run_job_task
