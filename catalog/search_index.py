"""Search by picture over a team's catalog: indexing images, and per-team engines kept in sync with the DB.

The database is the source of truth: `ImageSearchEntry` rows hold every image's vectors and local
features, and each change bumps the team's `SearchIndexState.version` in the same transaction (deletions
also leave a `SearchDeletion` row). Every process (web, worker, command) keeps a small LRU of
`SearchEngine`s keyed by team, each tagged with the version it reflects; before a query the process reads
the team's version (one indexed lookup) and, when it moved, applies only the entries written and the
images deleted since. Above the approximate threshold the index is also saved to
`SEARCH_INDEX_DIR/team-<id>/v<version>.index`, so a restarted process loads the graph and replays the
changes since instead of rebuilding it. Deletion rows are pruned after a retention period
(`SearchDeletion.objects.prune`), which raises the team's `deletions_pruned_through`: an engine or a saved
file below that mark cannot replay the deletions it misses, so it is rebuilt from the entries instead.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from PIL import Image

from processing.engines.embedding import DEFAULT_MODEL_NAME, EMBEDDING_DIM
from processing.engines.search import (
    And,
    Box,
    Compare,
    ImageFeatures,
    Node,
    Or,
    SearchEngine,
    SearchResult,
    VectorIndex,
    parse_filter,
    to_q,
)

from .models import (
    Category,
    ImageSearchEntry,
    ProductImage,
    SearchDeletion,
    SearchIndexState,
    Team,
)

logger = logging.getLogger(__name__)

# Entries written by another model (or another vector recipe) are not comparable: `reindex_search` redoes them.
MODEL_VERSION = f"{DEFAULT_MODEL_NAME}/{EMBEDDING_DIM}/orb"
# Filter fields of the seed's grammar -> the product's columns. The integer ones go through an
# annotation that reads an unset value as 0: the seed types IntAttr and IntAttr2 Integer, the API answers
# 0 for a product that never had one, and a filter must agree with what the answer shows.
FILTER_FIELDS = {
    "int_attr": "search_int_attr",
    "int_attr2": "search_int_attr2",
    "str_attr": "product__str_attr",
    "str_attr2": "product__str_attr2",
}
_INT_ATTR_DEFAULTS = {
    "search_int_attr": Coalesce("product__int_attr", Value(0)),
    "search_int_attr2": Coalesce("product__int_attr2", Value(0)),
}
_BUILD_CHUNK = 2000


# ---- vectors ------------------------------------------------------------------------------------------------
def pack_vectors(features: ImageFeatures) -> bytes:
    return np.stack([features.vector, features.region_vector]).astype(np.float32).tobytes()


def unpack_vectors(blob: bytes | memoryview) -> tuple[np.ndarray, np.ndarray]:
    arr = np.frombuffer(bytes(blob), np.float32).reshape(2, EMBEDDING_DIM)
    return arr[0], arr[1]


def _stub_features(blob: bytes | memoryview) -> ImageFeatures:
    # `SearchEngine.add_many` only reads the two vectors; the rest lives in the entry row.
    whole, region = unpack_vectors(blob)
    return ImageFeatures(
        vector=whole,
        region_vector=region,
        local=b"",
        region=Box(0, 0, 0, 0),
        regions=(),
        probs=np.zeros(0, np.float32),
        aliyun_category=0,
        catalog_category=0,
    )


# ---- indexing ---------------------------------------------------------------------------------------------------
_extractor: SearchEngine | None = None
_extractor_lock = threading.Lock()


def feature_extractor() -> SearchEngine:
    """An engine with an empty index, used only for `extract_features` (the model session is shared)."""
    global _extractor
    with _extractor_lock:
        if _extractor is None:
            _extractor = SearchEngine(index=VectorIndex(EMBEDDING_DIM, approx_threshold=None))
        return _extractor


def load_picture(image: ProductImage) -> Image.Image:
    from processing.engines.imageio import decode_image

    decoded = decode_image(
        image.read_bytes(),
        min_side=settings.MIN_IMAGE_SIDE,
        max_side=settings.MAX_IMAGE_SIDE,
        max_pixels=settings.MAX_IMAGE_PIXELS,
    )
    return decoded.image


def needs_indexing(image: ProductImage) -> bool:
    return not ImageSearchEntry.objects.filter(image_id=image.pk, model_version=MODEL_VERSION).exists()


def index_image(
    image: ProductImage, picture: Image.Image | None = None, *, aliyun_category: int | None = None
) -> ImageSearchEntry | None:
    """Embed one catalog image and store its entry; None when the image was deleted meanwhile.

    Raises `ModelMissingError` without the model, and `ImageDecodeError` for an unreadable file."""
    picture = picture if picture is not None else load_picture(image)
    features = feature_extractor().extract_features(picture)
    with transaction.atomic():
        # Lock order: the team's version row, the image, then the entry; deleting an entry takes the version
        # row first too (its pre_delete handler), so indexing and deleting queue up instead of deadlocking.
        version = SearchIndexState.bump(image.team_id)
        if not ProductImage.objects.select_for_update().filter(pk=image.pk).exists():
            return None  # deleted meanwhile (the version bump alone changes nothing)
        if aliyun_category is None:
            # Same model, same prediction: an existing category can only differ because AddImage set it.
            aliyun_category = (
                ImageSearchEntry.objects.filter(image_id=image.pk, model_version=MODEL_VERSION)
                .values_list("aliyun_category", flat=True)
                .first()
            )
        entry, _created = ImageSearchEntry.objects.update_or_create(
            image_id=image.pk,
            defaults={
                "team_id": image.team_id,
                "vectors": pack_vectors(features),
                "local_features": features.local,
                "aliyun_category": features.aliyun_category if aliyun_category is None else aliyun_category,
                "predicted_category": features.catalog_category,
                "region": features.region.to_region(),
                "model_version": MODEL_VERSION,
                "version": version,
            },
        )
    return entry


def set_aliyun_category(image: ProductImage, category_id: int) -> None:
    """Record the CategoryId an API client gave for an image (it overrides the prediction)."""
    with transaction.atomic():
        version = SearchIndexState.bump(image.team_id)
        ImageSearchEntry.objects.filter(image_id=image.pk).update(
            aliyun_category=category_id, version=version
        )


# ---- per-team engines -----------------------------------------------------------------------------------------
@dataclass
class _TeamIndex:
    team_id: int
    engine: SearchEngine | None = None
    version: int = -1
    saved_version: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)


_engines: OrderedDict[int, _TeamIndex] = OrderedDict()
_engines_lock = threading.Lock()


def _local_features_reader(team_id: int) -> Callable[[int], bytes | None]:
    def read(image_id: int) -> bytes | None:
        blob = (
            ImageSearchEntry.objects.filter(team_id=team_id, image_id=image_id)
            .values_list("local_features", flat=True)
            .first()
        )
        return bytes(blob) if blob is not None else None

    return read


def _new_engine(team_id: int, index: VectorIndex | None = None) -> SearchEngine:
    index = index if index is not None else VectorIndex(EMBEDDING_DIM, settings.SEARCH_APPROXIMATE_THRESHOLD)
    return SearchEngine(index=index, local_features=_local_features_reader(team_id))


def _index_dir(team_id: int) -> Path:
    return Path(settings.SEARCH_INDEX_DIR) / f"team-{int(team_id)}"


def _saved_files(team_id: int) -> list[tuple[int, Path]]:
    directory = _index_dir(team_id)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob("v*.index"):
        try:
            found.append((int(path.stem[1:]), path))
        except ValueError:
            continue
    return sorted(found)


def _entries(team_id: int) -> Any:
    return ImageSearchEntry.objects.filter(team_id=team_id, model_version=MODEL_VERSION)


def _load(state: _TeamIndex, current: int, pruned_through: int = 0) -> None:
    """A saved index file not newer than the DB nor older than the pruned deletions, else a rebuild."""
    for version, path in reversed(_saved_files(state.team_id)):
        if version > current:
            continue  # written against a database that has since been reset; ignore it
        if version < pruned_through:
            break  # deletions it would need to replay were pruned (files are sorted: the rest are older)
        try:
            index = VectorIndex.load(path, approx_threshold=settings.SEARCH_APPROXIMATE_THRESHOLD)
        except (OSError, ValueError) as error:
            logger.warning("search index %s unreadable (%s); rebuilding", path, error)
            break
        state.engine = _new_engine(state.team_id, index)
        state.version = state.saved_version = version
        return
    _rebuild(state, current)


def _rebuild(state: _TeamIndex, current: int) -> None:
    """A new engine from the team's entries, tagged with `current` (read before the entries)."""
    engine = _new_engine(state.team_id)
    batch: dict[int, ImageFeatures] = {}
    for image_id, blob in _entries(state.team_id).values_list("image_id", "vectors").iterator(_BUILD_CHUNK):
        batch[image_id] = _stub_features(blob)
        if len(batch) >= _BUILD_CHUNK:
            engine.add_many(batch, keep_local=False)
            batch = {}
    if batch:
        engine.add_many(batch, keep_local=False)
    state.engine = engine
    state.version = current


