"""Search by picture: the pure engine behind the Aliyun-compatible `SearchImageByPic` (no Django here).

One query, in the order `SearchEngine.search` (`engine.py`) runs it:

1. Request checks: paging and `CategoryId` (`engine.validate_paging`, `engine.validate_category`), the
   `Filter` text parsed into an AST (`filter.parse_filter`), the picture decoded within the seed's limits
   (`engine.decode_image`: 4 MB, 100..4096 px a side). Every rejection is a `SearchParamError`
   (`errors.py`), which carries the seed's error code and HTTP status.
2. Whole-picture embedding: one model run gives the vector, ImageNet probabilities and an activation map
   (the shared `processing/engines/embedding.py`).
3. Subject box: the caller's `Region` (`subject.parse_region`), or the main subject the detector finds
   (`subject.SaliencyDetector`, `subject.main_region`), or the whole picture when `crop=False`; the crop
   is embedded too. When the main box is most of the picture, up to `extra_views` other subject
   candidates are embedded as well.
4. Categories: the mean ImageNet probabilities of picture and crop predict the catalog category, and the
   Aliyun one unless the caller gave `CategoryId` (the shared `processing/engines/categories.py`).
5. Vector candidates, filtered during the lookup: each query vector is searched in the team's
   `VectorIndex` (`vectors.py`: exact numpy search, HNSW from `usearch` past a size), which holds two
   vectors per catalog image (whole picture and subject crop). The index skips keys the caller's
   predicate rejects: allowed ids (a database-side filter), the parsed filter over each image's
   attributes (`filter.evaluate`) and the requested category. Each image keeps its best similarity.
6. Local re-rank: the best `rerank_k` candidates are checked with ORB features and a RANSAC homography
   (`local.py`) against the features stored at indexing time; the score is a logistic of similarity and
   inlier count, and `SAME_PRODUCT_THRESHOLD` (0.5) separates "same product" from "similar product";
   below `SIMILAR_PRODUCT_THRESHOLD` (0.1) a hit is rarely even similar (the studio hides those).
7. Category vote: when the caller did not fix a category, confident matches' own categories
   (`categories.vote_category`) replace the predicted one. The requested page is returned as a
   `SearchResult`.

Indexing (`SearchEngine.extract_features`, then `add`) runs steps 2-4 once per catalog image and packs its
local features (`local.pack`) into `ImageFeatures`, whose bytes the Django layer stores
(catalog/search_index.py); `to_q` (`filter.py`) turns the same filter AST into a Django `Q` for the
caller's Q class, so nothing here imports Django.
"""

from processing.engines.search.engine import (
    MAX_PIC_BYTES,
    SAME_PRODUCT_THRESHOLD,
    SIMILAR_PRODUCT_THRESHOLD,
    ImageFeatures,
    SearchEngine,
    SearchHit,
    SearchResult,
    decode_image,
    validate_category,
)
from processing.engines.search.errors import ERROR_CODES, SearchParamError
from processing.engines.search.filter import And, Compare, InvalidFilterClause, Node, Or, parse_filter, to_q
from processing.engines.search.subject import Box
from processing.engines.search.vectors import VectorIndex

__all__ = [
    "ERROR_CODES",
    "MAX_PIC_BYTES",
    "SAME_PRODUCT_THRESHOLD",
    "SIMILAR_PRODUCT_THRESHOLD",
    "And",
    "Box",
    "Compare",
    "ImageFeatures",
    "InvalidFilterClause",
    "Node",
    "Or",
    "SearchEngine",
    "SearchHit",
    "SearchParamError",
    "SearchResult",
    "VectorIndex",
    "decode_image",
    "parse_filter",
    "to_q",
    "validate_category",
]
