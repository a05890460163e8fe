"""Image Elements Removal over HTTP: Aidge's synchronous `GET/POST /ai/image/removal`
(seeds/aidge-elements-removal.txt), in the same envelope as the cut-out API.

Errors come back with HTTP 200 and the code in `resCode` (401 only for a missing or bad token):
700 invalid input (the message names the field), 701 image URL, 702 base64, 703 image size
outside 512x512...3000x3000, 704 format other than JPG/PNG/BMP, 705 file over 10 MB, 501 rate limit,
801 model failure.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import api
from ..api import ApiProblem
from ..engines.erase import InvalidMask, decode_rle_mask
from ..kinds.erase import ERASE, erase_outcome, parse_types

logger = logging.getLogger(__name__)

MIN_SIDE, MAX_SIDE = 512, 3000
FORMATS = ("JPEG", "PNG", "BMP")
MAX_BYTES = 10 * 1024 * 1024
URL_FIELD, BASE64_FIELD = "image_url", "image_Base64"

CODES = {
    api.BAD_URL: (701, "image url error"),
    api.BAD_BASE64: (702, "image base64 error"),
    api.BAD_IMAGE_SIZE: (703, "image size exceeds the limit"),
    api.BAD_FORMAT: (704, "invalid image form"),
    api.TOO_LARGE: (705, "image file size exceeds the limit"),
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def removal(request: HttpRequest) -> HttpResponse:
    request_id = api.new_request_id(request)
    try:
        token = api.authenticate(request)
        api.check_rate_limit(token.team)
        params = api.request_params(request)
        object_types, non_object_types = _type_params(request, params)
        mask_text = _mask_param(params)
        if mask_text is None and not object_types and not non_object_types:
            raise ApiProblem(
                api.INVALID_INPUT,
                "non_object_remove_elements and object_remove_elements cannot both be empty "
                "unless a mask is given.",
                "non_object_remove_elements",
            )
        decoded = _load_image(params)
        hand_mask = None
        if mask_text is not None:
            try:
                hand_mask = decode_rle_mask(mask_text, decoded.width, decoded.height)
            except InvalidMask as error:
                raise ApiProblem(api.INVALID_INPUT, f"mask: {error}", "mask") from None
            if not hand_mask.any():
                raise ApiProblem(api.INVALID_INPUT, "mask: the mask selects no pixels.", "mask")
        job_params = {
            "object_types": object_types,
            "non_object_types": non_object_types,
        }
        result = api.run_sync_job(
            team=token.team,
            kind=ERASE,
            source_name=api.input_source(params, BASE64_FIELD, URL_FIELD),
            job_params=job_params,
            item_params={"hand_mask": hand_mask is not None},
            request_id=request_id,
            compute=lambda: erase_outcome(decoded.image, job_params, hand_mask=hand_mask),
        )
    except ApiProblem as problem:
        return api.aidge_response(request_id, problem=problem, codes=CODES)
    metadata = result.metadata
    data = {
        **api.result_image_data(request, result),
        "elements": metadata.get("elements", []),
        "maskUsed": metadata.get("mode") == "mask",
        "erasedPixels": metadata.get("erased_pixels", 0),
    }
    return api.aidge_response(request_id, data=data)


# The seed's descriptions also name the two lists `remove_product_area_elements` and
# `remove_non_product_area_elements` ("cannot be empty at the same time as remove_non_product_area_elements",
# "take precedence over the remove_non_product_area_elements and remove_product_area_elements parameters"):
# they are accepted as the same lists under those names.
TYPE_ALIASES = {
    "object_remove_elements": "remove_product_area_elements",
    "non_object_remove_elements": "remove_non_product_area_elements",
}


def _raw_list(request: HttpRequest, params: dict, name: str) -> object:
    value = params.get(name)
    # A form or query string may repeat the field once per type (`...=1&...=2`).
    repeated = request.POST.getlist(name) if request.method == "POST" else []
    repeated = repeated or request.GET.getlist(name)
    if len(repeated) > 1 and isinstance(value, str):
        value = repeated
    return value


def _parsed_types(value: object, name: str) -> list[int]:
    try:
        return parse_types(value)
    except ValueError as error:
        raise ApiProblem(api.INVALID_INPUT, f"{name}: {error}.", name) from None


def _type_params(request: HttpRequest, params: dict) -> tuple[list[int], list[int]]:
    lists = []
    for name, required in (("object_remove_elements", True), ("non_object_remove_elements", False)):
        alias = TYPE_ALIASES[name]
        value, alias_value = _raw_list(request, params, name), _raw_list(request, params, alias)
        if value is None and alias_value is None:
            if required:
                raise ApiProblem(api.MISSING_INPUT, f"{name} is required, e.g. [1, 2, 4] or [].", name)
            lists.append([])
            continue
        types = _parsed_types(value, name) if value is not None else None
        alias_types = _parsed_types(alias_value, alias) if alias_value is not None else None
        if types is not None and alias_types is not None and types != alias_types:
            raise ApiProblem(
                api.INVALID_INPUT,
                f"{name} and {alias} name the same list; they differ, send one of them.",
                name,
            )
        lists.append(types if types is not None else alias_types)
    return lists[0], lists[1]


def _mask_param(params: dict) -> str | None:
    value = params.get("mask")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ApiProblem(api.INVALID_INPUT, "mask must be a string of 'start length' pairs (RLE).", "mask")
    return value


def _load_image(params: dict):
    try:
        return api.load_image_input(
            base64_value=params.get(BASE64_FIELD),
            url_value=params.get(URL_FIELD),
            base64_field=BASE64_FIELD,
            url_field=URL_FIELD,
            min_side=MIN_SIDE,
            max_side=MAX_SIDE,
            formats=FORMATS,
            max_bytes=MAX_BYTES,
            # The elements-removal seed prioritises the URL when both are given.
            prefer="url",
        )
    except ApiProblem as problem:
        if problem.kind == api.BAD_IMAGE:
            # Bytes that are no image at all: the seed's "download or recognition failed" codes.
            kind = api.BAD_BASE64 if problem.field == BASE64_FIELD else api.BAD_URL
            raise ApiProblem(kind, problem.message, problem.field) from None
        raise