def _apply_changes(state: _TeamIndex, current: int) -> int | None:
    """Bring the engine from `state.version` to (at least) `current`; returns how many changes applied, or
    None (engine untouched) when deletions it needs were pruned meanwhile and it must be rebuilt."""
    engine = state.engine
    assert engine is not None
    removed = list(
        SearchDeletion.objects.filter(team_id=state.team_id, version__gt=state.version).values_list(
            "image_id", flat=True
        )
    )
    # A pruning committed after the caller read the mark but before the query above took away rows this
    # engine needs; pruning deletes the rows and raises the mark together, so reading the mark after the
    # rows tells. (Only when something changed: the fast path stays one query.)
    if state.version < SearchIndexState.pruned_through(state.team_id):
        return None
    if removed:
        engine.remove(removed)
    changed = 0
    for image_id, blob in (
        _entries(state.team_id)
        .filter(version__gt=state.version)
        .values_list("image_id", "vectors")
        .iterator()
    ):
        engine.add_vectors(image_id, np.frombuffer(bytes(blob), np.float32).astype(np.float16).tobytes())
        changed += 1
    state.version = current
    return changed + len(removed)


def _maybe_save(state: _TeamIndex, force: bool = False) -> None:
    engine = state.engine
    if engine is None or not engine.index.approximate or state.version == state.saved_version:
        return
    if (
        not force
        and state.saved_version >= 0
        and state.version - state.saved_version < settings.SEARCH_INDEX_SAVE_EVERY
    ):
        return
    directory = _index_dir(state.team_id)
    path = directory / f"v{state.version}.index"
    try:
        engine.index.save(path)
    except OSError as error:
        logger.warning("could not save the search index of team %s: %s", state.team_id, error)
        return
    state.saved_version = state.version
    # One file is enough; the version is in the name, so a reader never pairs a file with a wrong version.
    for version, old in _saved_files(state.team_id):
        if version < state.version:
            old.unlink(missing_ok=True)


