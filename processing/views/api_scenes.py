"""Scenes over HTTP in the Aidge envelope (seeds/aidge-scene-query.txt).

- `GET/POST /ai/image/background/generation/scene/query`: recommended or filtered scenes. `data` is the
  list of scenes (modelNum, coverUrl, name, categoryNameList, sceneNameList, plus our score and reasons).
- `POST /ai/image/background/generation`: our extension in the same envelope: a product photo onto a
  scene, synchronously, recorded as a one-item `scene_render` job like the sync cut-out API.

Team scenes are visible to their own team's tokens only; another team's modelNum is simply unknown.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import api, scene_library
from ..api import ApiProblem
from ..kinds import scenes as scene_kind
from ..models import JobKind, Scene
from .scenes import signed_cover_path

QUERY_MIN_SIDE, QUERY_MAX_SIDE = 100, 4096
GEN_MIN_SIDE, GEN_MAX_SIDE = 100, 4096
OUT_MIN_SIDE, OUT_MAX_SIDE = 64, scene_library.MAX_OUTPUT_SIDE
TITLE_MAX_CHARS = 512


def _envelope(request_id: str, data=None, problem: ApiProblem | None = None) -> JsonResponse:
    response = api.aidge_response(request_id, data=data, problem=problem)
    if problem is None and isinstance(data, list) and not data:
        # The shared envelope turns an empty `data` into {}; this endpoint's data is a list.
        body = json.loads(response.content)
        body["data"] = []
        response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    return response


def _lang(params: dict) -> str:
    return "zh" if str(params.get("language") or params.get("lang") or "").lower().startswith("zh") else "en"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def scene_query(request: HttpRequest) -> HttpResponse:
    request_id = api.new_request_id(request)
    try:
        token = api.authenticate(request)
        api.check_rate_limit(token.team)
        params = api.request_params(request)
        category_type = api.int_param(params, "categoryType", 1, len(scene_library.CATEGORIES))
        scene_type = api.int_param(params, "sceneType", 1, len(scene_library.SCENE_TYPES))
        count = api.int_param(params, "count", 1, 100)
        title = params.get("productTitle") or ""
        if not isinstance(title, str):
            raise ApiProblem(api.INVALID_INPUT, "productTitle must be a string.", "productTitle")
        if len(title) > TITLE_MAX_CHARS:
            raise ApiProblem(
                api.INVALID_INPUT,
                f"productTitle is longer than {TITLE_MAX_CHARS} characters.",
                "productTitle",
            )
        signals: dict = {}
        if params.get("imageBase64") or params.get("imageUrl"):
            decoded = api.load_image_input(
                base64_value=params.get("imageBase64"),
                url_value=params.get("imageUrl"),
                base64_field="imageBase64",
                url_field="imageUrl",
                min_side=QUERY_MIN_SIDE,
                max_side=QUERY_MAX_SIDE,
            )
            signals = scene_library.image_signals(decoded.image)
        try:
            choices = scene_library.recommend_scenes(
                token.team,
                title=title,
                category_probs=signals.get("probs"),
                palette=signals.get("palette"),
                category_type=category_type,
                scene_type=scene_type,
                count=count,
            )
        except ValueError as error:  # the engine's own validation; the fields were checked above
            raise ApiProblem(api.INVALID_INPUT, str(error)) from None
    except ApiProblem as problem:
        return _envelope(request_id, problem=problem)
    lang = _lang(params)
    data = [c.to_api(request.build_absolute_uri(signed_cover_path(c.scene)), lang) for c in choices]
    return _envelope(request_id, data=data)


def _placement(params: dict):
    raw = params.get("placement")
    if raw in (None, ""):
        raw = {k: params.get(f"placement{k.title()}") for k in ("x", "y", "scale")}
    elif isinstance(raw, str):
        raw = api.parse_json(raw, "placement")
    if not isinstance(raw, dict):
        raise ApiProblem(api.INVALID_INPUT, "placement must be an object with x, y and scale.", "placement")
    try:
        return scene_kind.parse_placement(raw)
    except ValueError as error:
        raise ApiProblem(api.INVALID_INPUT, f"placement.{error}", "placement") from None


@csrf_exempt
@require_http_methods(["POST"])
def scene_generate(request: HttpRequest) -> HttpResponse:
    request_id = api.new_request_id(request)
    try:
        token = api.authenticate(request)
        api.check_rate_limit(token.team)
        params = api.request_params(request)
        model_num = str(params.get("modelNum") or "").strip()
        if not model_num:
            raise ApiProblem(api.MISSING_INPUT, "modelNum is required.", "modelNum")
        scene = Scene.objects.visible_to(token.team).filter(model_num=model_num[:32]).first()
        if scene is None:
            raise ApiProblem(api.INVALID_INPUT, "modelNum is not a known scene.", "modelNum")
        width = api.int_param(params, "targetWidth", OUT_MIN_SIDE, OUT_MAX_SIDE) or 1024
        height = api.int_param(params, "targetHeight", OUT_MIN_SIDE, OUT_MAX_SIDE) or width
        category = api.int_param(params, "categoryType", 1, len(scene_library.CATEGORIES))
        placement = _placement(params)
        decoded = api.load_image_input(
            base64_value=params.get("imageBase64"),
            url_value=params.get("imageUrl"),
            base64_field="imageBase64",
            url_field="imageUrl",
            min_side=GEN_MIN_SIDE,
            max_side=GEN_MAX_SIDE,
        )
        if category is None:
            _probs, category = scene_library.image_category_probs(decoded.image)
            category = category or (scene.categories[0] if scene.categories else 1)
        job_params = {
            "size": [width, height],
            "placement": {"x": placement.x, "y": placement.y, "scale": placement.scale} if placement else {},
        }
        result = api.run_sync_job(
            team=token.team,
            kind=JobKind.SCENE_RENDER,
            source_name=api.input_source(params, "imageBase64", "imageUrl"),
            job_params=job_params,
            item_params={"scene": scene.model_num, "category": category},
            request_id=request_id,
            compute=lambda: scene_kind.render_outcome(
                scene_library.cut_out(decoded.image),
                scene,
                category=category,
                size=(width, height),
                placement=placement,
            ),
        )
    except ApiProblem as problem:
        return api.aidge_response(request_id, problem=problem)
    data = {**api.result_image_data(request, result), "modelNum": scene.model_num}
    return api.aidge_response(request_id, data=data)
