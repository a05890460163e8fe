"""Errors of the search engine, carrying the Aliyun `SearchImageByPic` error codes so the API layer can
answer `{"Code": ..., "Msg": ...}` with the right HTTP status without a mapping table of its own."""

from __future__ import annotations

# code -> (HTTP status, message), from the seed's error table
ERROR_CODES: dict[str, tuple[int, str]] = {
    "BadRequest": (400, "The request has invalid parameters."),
    "InvalidCategory": (400, "The specified category is invalid."),
    "OverflowMaxResultNum": (400, "The specified number of total results exceeds the maximum of 500."),
    "OverflowMaxReturnNum": (
        400,
        "The specified number of results for each request exceeds the maximum of 100.",
    ),
    "InvalidNumParameter": (400, "The specified parameter num is invalid."),
    "InvalidIntAttr": (400, "The specified int_attr field is invalid."),
    "UnsupportedPicFormat": (400, "The specified image format is invalid."),
    "InvalidFilterClause": (400, "The specified filtering condition is invalid."),
    "InstanceOverQuota": (400, "The number of items exceeds the limit."),
    "IncorrectOrientation": (400, "The image contains incorrect rotation flags in the meta data."),
    "UnsupportedPicPixels": (400, "The specified pixels is not supported."),
    "UnknownException": (500, "An internal server error occurred."),
}


class SearchParamError(ValueError):
    """A request parameter the API must reject; `code` is the seed's error code."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.http_status, self.message = ERROR_CODES.get(code, (400, "The request has invalid parameters."))
        self.detail = detail
        super().__init__(f"{code}: {detail or self.message}")
