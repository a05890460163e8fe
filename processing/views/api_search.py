"""Search by picture over HTTP in Aliyun Image Search's dialect (seeds/aliyun-image-search-by-pic-zh.txt).

One endpoint, `POST /api/imagesearch` (form fields or a JSON object; `?Action=` in the query string works
too), dispatching on `Action` (or the `x-acs-action` header). `POST /` is the same endpoint: the Alibaba Cloud
SDK's path is fixed at `/` (its endpoint setting names only the host), and it signs with an access key
(ACS3-HMAC-SHA256, or RPC v2 with `signature_algorithm='v2'`; see processing/signing.py).

- `SearchImageByPic`: `InstanceName`, `PicContent` (base64), `CategoryId`, `Crop`, `Region`, `Num`,
  `Start`, `Filter` -> `Auctions`, `Head`, `PicInfo`.
- `AddImage`: `ProductId` (our Product's SKU), `PicName`, `PicContent`, `CategoryId`, `IntAttr`,
  `IntAttr2`, `StrAttr`, `StrAttr2`, `CustomContent`: creates or updates the product, stores the picture
  with the safe decoder and indexes it before answering.
- `DeleteImage`: `ProductId` and optionally `PicName`.

Every answer carries `RequestId`, `Msg`, `Success` and `Code` (0, or the seed's error code), with the
seed's HTTP status; errors repeat `Msg` as `Message`, which is what the SDK reads. A token only reaches its own team: another team's `InstanceName` is InvalidInstance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from catalog import search_index
from catalog.models import Product, ProductImage, SearchInstance
from processing.engines.categories import ALIYUN_CATEGORIES
from processing.engines.embedding import ModelMissingError
from processing.engines.imageio import ImageDecodeError
from processing.engines.search import (
    ERROR_CODES,
    MAX_PIC_BYTES,
    SearchParamError,
    decode_image,
    parse_filter,
    validate_category,
)

from .. import api
from ..api import ApiProblem
from ..models import Job, JobKind

logger = logging.getLogger(__name__)

# The seed's codes that the engine's table does not carry (the API layer's own), with their HTTP status.
API_ERRORS: dict[str, tuple[int, str]] = {
    **ERROR_CODES,
    "InvalidInstance": (400, "The specified instance name is invalid."),
    "NoPermission": (403, "You are not authorized to perform this operation."),
    "DeniedRequest": (403, "Your request was denied due to instance flow control."),
    "UnsupportedOperationType": (500, "The specified action is not supported."),
    "AccessEngineFailed": (500, "An error occurred while accessing the search engine."),
    # The Alibaba Cloud gateway's answers to signed requests, which the SDK raises as they are.
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "SignatureDoesNotMatch": (400, "Specified signature is not matched with our calculation."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidAccessKeyId.Inactive": (400, "Specified access key is disabled."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
}
SIGNATURE_CODES = {
    api.SIGNATURE_MISSING: "IncompleteSignature",
    api.SIGNATURE_MALFORMED: "IncompleteSignature",
    api.SIGNATURE_UNKNOWN_KEY: "InvalidAccessKeyId.NotFound",
    api.SIGNATURE_INACTIVE_KEY: "InvalidAccessKeyId.Inactive",
    api.SIGNATURE_MISMATCH: "SignatureDoesNotMatch",
    api.SIGNATURE_EXPIRED: "InvalidTimeStamp.Expired",
    api.SIGNATURE_REPLAYED: "SignatureNonceUsed",
}
# Neutral problems of processing/api.py -> the seed's codes.
PROBLEM_CODES = {
    api.UNAUTHORIZED: "NoPermission",
    api.FORBIDDEN: "NoPermission",
    api.RATE_LIMITED: "DeniedRequest",
    api.TOO_LARGE: "UnsupportedPicFormat",  # the seed files a picture over 4 MB under the format error
    api.BAD_BASE64: "BadRequest",
    api.BAD_FORMAT: "UnsupportedPicFormat",
    api.BAD_IMAGE: "UnsupportedPicFormat",
    api.BAD_IMAGE_SIZE: "UnsupportedPicPixels",
    api.INVALID_INPUT: "BadRequest",
    api.MISSING_INPUT: "BadRequest",
    api.MODEL_FAILED: "AccessEngineFailed",
    api.INTERNAL: "UnknownException",
    api.UNKNOWN_PATH: "UnsupportedOperationType",
    api.METHOD_NOT_ALLOWED: "BadRequest",
}
ALL_CATEGORIES = [{"Id": cid, "Name": name} for cid, name in ALIYUN_CATEGORIES.items()]
MAX_PRODUCT_ID = Product._meta.get_field("sku").max_length
MAX_PIC_NAME = 255
MAX_STR_ATTR = Product._meta.get_field("str_attr").max_length
MAX_CUSTOM_CONTENT = Product._meta.get_field("custom_content").max_length


def new_request_id(request: HttpRequest) -> str:
    # The same id as the response header and the log lines (project.requestid).
    return api.new_request_id(request)


def search_response(
    request_id: str, body: dict | None = None, error: SearchParamError | None = None
) -> JsonResponse:
    """The envelope of every answer: the body's fields, then RequestId, Msg, Success and Code; an error also
    carries its text as Message, the field the Alibaba Cloud SDK puts in the exception it raises."""
    if error is None:
        payload = {**(body or {}), "RequestId": request_id, "Msg": "success", "Success": True, "Code": 0}
        return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    status, message = API_ERRORS.get(error.code, API_ERRORS["BadRequest"])
    msg = f"{message} {error.detail}".strip() if error.detail else message
    # The Alibaba Cloud SDKs read an error's text from `Message` (their errors read "code: 400, None"
    # without it); `Msg` is the seed's own field and stays for the clients that read it.
    payload = {"RequestId": request_id, "Msg": msg, "Message": msg, "Success": False, "Code": error.code}
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def _from_problem(problem: ApiProblem) -> SearchParamError:
    if isinstance(problem, api.SignatureProblem):
        return SearchParamError(SIGNATURE_CODES[problem.reason], problem.message)
    return SearchParamError(PROBLEM_CODES.get(problem.kind, "BadRequest"), problem.message)


# Problems about the call itself rather than its parameters; the seed has no code of its own for them.
_CALL_STATUSES = {api.UNKNOWN_PATH: 404, api.METHOD_NOT_ALLOWED: 405}


def search_problem_response(request_id: str, problem: ApiProblem) -> JsonResponse:
    """A shared problem (unreadable body, unknown path, wrong method...) in this dialect's envelope."""
    response = search_response(request_id, error=_from_problem(problem))
    if problem.kind in _CALL_STATUSES:
        response.status_code = _CALL_STATUSES[problem.kind]
    return response


