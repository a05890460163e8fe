"""Background removal over HTTP, in the two dialects existing clients speak.

- `GET/POST /ai/image/cut/out`: Aidge's synchronous API (seeds/aidge-background-removal.txt).
  Business errors come back with HTTP 200 and the error in `resCode`, as the hosted gateway does;
  only a missing or bad token answers HTTP 401.
- `POST /api/v1/bg-remove/submit` and `/query`: Aliyun's asynchronous API
  (seeds/aliyun-async-bg-remove-zh.txt), with its HTTP statuses and 235000xx codes.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from catalog.views import serve_stored_file

from .. import api
from ..api import ApiProblem
from ..kinds.cutout import cutout_outcome
from ..models import ApiNonce, Job, JobItem, JobKind, Result, Status

logger = logging.getLogger(__name__)

SYNC_MIN_SIDE, SYNC_MAX_SIDE = 100, 3000
ASYNC_MIN_SIDE, ASYNC_MAX_SIDE = 400, 4096
ASYNC_MAX_TASKS = 10
BACKGROUND_TYPES = {"WHITE_BACKGROUND": "white", "TRANSPARENT": "transparent"}
MODEL_TYPES = ("general", "human")


# --- Aidge: synchronous ---------------------------------------------------------------------------
@csrf_exempt
@require_http_methods(["GET", "POST"])
def cut_out(request: HttpRequest) -> HttpResponse:
    request_id = api.new_request_id(request)
    try:
        token = api.authenticate(request)
        api.check_rate_limit(token.team)
        params = api.request_params(request)
        job_params = _sync_job_params(params)
        decoded = api.load_image_input(
            base64_value=params.get("imageBase64"),
            url_value=params.get("imageUrl"),
            base64_field="imageBase64",
            url_field="imageUrl",
            min_side=SYNC_MIN_SIDE,
            max_side=SYNC_MAX_SIDE,
        )
        _keep_unset_side(job_params, decoded.width, decoded.height)
        result = api.run_sync_job(
            team=token.team,
            kind=JobKind.CUTOUT,
            source_name=api.input_source(params, "imageBase64", "imageUrl"),
            job_params=job_params,
            item_params={},
            request_id=request_id,
            compute=lambda: cutout_outcome(decoded.image, job_params),
        )
    except ApiProblem as problem:
        return api.aidge_response(request_id, problem=problem)
    return api.aidge_response(
        request_id, data={**api.result_image_data(request, result), "score": result.score}
    )


def _sync_job_params(params: dict) -> dict:
    background = api.string_param(params.get("backGroundType"), "backGroundType")
    if not background:
        raise ApiProblem(api.MISSING_INPUT, "backGroundType is required.", "backGroundType")
    if background not in BACKGROUND_TYPES:
        raise ApiProblem(
            api.INVALID_INPUT, "backGroundType must be WHITE_BACKGROUND or TRANSPARENT.", "backGroundType"
        )
    return {
        "background": BACKGROUND_TYPES[background],
        "model_type": "general",
        "target_width": api.int_param(params, "targetWidth", SYNC_MIN_SIDE, SYNC_MAX_SIDE),
        "target_height": api.int_param(params, "targetHeight", SYNC_MIN_SIDE, SYNC_MAX_SIDE),
        "margin": 0.05,
    }


def _keep_unset_side(job_params: dict, width: int, height: int) -> None:
    """One target side given: the seed says the other "will output original height" (or width), so the
    output keeps the photo's own size on that side; the subject is fitted and centred as with both."""
    if (job_params["target_width"] is None) == (job_params["target_height"] is None):
        return
    job_params["target_width"] = job_params["target_width"] or width
    job_params["target_height"] = job_params["target_height"] or height


