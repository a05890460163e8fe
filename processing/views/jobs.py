from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import parse_etags, patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from catalog.access import member_required, require_editor
from catalog.models import ProductImage
from catalog.views import serve_stored_file

from ..models import FINISHED_STATUSES, Job, JobItem, JobKind, Result, Status

ITEMS_SHOWN = 200


def _get_job_for_user(request: HttpRequest, pk: int) -> Job:
    return get_object_or_404(Job.objects.for_team(request.membership.team), pk=pk)


def _get_result_for_user(request: HttpRequest, pk: int) -> Result:
    return get_object_or_404(
        Result.objects.for_team(request.membership.team).select_related("item", "job"), pk=pk
    )


def start_batch_job(request: HttpRequest, *, form_class, kind: str, template: str) -> HttpResponse:
    """The shared "chosen photos + an options form → one job" step of the batch tools.

    The caller has checked membership and the editor role; photos of other teams are dropped.
    """
    images = ProductImage.objects.for_team(request.membership.team).from_ids(
        request.POST.getlist("images") or request.GET.getlist("images")
    )
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not images:
            messages.error(request, "Choose at least one photo.")
        else:
            job = Job.objects.create_for_images(
                team=request.membership.team,
                kind=kind,
                images=images,
                created_by=request.user,
                params=form.job_params(),
            )
            return redirect(job)
    return render(request, template, {"form": form, "images": images})


@member_required
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = (
        Job.objects.for_team(request.membership.team)
        .with_progress()
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status in Status.values:
        jobs = jobs.filter(status=status)
    if kind in JobKind.values:
        jobs = jobs.filter(kind=kind)
    page = Paginator(jobs, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "kind": kind,
        "statuses": Status.choices,
        "kinds": JobKind.choices,
        "query": urlencode({key: value for key, value in (("status", status), ("kind", kind)) if value}),
    }
    return render(request, "processing/job_list.html", context)


class JobState(NamedTuple):
    """What the status fragment shows that can change, read without the ORM: the change token's input."""

    status: str
    version: int
    lease_lapsed: bool
    total: int
    done: int
    failed: int


@functools.cache
def _job_state_sql() -> str:
    quote = connection.ops.quote_name
    finished = ", ".join(["%s"] * len(FINISHED_STATUSES))
    job_table, item_table = quote(Job._meta.db_table), quote(JobItem._meta.db_table)
    # Only placeholders and the models' own table names are put into the text.
    return (
        "SELECT j.status, j.version, j.lease_expires_at < %s, COUNT(i.id), "  # noqa: S608
        f"SUM(CASE WHEN i.status IN ({finished}) THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN i.status = %s THEN 1 ELSE 0 END) "
        f"FROM {job_table} j LEFT JOIN {item_table} i ON i.job_id = j.id "
        "WHERE j.id = %s AND j.team_id = %s GROUP BY j.id, j.status, j.version, j.lease_expires_at"
    )


def _job_state(request: HttpRequest, pk: int) -> JobState:
    """One small query, no ORM query building: polls come every 2 s from every open job page."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [now, *FINISHED_STATUSES, Status.FAILED, pk, request.membership.team_id]
    with connection.cursor() as cursor:
        cursor.execute(_job_state_sql(), params)
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such job.")
    status, version, lease_lapsed, total, done, failed = row
    return JobState(
        status, version, status == Status.RUNNING and bool(lease_lapsed), total, done or 0, failed or 0
    )


def _change_token(request: HttpRequest, pk: int, state: JobState, compact: bool) -> str:
    """A weak ETag for the status fragment, from what it shows and who it is shown to.

    `version` moves with every state change and every finished item; the item counts are in it
    too, so a change made without bumping the version still shows. The role decides the cancel
    button, and the CSRF secret is baked into the fragment's cancel form.
    """
    parts = (pk, *state, request.membership.role, compact, request.META.get("CSRF_COOKIE", ""))
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    return f'W/"job{pk}-{state.version}-{digest}"'


def _client_has(request: HttpRequest, etag: str) -> bool:
    """If-None-Match with the weak comparison of RFC 9110 (W/ prefixes ignored)."""
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == wanted for tag in parse_etags(header))


def _fragment_headers(response: HttpResponse, etag: str) -> HttpResponse:
    # Private: the fragment belongs to one member. no-cache: the browser keeps it and revalidates
    # every poll with If-None-Match; an XHR sees the stored 200 again, never the bare 304, so
    # htmx swaps identical markup instead of blanking the region.
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["HX-Request", "Cookie"])
    return response


@member_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    state = _job_state(request, pk)
    if state.lease_lapsed:
        # Whoever looks at a job whose worker died sets its recovery going.
        Job.objects.filter(pk=pk).recover_stale()
        state = _job_state(request, pk)
    compact = request.GET.get("compact") == "1"
    etag = None
    if request.htmx:
        # The polled fragment: answer "nothing new" from that one query, before any rendering.
        etag = _change_token(request, pk, state, compact)
        if _client_has(request, etag):
            response = HttpResponseNotModified()
            # Nothing in a 304 is rendered, so there is nothing for a policy header to guard.
            response._csp_exempt = True
            return _fragment_headers(response, etag)
    job = _get_job_for_user(request, pk)
    items = job.items.select_related("image", "result").order_by("position", "pk")[:ITEMS_SHOWN]
    context = {
        "job": job,
        "items": items,
        "progress": job.progress(),
        "items_shown": ITEMS_SHOWN,
        "compact": compact,
    }
    if etag is None:
        response = render(request, "processing/job_detail.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    response = render(request, "processing/job_detail.html#job-status", context)
    # Rendering the cancel form may have made the first CSRF secret: tag what was sent.
    return _fragment_headers(response, _change_token(request, pk, state, compact))


@require_POST
@member_required
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    require_editor(request)
    job = _get_job_for_user(request, pk)
    if job.cancel():
        messages.info(request, "The job was cancelled.")
    else:
        messages.error(
            request, f"The job is {job.get_status_display().lower()} and can no longer be cancelled."
        )
    return redirect(job)


@require_GET
@member_required
def result_file(request: HttpRequest, pk: int) -> HttpResponse:
    result = _get_result_for_user(request, pk)
    if not result.file:
        return redirect(result.job)
    filename = f"job{result.job_id}-{result.item.position + 1:04d}.{result.file.name.rsplit('.', 1)[-1]}"
    return serve_stored_file(
        request, result.file, result.content_type or "application/octet-stream", filename
    )
