"""Background jobs: a Job holds one JobItem per input image and a Result per finished item.

Every state change is a conditional UPDATE whose row count says whether this process won it, so
two workers, a cancel and the stale-lease recovery can race without double work. A running job
renews its lease after every item; when a worker dies, the lease lapses and `recover_stale`
hands the job to another worker, up to JOB_MAX_ATTEMPTS, then fails it with a message.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Avg, Count, F, Q
from django.urls import reverse
from django.utils import timezone

from catalog.models import ProductImage, Team

from .engines.scenes.library import CATEGORIES, SCENE_TYPES
from .kinds import ItemError, ItemOutcome, get_discarder, get_handler

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.tasks import Task

logger = logging.getLogger(__name__)


def storage_failure(error: BaseException):
    """An ItemError saying what went wrong with the file storage, or None when `error` is something else.

    A full disk, a read-only folder or an unreachable S3 endpoint fails the item with a message the
    merchant can act on, instead of "Unexpected error"."""
    if isinstance(error, OSError) and error.errno is not None:
        reason = error.strerror or error.__class__.__name__
        return ItemError("storage_error", f"File storage error: {reason}.")
    try:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 comes with django-storages[s3]
        return None
    if isinstance(error, (BotoCoreError, ClientError, Boto3Error)):
        return ItemError(
            "storage_unavailable",
            "The file storage could not be reached; start the job again once it is back.",
        )
    return None


# A waiting job older than this, while the task queue is empty, has lost its task.
ORPHAN_GRACE_SECONDS = 10


def task_queue_is_empty() -> bool:
    """Whether the task queue holds no task at all; False when that cannot be told (or inline tasks)."""
    try:
        if settings.TASK_BACKEND == "rq":
            import django_rq

            return django_rq.get_queue("default").count == 0
        if settings.TASK_BACKEND == "db":
            from django.tasks import TaskResultStatus
            from django_tasks_db.models import DBTaskResult

            return not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
    except Exception as error:  # the queue is down: nothing can be queued anyway
        logger.warning("could not look at the task queue: %s", error)
    return False


class Status(models.TextChoices):
    WAITING = "WAITING", "Waiting"
    RUNNING = "RUNNING", "Running"
    SUCCESS = "SUCCESS", "Success"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


FINISHED_STATUSES = (Status.SUCCESS, Status.FAILED, Status.CANCELLED)
# An item is "done" once it was processed, well or not; a cancelled item was never processed and is
# counted on its own, never as done.
DONE_STATUSES = (Status.SUCCESS, Status.FAILED)
# What an editor may send through again.
RETRYABLE_STATUSES = (Status.FAILED, Status.CANCELLED)


class JobKind(models.TextChoices):
    IMAGE_FACTS = "image_facts", "Thumbnails and image facts"
    CUTOUT = "cutout", "Background removal"
    CUTOUT_MATTE = "cutout_matte", "Cut-out matte (refine editor)"
    CUTOUT_REFINE = "cutout_refine", "Refine a cut-out"
    ERASE = "erase", "Erase elements"
    ERASE_DETECT = "erase_detect", "Find elements to erase"
    SCENE_RENDER = "scene_render", "Product on scene"
    SEARCH_INDEX = "search_index", "Search index"


def _new_result_key() -> str:
    return secrets.token_hex(16)


class JobQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> JobQuerySet:
        return self.filter(team=team)

    def delete_past_retention(self, now=None) -> int:
        """Delete finished jobs (with their results and files) older than their team's retention."""
        now = now or timezone.now()
        deleted = 0
        for team in Team.objects.filter(result_retention_days__gt=0).only("pk", "result_retention_days"):
            cutoff = now - timedelta(days=team.result_retention_days)
            expired = self.filter(team=team, status__in=FINISHED_STATUSES, finished_at__lt=cutoff)
            for job in expired.iterator():
                # One job per transaction: the file deletions run once its rows are gone.
                with transaction.atomic():
                    job.delete()
                deleted += 1
        return deleted

    def with_progress(self) -> JobQuerySet:
        return self.annotate(
            total_items=Count("items"),
            done_items=Count("items", filter=Q(items__status__in=DONE_STATUSES)),
            failed_items=Count("items", filter=Q(items__status=Status.FAILED)),
            cancelled_items=Count("items", filter=Q(items__status=Status.CANCELLED)),
        )

    def create_for_images(
        self,
        *,
        team: Team,
        kind: str,
        images: list[ProductImage],
        created_by: AbstractBaseUser | None,
        params: dict | None = None,
    ) -> Job:
        """Create the job and its items, and enqueue it once the transaction commits."""
        items = [JobItem(image=image, source_name=image.original_filename) for image in images]
        return self.create_with_items(team=team, kind=kind, items=items, created_by=created_by, params=params)

    def create_with_items(
        self,
        *,
        team: Team,
        kind: str,
        items: list[JobItem],
        created_by: AbstractBaseUser | None = None,
        params: dict | None = None,
        enqueue: bool = True,
    ) -> Job:
        with transaction.atomic():
            job = self.create(team=team, kind=kind, params=params or {}, created_by=created_by)
            for position, item in enumerate(items):
                item.job = job
                item.position = position
            JobItem.objects.bulk_create(items)
            if enqueue:
                job.enqueue()
        return job

    def recover_stale(self, now=None) -> int:
        """Requeue running jobs whose worker stopped renewing the lease; fail them after the last attempt.

        Also queue again the waiting jobs whose task the queue lost (a Redis restart without persistence,
        or an enqueue that failed while the queue was down): when the queue is empty, a job that has been
        waiting for more than a moment has no task left. A duplicate task is harmless: claims are
        conditional, so the second one finds the job taken and does nothing.
        """
        now = now or timezone.now()
        recovered = 0
        stale = self.filter(status=Status.RUNNING, lease_expires_at__lt=now)
        for job in stale.only("pk", "attempts", "attempts_at_retry"):
            if job.attempts_since_retry < settings.JOB_MAX_ATTEMPTS:
                recovered += job.requeue_after_lost_worker(now)
            else:
                recovered += job.fail_after_lost_worker(now)
        orphans = self.filter(
            status=Status.WAITING, created_at__lt=now - timedelta(seconds=ORPHAN_GRACE_SECONDS)
        )
        if orphans.exists() and task_queue_is_empty():
            for job in orphans.only("pk"):
                logger.warning("job %s was waiting without a task in the queue; queueing it again", job.pk)
                job.enqueue()
                recovered += 1
        return recovered


