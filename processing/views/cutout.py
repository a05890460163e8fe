"""The cut-out flow in the browser: choose photos and options, watch the job, download or save."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from PIL import Image

from catalog.access import member_required, require_editor
from catalog.models import ProductImage

from ..engines.imageio import ImageDecodeError, encode_image
from ..forms import CutoutForm
from ..models import Job, JobKind, Result
from ..zipstream import ZipEntry, iter_zip, read_in_chunks
from .jobs import _get_job_for_user, _get_result_for_user, start_batch_job

DOWNLOAD_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


@member_required
def cutout_new(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    return start_batch_job(
        request, form_class=CutoutForm, kind=JobKind.CUTOUT, template="processing/cutout_new.html"
    )


@member_required
def result_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    """One cut-out result's photo again with other settings: the form starts from the job's settings and
    makes a new job for that one photo (the result and its job stay as they are)."""
    require_editor(request)
    result = _get_result_for_user(request, pk)
    if result.job.kind != JobKind.CUTOUT:
        raise Http404("Only cut-out results can be re-run with other settings.")
    source = result.item.image
    if source is None or source.team_id != request.membership.team_id:
        messages.error(request, "The original photo is no longer in the catalog, so it cannot be run again.")
        return redirect(result.job)
    if request.method == "POST":
        form = CutoutForm(request.POST)
        if form.is_valid():
            job = Job.objects.create_for_images(
                team=request.membership.team,
                kind=JobKind.CUTOUT,
                images=[source],
                created_by=request.user,
                params={**form.job_params(), "rerun_of": {"job": result.job_id, "result": result.pk}},
            )
            return redirect(job)
    else:
        form = CutoutForm(initial=CutoutForm.initial_from_params({**result.job.params, **result.item.params}))
    context = {"form": form, "images": [source], "rerun_of": result}
    return render(request, "processing/cutout_new.html", context)


@require_GET
@member_required
def result_download(request: HttpRequest, pk: int, extension: str) -> HttpResponse:
    result = _get_result_for_user(request, pk)
    if extension not in DOWNLOAD_FORMATS or not result.file:
        return redirect(result.job)
    payload = _encoded(result, extension)
    response = HttpResponse(payload, content_type=DOWNLOAD_FORMATS[extension][1])
    response["Content-Disposition"] = f'attachment; filename="{_download_name(result, extension)}"'
    return response


RESULT_SUFFIXES = {JobKind.CUTOUT: "cutout", JobKind.ERASE: "erased", JobKind.SCENE_RENDER: "scene"}


def _download_name(result: Result, extension: str) -> str:
    stem = (result.item.source_name or f"image-{result.item.position + 1}").rsplit(".", 1)[0]
    safe = "".join(character if character.isalnum() or character in "-_" else "_" for character in stem)
    suffix = RESULT_SUFFIXES.get(result.job.kind, "result")
    return f"{safe[:60] or 'image'}-{suffix}.{extension}"


@require_GET
@member_required
def job_zip(request: HttpRequest, pk: int) -> HttpResponse:
    """Every image result of the job in one archive, streamed: each result in its own format
    (`Result.delivery_extension`), or all in one format with ?format=png|jpg|webp."""
    job = _get_job_for_user(request, pk)
    wanted = request.GET.get("format", "")
    if wanted not in DOWNLOAD_FORMATS:
        wanted = ""
    results = [
        result
        for result in Result.objects.filter(job=job).exclude(file="").select_related("item", "job")
        if result.is_image
    ]
    response = StreamingHttpResponse(iter_zip(_zip_entries(results, wanted)), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="vitrine-job-{job.pk}.zip"'
    return response


def _zip_entries(results: list[Result], wanted: str) -> Iterator[ZipEntry]:
    used_names: set[str] = set()
    for result in results:
        extension = wanted or result.delivery_extension()
        name = _unique_name(_download_name(result, extension), used_names)
        if extension == result.file_extension:
            # The stored bytes as they are, copied through in pieces.
            chunks = read_in_chunks(result.file.storage, result.file.name)
            yield ZipEntry(name, chunks, modified=result.created_at)
        else:
            # One image at a time in memory: decoded, encoded in the entry's format, sent.
            payload = _encoded(result, extension)
            yield ZipEntry(name, [payload], size=len(payload), modified=result.created_at)


def _unique_name(name: str, used_names: set[str]) -> str:
    """Photos of the same name (mug.jpg on two products) get -2, -3… before the extension."""
    stem, dot, extension = name.rpartition(".")
    candidate, number = name, 1
    while candidate.lower() in used_names:
        number += 1
        candidate = f"{stem}-{number}{dot}{extension}"
    used_names.add(candidate.lower())
    return candidate


def _encoded(result: Result, extension: str) -> bytes:
    image_format, _content_type = DOWNLOAD_FORMATS[extension]
    with result.file.storage.open(result.file.name, "rb") as handle:
        image = Image.open(handle)
        image.load()
    return encode_image(image, image_format, quality=92)


@require_POST
@member_required
def result_save_to_product(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the result to the original photo's product as a new photo (its cover when `cover` is ticked); the
    original stays. With htmx (the erase editor's Accept) the answer is a fragment linking to the new
    photo; otherwise the product's page, or the new photo's own page when there is no product."""
    require_editor(request)
    result = _get_result_for_user(request, pk)
    if not result.file:
        return _saved_answer(request, result, None, error="This result has no image to save.")
    source = result.item.image
    product = source.product if source is not None else None
    with result.file.storage.open(result.file.name, "rb") as handle:
        data = handle.read()
    try:
        image, created = ProductImage.objects.ingest(
            team=request.membership.team,
            data=data,
            original_filename=_download_name(result, "png"),
            uploaded_by=request.user,
            product=product,
        )
    except ImageDecodeError as error:
        return _saved_answer(request, result, None, error=f"The result could not be saved: {error.message}")
    as_cover = request.POST.get("cover") == "1" and product is not None and image.product_id == product.pk
    if as_cover:
        product.make_cover(image.pk)
    if created:
        Job.objects.create_for_images(
            team=request.membership.team, kind=JobKind.IMAGE_FACTS, images=[image], created_by=request.user
        )
    if not request.htmx:
        if created:
            where = product.title if product else "your photos"
            messages.success(request, f"Saved to {where}{' as its cover' if as_cover else ''}.")
        else:
            messages.info(
                request, "This result is already saved." + (" It is now the cover." if as_cover else "")
            )
    return _saved_answer(request, result, image, created=created, as_cover=as_cover)


def _saved_answer(
    request: HttpRequest,
    result: Result,
    image: ProductImage | None,
    *,
    created: bool = False,
    as_cover: bool = False,
    error: str = "",
) -> HttpResponse:
    if request.htmx:
        context = {"result": result, "image": image, "created": created, "as_cover": as_cover, "error": error}
        return render(request, "processing/_saved_photo.html", context)
    if error:
        messages.error(request, error)
        return redirect(result.job)
    return redirect(image.product or image)