def engine_for_team(team: Team | int, *, save: bool = True) -> SearchEngine:
    """The team's engine, synced with the database (one query when nothing changed)."""
    team_id = team if isinstance(team, int) else team.pk
    current, pruned_through = SearchIndexState.current_and_pruned(team_id)
    with _engines_lock:
        state = _engines.get(team_id)
        if state is None:
            state = _engines[team_id] = _TeamIndex(team_id)
        _engines.move_to_end(team_id)
        while len(_engines) > settings.SEARCH_ENGINE_CACHE_TEAMS:
            _engines.popitem(last=False)
    with state.lock:
        # A version going backwards means the database was restored: nothing cached can be trusted. An
        # engine below the pruning mark misses deletions whose rows are gone: it cannot be brought up to date.
        if state.engine is None or current < state.version or state.version < pruned_through:
            state.engine, state.version, state.saved_version = None, -1, -1
            _load(state, current, pruned_through)
        if state.version < current and _apply_changes(state, current) is None:
            state.engine, state.version, state.saved_version = None, -1, -1
            _rebuild(state, current)
        if save:
            _maybe_save(state, force=state.saved_version < 0)
        return state.engine  # type: ignore[return-value]


def forget_engines() -> None:
    """Drop every cached engine (tests, and `reindex_search` before a full rebuild)."""
    with _engines_lock:
        _engines.clear()


