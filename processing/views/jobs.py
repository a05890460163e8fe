from __future__ import annotations

import functools
import re
from importlib import import_module
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.models import Session
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import parse_etags, patch_vary_headers
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.http import require_GET, require_POST

from catalog.access import member_required, require_editor
from catalog.models import Membership, ProductImage, Role
from catalog.views import serve_stored_file

from ..models import DONE_STATUSES, Job, JobItem, JobKind, Result, Status

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
    cancelled: int


@functools.cache
def _job_state_sql(by_team: bool, by_member_roles: int = 0) -> str:
    quote = connection.ops.quote_name
    done = ", ".join(["%s"] * len(DONE_STATUSES))
    job_table, item_table = quote(Job._meta.db_table), quote(JobItem._meta.db_table)
    member_filter = ""
    if by_member_roles:
        roles = ", ".join(["%s"] * by_member_roles)
        member_filter = (
            f" AND EXISTS (SELECT 1 FROM {quote(Membership._meta.db_table)} m "  # noqa: S608
            f"WHERE m.team_id = j.team_id AND m.user_id = %s AND m.role IN ({roles}))"
        )
    # Only placeholders and the models' own table names are put into the text.
    return (
        "SELECT j.status, j.version, j.lease_expires_at < %s, COUNT(i.id), "  # noqa: S608
        f"SUM(CASE WHEN i.status IN ({done}) THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN i.status = %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN i.status = %s THEN 1 ELSE 0 END) "
        f"FROM {job_table} j LEFT JOIN {item_table} i ON i.job_id = j.id "
        f"WHERE j.id = %s{' AND j.team_id = %s' if by_team else ''}{member_filter} "
        "GROUP BY j.id, j.status, j.version, j.lease_expires_at"
    )