# ---- parameters ---------------------------------------------------------------------------------------------
def _text(params: dict, name: str, max_length: int, *, required: bool = False) -> str:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise SearchParamError("BadRequest", f"{name} is required")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise SearchParamError("BadRequest", f"{name} must be a string")
    value = str(value)
    if len(value) > max_length:
        raise SearchParamError("BadRequest", f"{name} must be at most {max_length} characters")
    if any(ord(ch) < 32 for ch in value):
        raise SearchParamError("BadRequest", f"{name} must not contain control characters")
    return value


def _bool(params: dict, name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise SearchParamError("BadRequest", f"{name} must be true or false")


def _int_attr(params: dict, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        raise SearchParamError("InvalidIntAttr", f"{name} must be an integer") from None
    if not -(2**31) <= number < 2**31:
        raise SearchParamError("InvalidIntAttr", f"{name} must fit in 32 bits")
    return number


def _picture_bytes(params: dict) -> bytes:
    value = params.get("PicContent")
    if not value:
        raise SearchParamError("BadRequest", "PicContent (the base64 picture) is required")
    if not isinstance(value, str):
        raise SearchParamError("BadRequest", "PicContent must be a base64 string")
    return api.decode_base64_image(value, "PicContent", MAX_PIC_BYTES)


def _instance(team, params: dict) -> SearchInstance:
    name = params.get("InstanceName")
    if not isinstance(name, str) or not name.strip():
        raise SearchParamError("InvalidInstance", "InstanceName is required")
    instance = SearchInstance.objects.for_team(team).filter(name=name.strip()).first()
    if instance is None:
        # Another team's instance reads exactly like a missing one.
        raise SearchParamError("InvalidInstance", f"no instance named {name.strip()[:40]!r}")
    return instance


def _int_or_zero(value: int | None) -> int:
    return 0 if value is None else value


def _product_id(product: Product | None) -> str:
    if product is None:
        return ""
    return product.sku or str(product.pk)


def _find_product(team, product_id: str) -> Product | None:
    products = Product.objects.for_team(team)
    product = products.filter(sku=product_id).first()
    if product is None and product_id.isdigit():
        # Products made in the web studio without a SKU answer with their id (see `_product_id`).
        product = products.filter(pk=int(product_id), sku="").first()
    return product


# ---- actions ------------------------------------------------------------------------------------------------
def search_image_by_pic(request: HttpRequest, instance: SearchInstance, params: dict) -> dict:
    team = instance.team
    raw_filter = params.get("Filter")
    if raw_filter is not None and not isinstance(raw_filter, str):
        raise SearchParamError("InvalidFilterClause", "Filter must be a string")
    node = parse_filter(raw_filter) if raw_filter else None
    region = params.get("Region")
    if region is not None and not isinstance(region, str):
        raise SearchParamError("BadRequest", "Region must be a string 'x1,x2,y1,y2'")
    crop = _bool(params, "Crop", True)
    data = _picture_bytes(params)
    found = search_index.search_team(
        team,
        data,
        node=node,
        num=params.get("Num"),
        start=params.get("Start"),
        region=region or None,
        crop=crop,
        category_id=params.get("CategoryId"),
    )
    result = found.result
    auctions = []
    for hit, image in found.rows():
        product = image.product
        entry = getattr(image, "search_entry", None)
        auctions.append(
            {
                "ProductId": _product_id(product),
                "PicName": image.original_filename,
                "CategoryId": entry.aliyun_category if entry else result.category_id,
                "Score": round(hit.score, 4),
                "SortExprValues": f"{hit.similarity:.6f};{hit.inliers}",
                "CustomContent": product.custom_content if product else "",
                # The seed types both Integer: a product that never had one reads 0 (and filters alike).
                "IntAttr": _int_or_zero(product.int_attr if product else None),
                "IntAttr2": _int_or_zero(product.int_attr2 if product else None),
                "StrAttr": product.str_attr if product else "",
                "StrAttr2": product.str_attr2 if product else "",
            }
        )
    return {
        "Auctions": auctions,
        # The seed's table: DocsFound is "返回结果数目" (results returned, example 10) and DocsReturn
        # "实例中命中结果数目" (hits in the instance, example 10000); the names read the other way round.
        "Head": {
            "DocsFound": len(auctions),
            "DocsReturn": result.docs_found,
            "SearchTime": round(result.search_ms),
        },
        "PicInfo": {
            "CategoryId": result.category_id,
            "Region": result.region.to_region(),
            "AllCategories": ALL_CATEGORIES,
            "MultiRegion": [{"Region": box.to_region()} for box in result.multi_region],
        },
    }


def add_image(request: HttpRequest, instance: SearchInstance, params: dict) -> dict:
    team = instance.team
    product_id = _text(params, "ProductId", MAX_PRODUCT_ID, required=True)
    pic_name = _text(params, "PicName", MAX_PIC_NAME, required=True)
    category_id = validate_category(params.get("CategoryId"))
    attrs = {
        "int_attr": _int_attr(params, "IntAttr"),
        "int_attr2": _int_attr(params, "IntAttr2"),
        "str_attr": _text(params, "StrAttr", MAX_STR_ATTR),
        "str_attr2": _text(params, "StrAttr2", MAX_STR_ATTR),
        "custom_content": _text(params, "CustomContent", MAX_CUSTOM_CONTENT),
    }
    data = _picture_bytes(params)
    picture = decode_image(data)  # the seed's limits (4 MB, 100..4096 px, formats) before anything is stored
    message = "success"
    with transaction.atomic():
        product = _find_product(team, product_id)
        product_created = product is None
        if product is None:
            product = Product(team=team, sku=product_id, title=product_id)
            if category_id is not None:
                product.category = search_index.catalog_category_for(category_id)
        for name, value in attrs.items():
            if params.get(_API_NAMES[name]) not in (None, ""):
                setattr(product, name, value)
        product.save()
        try:
            image, created = ProductImage.objects.ingest(
                team=team, data=data, original_filename=pic_name, uploaded_by=None, product=product
            )
        except ImageDecodeError as error:
            code = "UnsupportedPicPixels" if error.code == "too_many_pixels" else "UnsupportedPicFormat"
            raise SearchParamError(code, error.message) from None
        if not created and image.product_id is None:
            ProductImage.objects.filter(pk=image.pk).update(product=product, original_filename=pic_name)
            image.product, image.original_filename = product, pic_name
        elif not created and image.product_id != product.pk:
            message = f"the same picture is already listed under ProductId {_product_id(image.product)}"
        if image.product_id == product.pk:
            # Same ProductId and PicName replaces the earlier picture, as in Alibaba Image Search.
            for old in product.images.filter(original_filename=pic_name).exclude(pk=image.pk):
                old.delete()
            if created:
                ProductImage.objects.filter(pk=image.pk).update(position=product.images.count())
    try:
        entry = search_index.index_image(image, picture, aliyun_category=category_id)
    except ModelMissingError as error:
        raise SearchParamError("AccessEngineFailed", str(error)) from None
    if entry is not None and product_created and category_id is None:
        # A product born from this call without a CategoryId takes the catalog category the model sees.
        Product.objects.filter(pk=product.pk).update(category=entry.predicted_category)
    if image.facts_at is None:
        Job.objects.create_for_images(team=team, kind=JobKind.IMAGE_FACTS, images=[image], created_by=None)
    body = {
        "PicInfo": {
            "CategoryId": entry.aliyun_category if entry else category_id,
            "Region": entry.region if entry else "",
        },
        "Data": {"ProductId": _product_id(product), "PicName": pic_name},
    }
    if message != "success":
        body["Data"]["Note"] = message
    return body


_API_NAMES = {
    "int_attr": "IntAttr",
    "int_attr2": "IntAttr2",
    "str_attr": "StrAttr",
    "str_attr2": "StrAttr2",
    "custom_content": "CustomContent",
}


def delete_image(request: HttpRequest, instance: SearchInstance, params: dict) -> dict:
    team = instance.team
    product_id = _text(params, "ProductId", MAX_PRODUCT_ID, required=True)
    pic_name = _text(params, "PicName", MAX_PIC_NAME)
    product = _find_product(team, product_id)
    deleted: list[str] = []
    if product is not None:
        with transaction.atomic():
            images = product.images.all()
            if pic_name:
                images = images.filter(original_filename=pic_name)
            for image in images:
                deleted.append(image.original_filename)
                image.delete()  # its search entry cascades and the deletion is logged for every process
            if not pic_name and product.created_by_id is None and product.title == product.sku:
                product.delete()  # a product that only ever existed through this API goes with its pictures
    return {"Data": {"ProductId": product_id, "PicNames": deleted}}


ACTIONS: dict[str, Callable[[HttpRequest, SearchInstance, dict], dict]] = {
    "SearchImageByPic": search_image_by_pic,
    "AddImage": add_image,
    "DeleteImage": delete_image,
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def image_search(request: HttpRequest) -> HttpResponse:
    request_id = new_request_id(request)
    try:
        token = api.authenticate(request)
        api.check_rate_limit(token.team)
        params = api.request_params(request)
        # The SDK's default signing sends the action only as a header.
        action = params.get("Action") or request.headers.get("x-acs-action")
        handler = ACTIONS.get(action) if isinstance(action, str) else None
        if handler is None:
            raise SearchParamError("UnsupportedOperationType", f"Action must be one of {', '.join(ACTIONS)}")
        instance = _instance(token.team, params)
        body = handler(request, instance, params)
    except ApiProblem as problem:
        return search_response(request_id, error=_from_problem(problem))
    except SearchParamError as error:
        return search_response(request_id, error=error)
    except ModelMissingError as error:
        logger.error("image search without its model: %s", error)
        return search_response(
            request_id, error=SearchParamError("AccessEngineFailed", "the image model is missing")
        )
    return search_response(request_id, body)


@csrf_exempt
def root(request: HttpRequest) -> HttpResponse:
    """`/`: the studio for a browser, the image-search API for the Alibaba Cloud SDK.

    The SDK always calls `/` (its endpoint setting is a host name), naming the action in `x-acs-action` or in
    `?Action=`. Any POST here is an API call: the studio never posts to `/`, and the API authenticates by
    token or signature only, never by session, so it needs no CSRF token.
    """
    names_action = "x-acs-action" in request.headers or api.query_has(request, "Action")
    if request.method in ("GET", "HEAD") and not names_action:
        return redirect("catalog:product_list")
    return image_search(request)
