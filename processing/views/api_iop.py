"""The open-platform (IOP) gateway: `/rest/<API path>` serves the Aidge APIs to the clients that speak it.

Aidge's own client, the seed's `IopClient(url, appkey, appSecret)`, and PyPI's `lazop-sdk` call
`POST {url}/ai/image/cut/out` with `url` ending in `/rest`, and sign every call instead of sending a token:
`app_key` (a Vitrine access-key id), `timestamp` (milliseconds), `sign_method=sha256`, `partner_id` and
`sign`, the upper-case hex HMAC-SHA256 of the API path and every sorted parameter. Aidge's HTTP samples use
`sign_ver=v2` instead, whose sign covers only the timestamp (see processing/signing.py and the README).

A verified call runs the same view as the path without `/rest`, so parameters, answers and codes are the
same. A call without `sign` falls back to the team tokens those views accept. A refused signature answers
in the gateway's shape (`type`, `code`, `message`, `request_id`), which the IOP clients read, inside the
Aidge envelope (`success` false, `resCode` 401), which Aidge clients read.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import api
from ..api import ApiProblem, SignatureProblem
from . import api_cutout, api_erase, api_scenes

# The open platform's names for each refusal (IncompleteSignature is the platform's own word for a sign
# that does not verify; the others name the failing part).
IOP_CODES = {
    api.SIGNATURE_MISSING: "MissingParameter",
    api.SIGNATURE_MALFORMED: "IncompleteSignature",
    api.SIGNATURE_UNKNOWN_KEY: "InvalidAppKey",
    api.SIGNATURE_INACTIVE_KEY: "InvalidAppKey",
    api.SIGNATURE_MISMATCH: "IncompleteSignature",
    api.SIGNATURE_EXPIRED: "InvalidTimestamp",
    api.SIGNATURE_REPLAYED: "RepeatedRequest",
}


def gateway_response(request_id: str, code: str, message: str, *, status: int) -> JsonResponse:
    body = {
        # What IopClient and lazop-sdk read.
        "type": "ISV",
        "code": code,
        "message": message,
        "request_id": request_id,
        # What a client of the Aidge envelope reads.
        "data": {},
        "requestId": request_id,
        "success": False,
        "resCode": status,
        "resMessage": f"{code}: {message}",
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def gateway(
    api_path: str, view: Callable[[HttpRequest], HttpResponse]
) -> Callable[[HttpRequest], HttpResponse]:
    """`/rest{api_path}`: verify the open platform's sign, then answer exactly as `view` does."""

    @csrf_exempt
    def signed_view(request: HttpRequest) -> HttpResponse:
        request_id = api.new_request_id(request)
        try:
            if api.carries_iop_sign(request):
                request.api_token = api.verify_iop_signature(request, api_path)
        except SignatureProblem as problem:
            return gateway_response(request_id, IOP_CODES[problem.reason], problem.message, status=401)
        except ApiProblem as problem:  # an unreadable request: the view's own envelope and code
            return api.aidge_response(request_id, problem=problem)
        return view(request)

    signed_view.__name__ = f"iop_{view.__name__}"
    signed_view.__doc__ = f"`/rest{api_path}`, signed by the open platform's rules; see `{view.__name__}`."
    return signed_view


cut_out = gateway("/ai/image/cut/out", api_cutout.cut_out)
removal = gateway("/ai/image/removal", api_erase.removal)
scene_query = gateway("/ai/image/background/generation/scene/query", api_scenes.scene_query)
scene_generate = gateway("/ai/image/background/generation", api_scenes.scene_generate)


@csrf_exempt
def unknown_api(request: HttpRequest, api_name: str) -> HttpResponse:
    """Any other path under `/rest`: the gateway's answer, never an HTML page."""
    return gateway_response(
        api.new_request_id(request),
        "InvalidApiPath",
        f"/{api_name[:100]} is not an API of this gateway.",
        status=404,
    )
