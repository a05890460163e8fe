"""The cut-out refine editor: keep and remove brushes and a box over the photo a cut-out was made from, at full
resolution; "Refine" re-runs the matte with the strokes as hard constraints, "Save as a new version" makes a
new cut-out result with the first one's settings, and the old result stays.

Each step is a one-item job, polled like the erase editor's (kinds/refine.py says what each computes): the
model's matte when the editor opens (reused for the same photo and subject type), each refine, the save.
Mattes are ordinary results, served by `result_file`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from catalog.access import member_required, require_editor

from ..engines.erase import InvalidMask, decode_rle_mask
from ..kinds.refine import CUTOUT_MATTE, CUTOUT_REFINE, MATTE_KINDS, store_strokes
from ..models import Job, JobItem, JobKind, Result, Status
from .jobs import _get_job_for_user

TEMPLATE = "processing/refine_editor.html"
# What a new version leaves out of the first result's item params: they say where its matte came from.
VERSION_KEYS = ("url", "matte_result", "refined_from")


class RefineForm(forms.Form):
    """The editor's strokes: RLE over the photo's pixels (0-based starts), and an optional box."""

    keep = forms.CharField(strip=True, required=False, max_length=20_000_000)
    remove = forms.CharField(strip=True, required=False, max_length=20_000_000)
    box = forms.CharField(strip=True, required=False, max_length=80)
    base = forms.IntegerField(min_value=1)

    def clean_box(self) -> list[int] | None:
        text = self.cleaned_data["box"]
        if not text:
            return None
        try:
            x0, y0, x1, y1 = (int(part) for part in text.split(","))
        except ValueError:
            raise forms.ValidationError("The box must be four whole numbers: x0,y0,x1,y1.") from None
        return [x0, y0, x1, y1]


def _get_cutout_result(request: HttpRequest, pk: int) -> Result:
    """A cut-out result of the team with its photo still in the catalog: the only kind there is to refine."""
    result = get_object_or_404(
        Result.objects.for_team(request.membership.team).select_related("item__image", "job"),
        pk=pk,
        job__kind=JobKind.CUTOUT,
    )
    if not result.file:
        raise Http404("This result has no image.")
    return result


def _get_step_job(request: HttpRequest, pk: int, kind: str) -> Job:
    job = _get_job_for_user(request, pk)
    if job.kind != kind:
        raise Http404("No such job.")
    return job


def _cutout_params(result: Result) -> dict:
    """The settings the result was made with: its job's, with its item's own on top (the API's per-image
    subject type), without what said where an earlier version's matte came from."""
    item_params = {key: value for key, value in result.item.params.items() if key not in VERSION_KEYS}
    return {**result.job.params, **item_params}


def _step(job: Job | None) -> dict | None:
    """A step's job with its one item and result, as the template's partials show them."""
    if job is None:
        return None
    item = job.items.select_related("image").first()
    step_result = Result.objects.filter(item=item).exclude(file="").first() if item is not None else None
    return {"job": job, "item": item, "result": step_result}


def _base_matte_job(request: HttpRequest, result: Result) -> Job | None:
    """The model's matte of the result's photo: reused while one is ready or on its way."""
    model_type = _cutout_params(result).get("model_type", "general")
    return (
        Job.objects.for_team(request.membership.team)
        .filter(kind=CUTOUT_MATTE, items__image_id=result.item.image_id, params__model_type=model_type)
        .filter(~Q(status__in=(Status.FAILED, Status.CANCELLED)))
        .order_by("-created_at", "-pk")
        .first()
    )


def _refined_base(request: HttpRequest, result: Result) -> Result | None:
    """A result that is itself a refined version starts from its own matte, not from the model's."""
    matte_id = result.metadata.get("matte_result")
    if not matte_id:
        return None
    return (
        Result.objects.for_team(request.membership.team)
        .filter(pk=matte_id, job__kind__in=MATTE_KINDS, item__image_id=result.item.image_id)
        .exclude(file="")
        .first()
    )


def _render_step(request: HttpRequest, partial: str, context: dict) -> HttpResponse:
    return render(request, f"{TEMPLATE}#{partial}", context)


@require_GET
@member_required
def refine_editor(request: HttpRequest, pk: int) -> HttpResponse:
    require_editor(request)
    result = _get_cutout_result(request, pk)
    image = result.item.image
    if image is None:
        messages.error(request, "The photo this cut-out was made from was deleted, so it cannot be refined.")
        return redirect(result.job)
    refined_base = _refined_base(request, result)
    context = {
        "result": result,
        "image": image,
        "refined_base": refined_base,
        "base": None if refined_base else _step(_base_matte_job(request, result)),
        "params": _cutout_params(result),
    }
    return render(request, TEMPLATE, context)