# --- Aliyun: asynchronous submit and query --------------------------------------------------------
ALIYUN_CODES = {
    api.INTERNAL: (500, "23500000", "Internal server error"),
    api.UNAUTHORIZED: (401, "23500001", "Authorization required to perform current operation"),
    api.FORBIDDEN: (401, "23500001", "Authorization required to perform current operation"),
    api.RATE_LIMITED: (403, "23500004", "Request was denied due to request throttling"),
    api.BAD_URL: (400, "23500006", "The image url provided is invalid or non-accessible"),
    api.BAD_IMAGE: (400, "23500007", "The uploaded image does not meet the requirements"),
    api.BAD_IMAGE_SIZE: (400, "23500007", "The uploaded image does not meet the requirements"),
    api.BAD_FORMAT: (400, "23500007", "The uploaded image does not meet the requirements"),
    api.TOO_LARGE: (400, "23500007", "The uploaded image does not meet the requirements"),
    api.NOT_FOUND: (400, "23500008", "No records found related to the specified resultKey parameter"),
    api.MISSING_INPUT: (400, "23500009", "Required parameters cannot be empty"),
    "body_missing": (400, "23500012", "Required request body is missing"),
    api.INVALID_INPUT: (400, "23500013", "Illegal input parameter found"),
    api.REPLAYED: (400, "23500013", "Illegal input parameter found"),
    "bad_service": (400, "23500014", "Illegal service name"),
    # 23500002 is the seed's "the system does not support the current operation": an unknown path,
    # or a method the path does not take (then with HTTP 405 and an Allow header).
    api.UNKNOWN_PATH: (404, "23500002", "Specified service does not exist"),
    api.METHOD_NOT_ALLOWED: (405, "23500002", "Specified service does not exist"),
}