class Job(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="jobs")
    # No `choices` on the column: a new kind of job needs a handler in kinds/, not a migration.
    kind = models.CharField(max_length=32)
    # The task that runs a job, set by ProcessingConfig.ready(): tasks.py imports this module, so this
    # module cannot import it without a circle.
    run_task: ClassVar[Task]
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    result_key = models.CharField(max_length=64, unique=True, default=_new_result_key, editable=False)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Claims so far; it only grows, which fences off the workers of earlier claims (see renew_lease).
    attempts = models.PositiveSmallIntegerField(default=0)
    # `attempts` when an editor last retried the job: the lost-worker budget counts from there.
    attempts_at_retry = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every visible change, so pollers can tell "nothing new" cheaply.
    version = models.PositiveIntegerField(default=0)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("processing:job_detail", args=[self.pk])

    @property
    def kind_label(self) -> str:
        return JobKind(self.kind).label if self.kind in JobKind.values else self.kind

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_cancellable(self) -> bool:
        return self.status in (Status.WAITING, Status.RUNNING)

    @property
    def attempts_since_retry(self) -> int:
        return self.attempts - self.attempts_at_retry

    def _lease_deadline(self, now=None):
        return (now or timezone.now()) + timedelta(seconds=settings.JOB_LEASE_SECONDS)

    # --- state changes -------------------------------------------------------------------------
    def enqueue(self) -> None:
        """Queue the job's task once the transaction commits.

        A queue that is down (Redis restarting) must not turn the merchant's request into an error: the
        job is saved as waiting, and the recovery sweep queues it again once the queue is back.
        """
        job_id = str(self.pk)

        def send() -> None:
            try:
                self.run_task.enqueue(job_id)
            except Exception:
                logger.exception("job %s could not be queued; the recovery sweep will queue it again", job_id)

        transaction.on_commit(send)

    def claim(self) -> bool:
        """Move WAITING → RUNNING for this worker; False if someone else has it or it was cancelled."""
        now = timezone.now()
        claimed = Job.objects.filter(pk=self.pk, status=Status.WAITING).update(
            status=Status.RUNNING,
            started_at=now,
            lease_expires_at=self._lease_deadline(now),
            attempts=F("attempts") + 1,
            version=F("version") + 1,
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def renew_lease(self) -> bool:
        """The worker's heartbeat; False means the job was cancelled or taken away: stop working.

        `attempts` fences the claim: once a lapsed lease has handed the job to another worker, the first
        one (a slow item, a paused machine) can neither renew nor finish it.
        """
        return bool(
            Job.objects.filter(pk=self.pk, status=Status.RUNNING, attempts=self.attempts).update(
                lease_expires_at=self._lease_deadline(), version=F("version") + 1
            )
        )

    def finish(self) -> bool:
        counts = self.items.aggregate(
            succeeded=Count("pk", filter=Q(status=Status.SUCCESS)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            total=Count("pk"),
        )
        everything_failed = counts["total"] > 0 and counts["succeeded"] == 0
        fields = {"finished_at": timezone.now(), "lease_expires_at": None, "version": F("version") + 1}
        if everything_failed:
            fields.update(
                status=Status.FAILED,
                error_code="all_items_failed",
                error_message=f"All {counts['total']} items failed; see each item for the reason.",
            )
        else:
            fields["status"] = Status.SUCCESS
        finished = Job.objects.filter(pk=self.pk, status=Status.RUNNING, attempts=self.attempts).update(
            **fields
        )
        self.refresh_from_db()
        return bool(finished)

    def cancel(self) -> bool:
        now = timezone.now()
        with transaction.atomic():
            cancelled = Job.objects.filter(pk=self.pk, status__in=(Status.WAITING, Status.RUNNING)).update(
                status=Status.CANCELLED,
                finished_at=now,
                lease_expires_at=None,
                error_code="cancelled",
                error_message="Cancelled by a user.",
                version=F("version") + 1,
            )
            if cancelled:
                # The item a worker holds is cancelled too: the job has stopped, so nothing may still
                # say "Running". The worker's result for it is then refused (its claim no longer
                # holds) and its file deleted; the worker stops at its next lease renewal.
                self.items.filter(status__in=(Status.WAITING, Status.RUNNING)).update(
                    status=Status.CANCELLED, finished_at=now, error_message="The job was cancelled."
                )
        self.refresh_from_db()
        return bool(cancelled)

    def retry(self, item_ids: list[int] | None = None) -> int:
        """Send the failed and cancelled items (all of them, or those named) through again; returns how many.

        Only a finished job is retried: a running one could end between this look and this update,
        leaving waiting items in a finished job. The job is reopened by one conditional UPDATE and the
        items by another, in one transaction, so a double click or two editors retry once. `attempts`
        keeps growing (it fences the workers of earlier runs off); the lost-worker budget starts again.
        """
        with transaction.atomic():
            items = self.items.filter(status__in=RETRYABLE_STATUSES)
            if item_ids is not None:
                items = items.filter(pk__in=item_ids)
            retried_ids = list(items.values_list("pk", flat=True))
            if not retried_ids:
                return 0
            reopened = Job.objects.filter(pk=self.pk, status__in=FINISHED_STATUSES).update(
                status=Status.WAITING,
                finished_at=None,
                lease_expires_at=None,
                error_code="",
                error_message="",
                attempts_at_retry=F("attempts"),
                version=F("version") + 1,
            )
            if not reopened:
                return 0
            retried = JobItem.objects.filter(pk__in=retried_ids, status__in=RETRYABLE_STATUSES).update(
                status=Status.WAITING,
                error_code="",
                error_message="",
                started_at=None,
                finished_at=None,
                duration_ms=None,
            )
            if not retried:
                transaction.set_rollback(True)
                return 0
            # A cancelled item may have had its result refused mid-write; nothing of a retried item's
            # earlier attempts stays (the files go with the rows once this commits).
            for result in Result.objects.filter(item_id__in=retried_ids):
                result.delete()
            self.enqueue()
        self.refresh_from_db()
        logger.info("job %s: %s item(s) retried", self.pk, retried)
        return retried

    def requeue_after_lost_worker(self, now) -> int:
        with transaction.atomic():
            requeued = Job.objects.filter(pk=self.pk, status=Status.RUNNING, lease_expires_at__lt=now).update(
                status=Status.WAITING, lease_expires_at=None, version=F("version") + 1
            )
            if requeued:
                # The item the dead worker held never committed a result; run it again, and drop whatever
                # file it wrote before dying.
                lost = list(self.items.filter(status=Status.RUNNING))
                self.items.filter(pk__in=[item.pk for item in lost]).update(
                    status=Status.WAITING, started_at=None
                )
                transaction.on_commit(lambda: [item.discard_lost_files() for item in lost])
                logger.warning("job %s: worker lost, retrying (attempt %s done)", self.pk, self.attempts)
                self.enqueue()
        return requeued

    def fail_after_lost_worker(self, now) -> int:
        message = (
            f"The worker stopped responding {self.attempts_since_retry} times; giving up. "
            "Check the worker's logs (memory or time limits) and start the job again."
        )
        with transaction.atomic():
            failed = Job.objects.filter(pk=self.pk, status=Status.RUNNING, lease_expires_at__lt=now).update(
                status=Status.FAILED,
                finished_at=now,
                lease_expires_at=None,
                error_code="worker_lost",
                error_message=message,
                version=F("version") + 1,
            )
            if failed:
                lost = list(self.items.filter(status=Status.RUNNING))
                transaction.on_commit(lambda: [item.discard_lost_files() for item in lost])
                self.items.filter(status__in=(Status.WAITING, Status.RUNNING)).update(
                    status=Status.FAILED, finished_at=now, error_code="worker_lost", error_message=message
                )
                logger.error("job %s: %s", self.pk, message)
        return failed

    # --- running -------------------------------------------------------------------------------
    def run(self) -> None:
        """Process the waiting items one by one; called by the worker after `claim`."""
        try:
            handler = get_handler(self.kind)
        except ItemError as error:
            self.items.filter(status=Status.WAITING).update(
                status=Status.FAILED,
                finished_at=timezone.now(),
                error_code=error.code,
                error_message=error.message,
            )
            self.finish()
            return
        while True:
            item = self.items.filter(status=Status.WAITING).order_by("position", "pk").first()
            if item is None:
                break
            if not item.claim():
                continue
            try:
                item.succeed(handler(item))
            except ItemError as error:
                item.fail(error.code, error.message)
            except DatabaseError:
                # The database went away (restart, failover): nothing can be recorded now. The lease
                # lapses and the recovery sweep hands the job, this item included, to a worker again.
                raise
            except Exception as error:  # one bad item must not sink the batch
                logger.exception("job %s item %s failed", self.pk, item.pk)
                failure = storage_failure(error)
                if failure is not None:
                    item.fail(failure.code, failure.message)
                else:
                    item.fail("internal_error", f"Unexpected error: {error.__class__.__name__}")
            if not self.renew_lease():
                return
        self.finish()

    def run_inline(self, compute: Callable[[], ItemOutcome]) -> Result | None:
        """Run a one-item job in this process (the synchronous API): same states, same records.

        Raises the ItemError of a failed item after recording it.
        """
        item = self.items.get()
        if not (self.claim() and item.claim()):
            raise ItemError("not_waiting", "The job was already taken.")
        try:
            outcome = compute()
        except ItemError as error:
            item.fail(error.code, error.message)
            self.finish()
            raise
        except Exception as error:
            logger.exception("job %s failed inline", self.pk)
            item.fail("internal_error", f"Unexpected error: {error.__class__.__name__}")
            self.finish()
            raise ItemError("internal_error", "The image could not be processed.") from error
        try:
            item.succeed(outcome)
        except ItemError as error:
            item.fail(error.code, error.message)
            self.finish()
            raise
        self.finish()
        return Result.objects.filter(item=item).first()

    # --- progress ------------------------------------------------------------------------------
    def progress(self) -> dict:
        counts = self.items.aggregate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status__in=DONE_STATUSES)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
            average_ms=Avg("duration_ms", filter=Q(status=Status.SUCCESS)),
        )
        total, done, cancelled = counts["total"], counts["done"], counts["cancelled"]
        remaining = total - done - cancelled
        eta_seconds = None
        if not self.is_finished and counts["average_ms"] and remaining:
            eta_seconds = round(counts["average_ms"] * remaining / 1000)
        return {
            "total": total,
            "done": done,
            "failed": counts["failed"],
            "cancelled": cancelled,
            # What an editor could send through again once the job has stopped.
            "retryable": counts["failed"] + cancelled,
            "percent": round(100 * done / total) if total else (100 if self.is_finished else 0),
            "eta_seconds": eta_seconds,
        }