@require_POST
@member_required
def refine_base(request: HttpRequest, pk: int) -> HttpResponse:
    """Start computing the model's matte of the photo (the editor posts this once the page has loaded)."""
    require_editor(request)
    result = _get_cutout_result(request, pk)
    if result.item.image is None:
        raise Http404("The photo was deleted.")
    job = _base_matte_job(request, result)
    if job is None:
        job = Job.objects.create_for_images(
            team=request.membership.team,
            kind=CUTOUT_MATTE,
            images=[result.item.image],
            created_by=request.user,
            params={"model_type": _cutout_params(result).get("model_type", "general")},
        )
    if not request.htmx:
        return redirect("processing:refine_editor", pk=result.pk)
    return _render_step(request, "base-status", {"result": result, "base": _step(job)})


@require_GET
@member_required
def refine_base_status(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    result = _get_cutout_result(request, pk)
    job = _get_step_job(request, job_pk, CUTOUT_MATTE)
    if not request.htmx:
        return redirect("processing:refine_editor", pk=result.pk)
    return _render_step(request, "base-status", {"result": result, "base": _step(job)})


@require_POST
@member_required
def refine_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-run the matte with the strokes: a `cutout_refine` job on the photo, from the editor's base matte."""
    require_editor(request)
    result = _get_cutout_result(request, pk)
    image = result.item.image
    if image is None:
        raise Http404("The photo was deleted.")
    form = RefineForm(request.POST)
    error = ""
    if not form.is_valid():
        error = " ".join(message for errors in form.errors.values() for message in errors)
        error = error or "The strokes could not be read; paint again."
    else:
        data = form.cleaned_data
        base = (
            Result.objects.for_team(request.membership.team)
            .filter(pk=data["base"], job__kind__in=MATTE_KINDS, item__image=image)
            .exclude(file="")
            .first()
        )
        try:
            keep = decode_rle_mask(data["keep"], image.width, image.height)
            remove = decode_rle_mask(data["remove"], image.width, image.height)
        except InvalidMask as problem:
            error = f"The strokes do not fit this photo: {problem}"
        else:
            if base is None:
                error = "The matte to refine is not ready or not this photo's; reload the editor."
            elif not keep.any() and not remove.any() and data["box"] is None:
                error = "Nothing to refine: paint with the keep or remove brush, or draw a box."
    if error:
        if request.htmx:
            return _render_step(request, "refine-run", {"result": result, "run": None, "error": error})
        messages.error(request, error)
        return redirect("processing:refine_editor", pk=result.pk)
    params = {
        **store_strokes(request.membership.team.pk, data["keep"], data["remove"]),
        "base_matte": base.pk,
        "box": data["box"],
    }
    job = Job.objects.create_with_items(
        team=request.membership.team,
        kind=CUTOUT_REFINE,
        items=[JobItem(image=image, source_name=image.original_filename, params=params)],
        created_by=request.user,
        params={"source_result": result.pk},
    )
    if not request.htmx:
        return redirect(job)
    return _render_step(request, "refine-run", {"result": result, "run": _step(job)})


@require_GET
@member_required
def refine_run_status(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    result = _get_cutout_result(request, pk)
    job = _get_step_job(request, job_pk, CUTOUT_REFINE)
    if not request.htmx:
        return redirect(job)
    return _render_step(request, "refine-run", {"result": result, "run": _step(job)})


@require_POST
@member_required
def refine_save(request: HttpRequest, pk: int) -> HttpResponse:
    """A new version of the cut-out from the refined matte, with the first result's settings; the old
    result stays as it is."""
    require_editor(request)
    result = _get_cutout_result(request, pk)
    image = result.item.image
    refined_id = request.POST.get("refined", "")
    refined = None
    if image is not None and refined_id.isdigit():
        refined = (
            Result.objects.for_team(request.membership.team)
            .filter(pk=int(refined_id), job__kind=CUTOUT_REFINE, item__image=image)
            .exclude(file="")
            .first()
        )
    if refined is None:
        error = "Refine the cut-out first, then save it."
        if request.htmx:
            return _render_step(request, "refine-saved", {"result": result, "saved": None, "error": error})
        messages.error(request, error)
        return redirect("processing:refine_editor", pk=result.pk)
    job = Job.objects.create_with_items(
        team=request.membership.team,
        kind=JobKind.CUTOUT,
        items=[
            JobItem(
                image=image,
                source_name=result.item.source_name or image.original_filename,
                params={"matte_result": refined.pk, "refined_from": result.pk},
            )
        ],
        created_by=request.user,
        params={**_cutout_params(result), "source": "refine"},
    )
    if not request.htmx:
        return redirect(job)
    return _render_step(request, "refine-saved", {"result": result, "saved": _step(job)})


@require_GET
@member_required
def refine_saved_status(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    result = _get_cutout_result(request, pk)
    job = _get_step_job(request, job_pk, JobKind.CUTOUT)
    if not request.htmx:
        return redirect(job)
    return _render_step(request, "refine-saved", {"result": result, "saved": _step(job)})