def _job_state(
    pk: int, team_id: int | None, *, member: tuple[int, tuple[str, ...]] | None = None
) -> JobState | None:
    """One small query, no ORM query building: polls come every 2 s from every open job page.

    `member` (a user id and the roles that user must still hold in the job's team) makes a job the
    user may no longer see, or may now see differently, look missing.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [
        now,
        *DONE_STATUSES,
        Status.FAILED,
        Status.CANCELLED,
        pk,
        *([team_id] if team_id is not None else []),
    ]
    if member is not None:
        params += [member[0], *member[1]]
    with connection.cursor() as cursor:
        cursor.execute(_job_state_sql(team_id is not None, len(member[1]) if member else 0), params)
        row = cursor.fetchone()
    if row is None:
        return None
    status, version, lease_lapsed, total, done, failed, cancelled = row
    lapsed = status == Status.RUNNING and bool(lease_lapsed)
    return JobState(status, version, lapsed, total, done or 0, failed or 0, cancelled or 0)


_ETAG_SALT = "vitrine.processing.job-status-etag"
_OUR_TAG = re.compile(r'^(?:W/)?"job(\d+)-\d+-([ev])u(\d+)-[0-9a-f]{24}"$')
# The roles a tag's e/v flag stands for: a change of role changes the fragment (its cancel button).
_ROLES_OF_FLAG = {"e": (Role.OWNER.value, Role.EDITOR.value), "v": (Role.VIEWER.value,)}


def _change_token(
    request: HttpRequest,
    pk: int,
    state: JobState,
    *,
    compact: bool,
    can_edit: bool,
    user_id: int,
    session_key: str,
) -> str:
    """A weak ETag for the status fragment: what it shows, to whom, signed for one session.

    `version` moves with every state change and every finished item; the item counts are in it
    too, so a change made without bumping the version still shows. Whether the member may edit
    decides the cancel button (the tag carries it as e/v), and the CSRF secret is baked into the
    fragment's cancel form. The user id lets the fast path check the membership still holds. The
    HMAC (SECRET_KEY) binds it all to the session it was sent to.
    """
    flag = "e" if can_edit else "v"
    message = repr((session_key, user_id, pk, *state, flag, compact, request.META.get("CSRF_COOKIE", "")))
    digest = salted_hmac(_ETAG_SALT, message, algorithm="sha256").hexdigest()[:24]
    return f'W/"job{pk}-{state.version}-{flag}u{user_id}-{digest}"'


def _client_has(request: HttpRequest, etag: str) -> bool:
    """If-None-Match with the weak comparison of RFC 9110 (W/ prefixes ignored)."""
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(constant_time_compare(tag.removeprefix("W/"), wanted) for tag in parse_etags(header))


def _fragment_headers(response: HttpResponse, etag: str) -> HttpResponse:
    # Private: the fragment belongs to one member. no-cache: the browser keeps it and revalidates
    # every poll with If-None-Match; an XHR sees the stored 200 again, never the bare 304, so
    # htmx swaps identical markup instead of blanking the region.
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["HX-Request", "Cookie"])
    return response


def _not_modified(etag: str) -> HttpResponse:
    response = HttpResponseNotModified()
    # Nothing in a 304 is rendered, so there is nothing for a policy header to guard.
    response._csp_exempt = True
    return _fragment_headers(response, etag)


def _session_alive(session_key: str) -> bool:
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        table = connection.ops.quote_name(Session._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                [session_key, now],
            )
            return cursor.fetchone() is not None
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(session_key)


def _unchanged_since_last_poll(request: HttpRequest, pk: int) -> HttpResponse | None:
    """The poll's fast path: a 304 from two small queries, or None and the full view decides.

    Only a tag this server signed for this session and this job, still matching the job's state,
    earns the 304, and only while the tag's user is still a member of the job's team with the same
    kind of role; a session that logged out or expired is refused here. Anything else (first poll, a change, a
    stale lease to recover, no session cookie) goes through the full view with every check.
    """
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not header or not session_key:
        return None
    claims = set()
    for tag in header.split(","):
        match = _OUR_TAG.match(tag.strip())
        if match and int(match.group(1)) == pk:
            claims.add((match.group(2), int(match.group(3))))
    # A browser keeps one tag per URL; more than one claim is not a poll worth a fast answer.
    if len(claims) != 1 or not _session_alive(session_key):
        return None
    ((flag, user_id),) = claims
    state = _job_state(pk, team_id=None, member=(user_id, _ROLES_OF_FLAG[flag]))
    if state is None or state.lease_lapsed:
        return None
    compact = request.GET.get("compact") == "1"
    etag = _change_token(
        request, pk, state, compact=compact, can_edit=flag == "e", user_id=user_id, session_key=session_key
    )
    return _not_modified(etag) if _client_has(request, etag) else None


def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if request.htmx and request.method in ("GET", "HEAD"):
        unchanged = _unchanged_since_last_poll(request, pk)
        if unchanged is not None:
            return unchanged
    return _job_detail(request, pk)


@member_required
def _job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    state = _job_state(pk, request.membership.team_id)
    if state is None:
        raise Http404("No such job.")
    if state.lease_lapsed:
        # Whoever looks at a job whose worker died sets its recovery going.
        Job.objects.filter(pk=pk).recover_stale()
        state = _job_state(pk, request.membership.team_id)
    compact = request.GET.get("compact") == "1"
    etag = None
    if request.htmx:
        token = functools.partial(
            _change_token,
            request,
            pk,
            state,
            compact=compact,
            can_edit=request.membership.can_edit,
            user_id=request.user.pk,
        )
        etag = token(session_key=request.session.session_key or "")
        if _client_has(request, etag):
            return _not_modified(etag)
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
    return _fragment_headers(response, token(session_key=request.session.session_key or ""))


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


@require_POST
@member_required
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Send every failed and cancelled item of a finished job through again."""
    require_editor(request)
    job = _get_job_for_user(request, pk)
    _report_retry(request, job, job.retry())
    return redirect(job)


@require_POST
@member_required
def item_retry(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Send one failed or cancelled item through again."""
    require_editor(request)
    job = _get_job_for_user(request, pk)
    item = get_object_or_404(job.items, pk=item_pk)
    _report_retry(request, job, job.retry([item.pk]))
    return redirect(job)


def _report_retry(request: HttpRequest, job: Job, retried: int) -> None:
    if retried:
        messages.success(request, f"{retried} item{'s' if retried != 1 else ''} will run again.")
    elif not job.is_finished:
        messages.error(request, "The job is still running: retry its items once it has stopped.")
    else:
        messages.error(request, "Nothing to retry: only failed or cancelled items can run again.")


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