class JobItem(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    image = models.ForeignKey(
        ProductImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_name = models.CharField(max_length=255, blank=True)
    # Per-item input when it is not a catalog image, e.g. {"url": ..., "model_type": ...} from the API.
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self) -> str:
        return f"{self.job} item {self.position + 1}"

    def claim(self) -> bool:
        claimed = JobItem.objects.filter(pk=self.pk, status=Status.WAITING).update(
            status=Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def _elapsed_ms(self, now) -> int | None:
        return int((now - self.started_at).total_seconds() * 1000) if self.started_at else None

    def succeed(self, outcome: ItemOutcome | None) -> bool:
        """Store the result file, then record it and mark the item done in one transaction.

        If the transaction fails, or the job was taken away meanwhile, the file is deleted again:
        no row ever points at a missing file and no file is left without its row. A write that the
        storage refuses (full, read-only, unreachable) raises an ItemError saying so.
        """
        now = timezone.now()
        stored_name = self._store_result_file(outcome)
        try:
            with transaction.atomic():
                done = JobItem.objects.filter(
                    pk=self.pk, status=Status.RUNNING, attempts=self.attempts
                ).update(status=Status.SUCCESS, finished_at=now, duration_ms=self._elapsed_ms(now))
                if done and outcome is not None:
                    Result.objects.create(
                        team_id=self.job.team_id,
                        job_id=self.job_id,
                        item=self,
                        file=stored_name,
                        content_type=outcome.content_type,
                        width=outcome.width,
                        height=outcome.height,
                        score=outcome.score,
                        metadata=outcome.metadata,
                    )
        except BaseException:
            if stored_name:
                default_storage.delete(stored_name)
            raise
        if not done and stored_name:
            default_storage.delete(stored_name)
        return bool(done)

    def _result_prefix(self) -> tuple[str, str]:
        return f"teams/{self.job.team_id}/results/{self.job_id}", f"{self.position:05d}-"

    def _store_result_file(self, outcome: ItemOutcome | None) -> str:
        if outcome is None or outcome.file_bytes is None:
            return ""
        directory, prefix = self._result_prefix()
        name = f"{directory}/{prefix}{secrets.token_hex(6)}.{outcome.extension}"
        try:
            return default_storage.save(name, ContentFile(outcome.file_bytes))
        except Exception as error:
            failure = storage_failure(error)
            if failure is None:
                raise
            # A local write cut short (a full disk) leaves the bytes it managed; the name is ours alone.
            with contextlib.suppress(Exception):
                default_storage.delete(name)
            raise failure from error

    def discard_lost_files(self) -> None:
        """Delete the files an attempt that died wrote for this item before it could record them.

        Called by the recovery sweep for items that were RUNNING when their worker was lost: such an
        item has no Result, and its attempt is fenced off, so nothing it wrote can still be recorded.
        """
        directory, prefix = self._result_prefix()
        try:
            with contextlib.suppress(FileNotFoundError):
                _dirs, files = default_storage.listdir(directory)
                for name in files:
                    if name.startswith(prefix):
                        default_storage.delete(f"{directory}/{name}")
            discard = get_discarder(self.job.kind)
            if discard is not None:
                discard(self)
        except Exception:  # the sweep goes on; an orphan file is harmless, a dangling row is not
            logger.exception(
                "job %s item %s: could not delete the files of a lost attempt", self.job_id, self.pk
            )

    def fail(self, code: str, message: str) -> bool:
        now = timezone.now()
        return bool(
            JobItem.objects.filter(pk=self.pk, status=Status.RUNNING, attempts=self.attempts).update(
                status=Status.FAILED,
                finished_at=now,
                duration_ms=self._elapsed_ms(now),
                error_code=code[:64],
                error_message=message,
            )
        )


class ResultQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> ResultQuerySet:
        return self.filter(team=team)


class Result(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="results")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="results")
    item = models.OneToOneField(JobItem, on_delete=models.CASCADE, related_name="result")
    file = models.FileField(blank=True, max_length=255)
    content_type = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ResultQuerySet.as_manager()

    class Meta:
        ordering = ["item__position", "pk"]

    def __str__(self) -> str:
        return f"Result of {self.item}"

    def get_file_url(self) -> str:
        return reverse("processing:result_file", args=[self.pk])

    @property
    def file_extension(self) -> str:
        """The stored file's extension, "jpeg" spelled "jpg"."""
        extension = self.file.name.rsplit(".", 1)[-1].lower() if "." in self.file.name else ""
        return "jpg" if extension == "jpeg" else extension

    @property
    def is_image(self) -> bool:
        return self.file_extension in ("png", "jpg", "webp")

    def delivery_extension(self) -> str:
        """The format a merchant gets this result in by default (the job's ZIP): the stored file's, except
        that a cut-out on white or a colour, stored lossless as PNG, goes out as JPG, the marketplaces'
        format; a transparent one stays PNG, its transparency being the point."""
        if (
            self.job.kind == JobKind.CUTOUT
            and self.file_extension == "png"
            and self.metadata.get("background", "white") != "transparent"
        ):
            return "jpg"
        return self.file_extension


class ApiNonceQuerySet(models.QuerySet):
    def claim(self, team: Team, nonce: str) -> bool:
        """True the first time a team uses a nonce; a replay within the TTL answers False."""
        horizon = timezone.now() - timedelta(seconds=settings.API_NONCE_TTL_SECONDS)
        self.filter(created_at__lt=horizon).delete()
        try:
            with transaction.atomic():
                self.create(team=team, nonce=nonce)
        except IntegrityError:
            return False
        return True


class ApiNonce(models.Model):
    """X-Ca-Nonce values seen recently, so a captured request cannot be replayed."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ApiNonceQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "nonce"], name="unique_nonce_per_team")]

    def __str__(self) -> str:
        return self.nonce


# =================================================================================================
# Scenes (issue 5): backgrounds a product is composited onto. Presets come from the engine's library
# (team = None, loaded by `manage.py load_scene_presets`); teams upload their own photos as scenes.
# =================================================================================================
def _scene_upload_to(instance: Scene, filename: str) -> str:
    owner = f"teams/{instance.team_id}/scenes" if instance.team_id else "scenes/presets"
    return f"{owner}/{instance.model_num}/{filename}"


class SceneQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> SceneQuerySet:
        """The team's own scenes."""
        return self.filter(team=team)

    def presets(self) -> SceneQuerySet:
        return self.filter(team__isnull=True)

    def visible_to(self, team: Team) -> SceneQuerySet:
        """Presets and the team's own scenes; another team's scenes never appear."""
        return self.filter(Q(team__isnull=True) | Q(team=team))

    def search_text(self, text: str) -> SceneQuerySet:
        """Scenes whose name or description, in English or Chinese, contains `text` (any case)."""
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(
            Q(name_en__icontains=text)
            | Q(name_zh__icontains=text)
            | Q(description_en__icontains=text)
            | Q(description_zh__icontains=text)
        )

    def library_for(
        self,
        team: Team,
        *,
        text: str = "",
        scene_type: int | None = None,
        category_type: int | None = None,
        source: str = "",
    ) -> list[Scene]:
        """The library page's scenes: the team's own first (newest first), then the presets in library
        order; `source` "team" or "presets" keeps one of the two. Types and categories are JSON lists,
        filtered in Python (a few hundred rows at most, and SQLite has no JSON containment lookup)."""
        rows = self.visible_to(team).search_text(text)
        if source == "team":
            rows = rows.filter(team=team)
        elif source == "presets":
            rows = rows.filter(team__isnull=True)
        rows = rows.order_by(F("team_id").asc(nulls_last=True), "position", "-pk")
        return [scene for scene in rows if scene.matches(category_type, scene_type)]


class Scene(models.Model):
    # Public and stable: presets keep the engine's number ("10001"), team scenes get "T" + hex.
    model_num = models.CharField(max_length=32, unique=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="scenes")
    name_zh = models.CharField(max_length=120, blank=True)
    name_en = models.CharField(max_length=120)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    # Lists of ints: scene types 1-4 and categories 1-11 of the seed's scene query API. Kept as JSON
    # lists and filtered in Python: the library is small and SQLite has no JSON containment lookup.
    scene_types = models.JSONField(default=list)
    categories = models.JSONField(default=list)
    palette = models.JSONField(default=list, blank=True)  # "#rrggbb", most area first
    # Composition, as fractions of the background: the line products stand on, the box they may fill,
    # where the key light comes from (degrees, 0 = right, 90 = top) and how soft it is (0..1).
    surface_y = models.FloatField(default=0.8)
    product_box = models.JSONField(default=list)  # [x0, y0, x1, y1]
    light_angle = models.FloatField(default=110.0)
    light_softness = models.FloatField(default=0.7)
    text_box = models.JSONField(null=True, blank=True)
    cover = models.FileField(upload_to=_scene_upload_to, blank=True, max_length=255)
    # Presets' backgrounds are rendered on first use and stored; team scenes store their upload here.
    background = models.FileField(upload_to=_scene_upload_to, blank=True, max_length=255)
    background_width = models.PositiveIntegerField(null=True, blank=True)
    background_height = models.PositiveIntegerField(null=True, blank=True)
    # The name/description embedded by the scene text model, with the key of the text it was made from.
    text_vector = models.JSONField(null=True, blank=True, editable=False)
    text_vector_key = models.CharField(max_length=64, blank=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SceneQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["team", "position"])]

    def __str__(self) -> str:
        return f"{self.model_num} {self.name_en}"

    def get_absolute_url(self) -> str:
        return reverse("processing:scene_detail", args=[self.model_num])

    @property
    def is_preset(self) -> bool:
        return self.team_id is None

    def get_cover_url(self) -> str:
        return reverse("processing:scene_cover", args=[self.model_num])

    @property
    def cover_pending(self) -> bool:
        """No cover drawn yet (presets loaded with `load_scene_presets --no-covers`): pages show the
        scene's colours instead and the worker draws it, so no page waits for covers being rendered. (A
        cover recorded but missing from storage is drawn again when it is asked for, one at a time.)"""
        return not self.cover

    def palette_gradient(self) -> str:
        """A CSS background from the scene's colours, standing in for a cover not drawn yet."""
        colours = [c for c in (self.palette or []) if isinstance(c, str) and len(c) == 7 and c[0] == "#"]
        colours = [c for c in colours if all(ch in "0123456789abcdefABCDEF" for ch in c[1:])][:4]
        if not colours:
            return "#eceef1"
        if len(colours) == 1:
            return colours[0]
        return f"linear-gradient(160deg, {', '.join(colours)})"

    def name(self, lang: str = "en") -> str:
        return (self.name_zh or self.name_en) if lang == "zh" else self.name_en

    def text(self) -> str:
        """What product titles are compared with; the same shape as the presets' text."""
        return f"{self.name_en}. {self.description_en} {self.name_zh}。{self.description_zh}".strip()

    @property
    def type_names(self) -> list[str]:
        return [SCENE_TYPES[t][0] for t in self.scene_types if t in SCENE_TYPES]

    @property
    def category_names(self) -> list[str]:
        return [CATEGORIES[c][0] for c in self.categories if c in CATEGORIES]

    def matches(self, category_type: int | None = None, scene_type: int | None = None) -> bool:
        return (category_type is None or category_type in self.categories) and (
            scene_type is None or scene_type in self.scene_types
        )

    def meta(self) -> dict:
        """Composition metadata in the engine's shape (fractions of the background)."""
        return {
            "surface_y": float(self.surface_y),
            "product_box": tuple(float(v) for v in self.product_box),
            "light_angle": float(self.light_angle),
            "light_softness": float(self.light_softness),
        }
