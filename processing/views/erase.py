"""Erase elements in the browser: the batch form, and the one-photo editor (detected elements as
toggleable overlays, a brush and an eraser, erase as a one-item job, accept to save).

Results are ordinary Results with files, so downloads, the ZIP and "save to product" are the
cut-out flow's views (`views/cutout.py`)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from catalog.access import member_required, require_editor
from catalog.models import ProductImage

from ..engines.erase import InvalidMask, decode_rle_mask
from ..forms_erase import EraseForm, EraseMaskForm
from ..kinds.erase import ERASE, ERASE_DETECT, TYPE_LABELS, read_detection, store_hand_mask
from ..models import Job, JobItem, Result, Status
from .jobs import _get_job_for_user, start_batch_job

EDITOR_TEMPLATE = "processing/erase_editor.html"


def _get_image_for_user(request: HttpRequest, pk: int) -> ProductImage:
    return get_object_or_404(ProductImage.objects.for_team(request.membership.team), pk=pk)


def _get_erase_job_for_user(request: HttpRequest, pk: int, kind: str) -> Job:
    job = _get_job_for_user(request, pk)
    if job.kind != kind:
        raise Http404("No such job.")
    return job


def _job_context(job: Job) -> dict:
    item = job.items.select_related("image").first()
    result = Result.objects.filter(item=item).first() if item is not None else None
    return {"job": job, "item": item, "result": result, "image": item.image if item else None}


def element_groups(elements: list[dict]) -> list[dict]:
    """The detected elements as the editor lists them: by type, and within a type the lines of the same
    text together (a tiled watermark is one line "SAMPLE ONLY ×28", not 28), each with its indexes so one
    checkbox can toggle them all. A line or group starts ticked when all of it is (background elements)."""
    groups: dict[int, dict] = {}
    for index, element in enumerate(elements):
        group = groups.setdefault(
            element["type"],
            {"type": element["type"], "label": element.get("label", ""), "indexes": [], "lines": {}},
        )
        text = " ".join((element.get("text") or "").split())
        line = group["lines"].setdefault(
            text.casefold(), {"text": text, "indexes": [], "elements": [], "on_subject": 0}
        )
        group["indexes"].append(index)
        line["indexes"].append(index)
        line["elements"].append({**element, "index": index})
        line["on_subject"] += bool(element.get("onSubject"))
    listed = []
    for group_type in sorted(groups):
        group = groups[group_type]
        lines = sorted(group["lines"].values(), key=lambda line: (-len(line["indexes"]), line["text"]))
        for line in lines:
            line["count"] = len(line["indexes"])
            line["checked"] = line["on_subject"] == 0
        group.update(lines=lines, count=len(group["indexes"]), checked=all(line["checked"] for line in lines))
        listed.append(group)
    return listed


def _detect_context(job: Job | None) -> dict:
    detect = _job_context(job) if job is not None else None
    elements = detect["result"].metadata.get("elements", []) if detect and detect["result"] else []
    return {"detect": detect, "detect_groups": element_groups(elements)}


# --- batch ------------------------------------------------------------------------------------------
@member_required
def erase_new(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    return start_batch_job(request, form_class=EraseForm, kind=ERASE, template="processing/erase_new.html")


# --- the editor -------------------------------------------------------------------------------------
@member_required
def erase_editor(request: HttpRequest, pk: int) -> HttpResponse:
    require_editor(request)
    image = _get_image_for_user(request, pk)
    # A finished or running detection of this photo is reused: the detector takes seconds.
    detection = (
        Job.objects.for_team(request.membership.team)
        .filter(kind=ERASE_DETECT, items__image=image)
        .filter(~Q(status__in=(Status.FAILED, Status.CANCELLED)))
        .order_by("-created_at", "-pk")
        .first()
    )
    context = {"image": image, "type_labels": TYPE_LABELS, **_detect_context(detection)}
    return render(request, EDITOR_TEMPLATE, context)


@require_POST
@member_required
def erase_detect(request: HttpRequest, pk: int) -> HttpResponse:
    """Start detecting the photo's elements (the editor posts this once the page has loaded)."""
    require_editor(request)
    image = _get_image_for_user(request, pk)
    fresh = request.POST.get("again") == "1"
    job = None
    if not fresh:
        job = (
            Job.objects.for_team(request.membership.team)
            .filter(kind=ERASE_DETECT, items__image=image)
            .filter(~Q(status__in=(Status.FAILED, Status.CANCELLED)))
            .order_by("-created_at", "-pk")
            .first()
        )
    if job is None:
        job = Job.objects.create_for_images(
            team=request.membership.team,
            kind=ERASE_DETECT,
            images=[image],
            created_by=request.user,
            params={"source": "editor"},
        )
    if not request.htmx:
        return redirect("processing:erase_editor", pk=image.pk)
    return render(request, f"{EDITOR_TEMPLATE}#detect-status", _detect_context(job))


@require_GET
@member_required
def erase_detect_status(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_erase_job_for_user(request, pk, ERASE_DETECT)
    if not request.htmx:
        item = job.items.first()
        if item is None or item.image_id is None:
            return redirect(job)
        return redirect("processing:erase_editor", pk=item.image_id)
    return render(request, f"{EDITOR_TEMPLATE}#detect-status", _detect_context(job))


@require_GET
@member_required
def erase_elements(request: HttpRequest, pk: int) -> HttpResponse:
    """The detection with pixel masks, read through storage (a signed S3 link would need CORS)."""
    job = _get_erase_job_for_user(request, pk, ERASE_DETECT)
    result = Result.objects.filter(job=job).exclude(file="").first()
    if result is None:
        raise Http404("The detection has not finished.")
    try:
        payload = read_detection(result)
    except FileNotFoundError:
        raise Http404("The detection file is missing.") from None
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@member_required
def erase_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the painted mask (detected elements the user kept selected are part of it)."""
    require_editor(request)
    image = _get_image_for_user(request, pk)
    form = EraseMaskForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "The mask could not be read; paint again."
    else:
        rle = form.cleaned_data["mask"]
        try:
            painted = decode_rle_mask(rle, image.width, image.height)
        except InvalidMask as problem:
            error = f"The mask does not fit this photo: {problem}"
        else:
            if not painted.any():
                error = "Nothing to erase: select an element or paint over what should go."
    if error:
        if request.htmx:
            return render(request, f"{EDITOR_TEMPLATE}#erase-result", {"erase": None, "error": error})
        messages.error(request, error)
        return redirect("processing:erase_editor", pk=image.pk)
    params = store_hand_mask(request.membership.team.pk, rle)
    detection_id = form.cleaned_data.get("detection")
    if detection_id:
        # Only this team's detection of this very photo may lend its subject mask.
        detection = Result.objects.filter(
            pk=detection_id, team=request.membership.team, job__kind=ERASE_DETECT, item__image=image
        ).first()
        if detection is not None:
            params["detection_result"] = detection.pk
    job = Job.objects.create_with_items(
        team=request.membership.team,
        kind=ERASE,
        items=[JobItem(image=image, source_name=image.original_filename, params=params)],
        created_by=request.user,
        params={"source": "editor", "object_types": [], "non_object_types": []},
    )
    if not request.htmx:
        return redirect(job)
    return render(request, f"{EDITOR_TEMPLATE}#erase-result", {"erase": _job_context(job)})


@require_GET
@member_required
def erase_result_status(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_erase_job_for_user(request, pk, ERASE)
    if not request.htmx:
        return redirect(job)
    return render(request, f"{EDITOR_TEMPLATE}#erase-result", {"erase": _job_context(job)})