def save_engine(team: Team) -> Path | None:
    """Write the team's index file now if it is approximate; returns its path."""
    engine_for_team(team, save=False)
    state = _engines[team.pk]
    with state.lock:
        _maybe_save(state, force=True)
    files = _saved_files(team.pk)
    return files[-1][1] if files and state.engine is not None and state.engine.index.approximate else None


# ---- queries --------------------------------------------------------------------------------------------------
def catalog_filter(
    text: str | None = None,
    *,
    int_min: int | None = None,
    int_max: int | None = None,
    str_value: str | None = None,
    str2_value: str | None = None,
) -> Node | None:
    """The engine filter for a Filter text plus the web sidebar's fields (built as a tree, never as text;
    the sidebar's catalog category is not part of the seed's grammar and goes to `search_team` apart)."""
    parts: list[Node] = []
    parsed = parse_filter(text) if text else None
    if parsed is not None:
        parts.append(parsed)
    if int_min is not None:
        parts.append(Compare("int_attr", ">=", int(int_min)))
    if int_max is not None:
        parts.append(Compare("int_attr", "<=", int(int_max)))
    if str_value:
        parts.append(Compare("str_attr", "=", str(str_value)))
    if str2_value:
        parts.append(Compare("str_attr2", "=", str(str2_value)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def filter_text(node: Node | None) -> str:
    """The node in the seed's Filter syntax (shown to merchants so they can reuse it in the API)."""
    if node is None:
        return ""
    if isinstance(node, And):
        return " AND ".join(filter_text(n) for n in node.items)
    if isinstance(node, Or):
        return " OR ".join(filter_text(n) for n in node.items)
    if isinstance(node.value, str):
        escaped = node.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{node.field} {node.op} "{escaped}"'
    return f"{node.field} {node.op} {node.value}"


def allowed_image_ids(team: Team, node: Node | None, catalog_category: int | None = None) -> set[int]:
    """Ids of the team's product images that pass the filter, in one parameterised query (`to_q`)."""
    images = ProductImage.objects.for_team(team).filter(product__isnull=False)
    if node is not None:
        images = images.annotate(**_INT_ATTR_DEFAULTS).filter(to_q(node, Q, FILTER_FIELDS))
    if catalog_category is not None:
        images = images.filter(product__category=catalog_category)
    return set(images.values_list("pk", flat=True))


def _categories_for(team: Team, prefetch: bool) -> Callable[[int], int | None]:
    entries = ImageSearchEntry.objects.for_team(team)
    if prefetch:
        table = dict(entries.values_list("image_id", "aliyun_category"))
        return table.get
    return lambda image_id: (
        entries.filter(image_id=image_id).values_list("aliyun_category", flat=True).first()
    )


class _AllBut:
    """`allowed_ids` for "Find similar": every image but the query's own, without listing the team."""

    def __init__(self, excluded: int) -> None:
        self.excluded = excluded

    def __contains__(self, item: object) -> bool:
        return item != self.excluded


@dataclass
class TeamSearch:
    result: SearchResult
    images: dict[int, ProductImage]  # hit image id -> image (with product and search entry)

    def rows(self) -> list[tuple[Any, ProductImage]]:
        return [(hit, self.images[hit.image_id]) for hit in self.result.hits if hit.image_id in self.images]


def search_team(
    team: Team,
    picture: Image.Image | bytes,
    *,
    node: Node | None = None,
    num: Any = None,
    start: Any = None,
    region: str | None = None,
    crop: bool = True,
    category_id: Any = None,
    catalog_category: int | None = None,
    exclude_image: int | None = None,
) -> TeamSearch:
    """Run a query against the team's own engine only; hits come back with their catalog rows."""
    engine = engine_for_team(team)
    has_category = category_id not in (None, "")
    allowed: Container[int] | None = None
    if node is not None or catalog_category is not None:
        allowed = allowed_image_ids(team, node, catalog_category) - {exclude_image}
    elif exclude_image is not None:
        allowed = _AllBut(exclude_image)
    result = engine.search(
        picture,
        num=num,
        start=start,
        region=region or None,
        crop=crop,
        category_id=category_id,
        # Filters run in the database: the seed's grammar parsed by the engine, turned into a Q by `to_q`.
        allowed_ids=allowed,
        categories=_categories_for(team, prefetch=has_category),
    )
    ids = [hit.image_id for hit in result.hits]
    # The team filter again: an engine can only hold its team's images, and this makes it impossible.
    images = ProductImage.objects.for_team(team).filter(pk__in=ids).select_related("product", "search_entry")
    return TeamSearch(result=result, images={image.pk: image for image in images})


def similar_pairs(team: Team, threshold: float, limit: int = 200) -> list[tuple[int, int, float]]:
    """Near-identical image pairs of a team by whole-picture cosine similarity, most similar first.

    Exact blocked matrix products over the newest `SEARCH_DUPLICATES_MAX_IMAGES` entries: a merchant
    cleaning up double listings wants every pair, which the approximate graph cannot promise."""
    rows = list(
        _entries(team.pk)
        .order_by("-image_id")
        .values_list("image_id", "vectors")[: settings.SEARCH_DUPLICATES_MAX_IMAGES]
    )
    if len(rows) < 2:
        return []
    ids = np.array([r[0] for r in rows], np.int64)
    whole = np.stack([unpack_vectors(r[1])[0] for r in rows])
    whole /= np.maximum(np.linalg.norm(whole, axis=1, keepdims=True), 1e-12)
    pairs: list[tuple[int, int, float]] = []
    block = 1024
    for start in range(0, len(ids), block):
        sims = whole[start : start + block] @ whole.T
        rr, cc = np.nonzero(sims >= threshold)
        for r, c in zip(rr.tolist(), cc.tolist(), strict=True):
            i = start + r
            if c > i:
                pairs.append((int(ids[i]), int(ids[c]), float(sims[r, c])))
    pairs.sort(key=lambda p: -p[2])
    return pairs[:limit]


def index_after_facts(image: ProductImage, picture: Image.Image) -> ImageSearchEntry | None:
    """The upload job's indexing step: search must never cost a merchant their thumbnails, so a missing
    model or an engine failure is logged and the image waits for `manage.py reindex_search`."""
    from processing.engines.embedding import ModelMissingError

    try:
        if not needs_indexing(image):
            return None
        return index_image(image, picture)
    except ModelMissingError as error:
        logger.warning("image %s not indexed for search: %s", image.pk, error)
    except Exception:
        logger.exception("image %s not indexed for search", image.pk)
    return None


# ---- categories -----------------------------------------------------------------------------------------------
# The seed's CategoryId -> our catalog category, for products that AddImage creates. Apparel, bags, shoes,
# accessories and underwear are Clothing; Other (88888888) has no counterpart and keeps the model's guess.
ALIYUN_TO_CATALOG: dict[int, int] = {
    0: Category.CLOTHING,
    1: Category.CLOTHING,
    2: Category.CLOTHING,
    3: Category.CLOTHING,
    4: Category.CLOTHING,
    5: Category.CLOTHING,
    6: Category.GENERAL,  # Snack: the catalog has no food category
    7: Category.BEAUTY_HEALTH,
    8: Category.HOME_GARDEN,  # Bottle: drinkware and jugs
    9: Category.HOME_GARDEN,
    20: Category.TOYS,
    21: Category.CLOTHING,
    22: Category.ELECTRONICS,
}


def catalog_category_for(aliyun_category: int) -> int:
    return int(ALIYUN_TO_CATALOG.get(aliyun_category, Category.GENERAL))