def aliyun_response(
    request_id: str, *, data: dict | None = None, problem: ApiProblem | None = None
) -> JsonResponse:
    if problem is None:
        status, code, message = 200, 0, "success"
    else:
        status, code, label = ALIYUN_CODES.get(problem.kind, ALIYUN_CODES[api.INTERNAL])
        message = f"{label}: {problem.message}"
    body = {
        "code": code,
        "data": data or {},
        "message": message,
        "requestId": request_id,
        "severity": "info" if problem is None else "error",
        "success": problem is None,
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def aliyun_problem_response(request_id: str, problem: ApiProblem) -> JsonResponse:
    return aliyun_response(request_id, problem=problem)


def _aliyun_guard(request: HttpRequest) -> tuple:
    """Token, throttle and nonce, then the JSON body's `data` object."""
    token = api.authenticate(request)
    api.check_rate_limit(token.team)
    nonce = request.headers.get("X-Ca-Nonce", "").strip()
    if not nonce:
        raise ApiProblem(api.MISSING_INPUT, "The X-Ca-Nonce header is required.", "X-Ca-Nonce")
    if len(nonce) > 128:
        raise ApiProblem(api.INVALID_INPUT, "X-Ca-Nonce is longer than 128 characters.", "X-Ca-Nonce")
    if not nonce.isprintable():
        raise ApiProblem(api.INVALID_INPUT, "X-Ca-Nonce holds control characters.", "X-Ca-Nonce")
    if not ApiNonce.objects.claim(token.team, nonce):
        raise ApiProblem(api.REPLAYED, "X-Ca-Nonce was already used; send a new one with every request.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiProblem(api.INVALID_INPUT, "The request body is too large.") from None
    if not raw:
        raise ApiProblem("body_missing", "The request body is empty.")
    body = api.parse_json(raw)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiProblem(api.MISSING_INPUT, "The body needs a `data` object.", "data")
    return token, data


@csrf_exempt
@require_http_methods(["POST"])
def bg_remove_submit(request: HttpRequest) -> HttpResponse:
    request_id = api.new_request_id(request)
    try:
        token, data = _aliyun_guard(request)
        tasks = data.get("task_list")
        if not tasks:
            raise ApiProblem(api.MISSING_INPUT, "data.task_list is required.", "data.task_list")
        if not isinstance(tasks, list) or len(tasks) > ASYNC_MAX_TASKS:
            raise ApiProblem(
                api.INVALID_INPUT,
                f"data.task_list must be a list of 1 to {ASYNC_MAX_TASKS} tasks.",
                "task_list",
            )
        items = [_async_item(index, task) for index, task in enumerate(tasks)]
        job = Job.objects.create_with_items(
            team=token.team,
            kind=JobKind.CUTOUT,
            items=items,
            params={
                "background": "transparent",
                "source": "api",
                "request_id": request_id,
                "input_limits": {"min_side": ASYNC_MIN_SIDE, "max_side": ASYNC_MAX_SIDE},
            },
        )
    except ApiProblem as problem:
        return aliyun_response(request_id, problem=problem)
    return aliyun_response(request_id, data=_job_payload(request, job))


def _async_item(index: int, task: object) -> JobItem:
    field = f"data.task_list[{index}]"
    if not isinstance(task, dict):
        raise ApiProblem(api.INVALID_INPUT, f"{field} must be an object.", field)
    url = task.get("image")
    if not url or not isinstance(url, str):
        raise ApiProblem(api.MISSING_INPUT, f"{field}.image is required.", f"{field}.image")
    model_type = task.get("model_type") or "general"
    if model_type not in MODEL_TYPES:
        raise ApiProblem(
            "bad_service", f"{field}.model_type must be general or human.", f"{field}.model_type"
        )
    api.check_url(url, f"{field}.image")
    return JobItem(source_name=url[:255], params={"url": url, "model_type": model_type})


@csrf_exempt
@require_http_methods(["POST"])
def bg_remove_query(request: HttpRequest) -> HttpResponse:
    request_id = api.new_request_id(request)
    try:
        token, data = _aliyun_guard(request)
        result_key = data.get("result_key")
        if not result_key:
            raise ApiProblem(api.MISSING_INPUT, "data.result_key is required.", "data.result_key")
        job = Job.objects.for_team(token.team).filter(result_key=str(result_key), kind=JobKind.CUTOUT).first()
        if job is None:
            raise ApiProblem(api.NOT_FOUND, f"No task batch with result_key {str(result_key)[:64]!r}.")
    except ApiProblem as problem:
        return aliyun_response(request_id, problem=problem)
    return aliyun_response(request_id, data=_job_payload(request, job))


ALIYUN_TASK_STATUS = {
    Status.WAITING: "WAITING",
    Status.RUNNING: "RUNNING",
    Status.SUCCESS: "SUCCESS",
    Status.FAILED: "FAILED",
    Status.CANCELLED: "FAILED",
}


def _job_payload(request: HttpRequest, job: Job) -> dict:
    task_list = []
    for item in job.items.select_related("result").order_by("position"):
        result = getattr(item, "result", None)
        task = {
            "image": item.params.get("url", item.source_name),
            "model_type": item.params.get("model_type", "general"),
            "status": ALIYUN_TASK_STATUS[item.status],
            "results": [],
        }
        if item.status == Status.SUCCESS and result is not None and result.file:
            task["results"] = [api.signed_result_url(request, result.pk)]
        if item.error_message:
            task["message"] = item.error_message
        task_list.append(task)
    return {"result_key": job.result_key, "task_list": task_list}


# --- signed result files --------------------------------------------------------------------------
@require_GET
def signed_result(request: HttpRequest, token: str) -> HttpResponse:
    """API result URLs: anyone holding the signed link may fetch it until it expires."""
    try:
        result_id = api.unsign_result_token(token)
    except (BadSignature, ValueError):
        return _link_not_found(request, "This link is invalid or has expired.")
    result = Result.objects.filter(pk=result_id).select_related("item").first()
    if result is None or not result.file:
        return _link_not_found(request, "This result no longer exists.")
    response = serve_stored_file(
        request, result.file, result.content_type or "image/png", f"result-{result.pk}.png"
    )
    response["Cache-Control"] = f"private, max-age={settings.SIGNED_URL_MAX_AGE}"
    return response


def _link_not_found(request: HttpRequest, message: str) -> HttpResponse:
    # The links are fetched by API clients, so the answer is JSON like the rest of the API.
    return api.plain_problem_response(api.new_request_id(request), ApiProblem(api.NOT_FOUND, message))
