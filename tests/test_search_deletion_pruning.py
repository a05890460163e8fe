"""Pruning `SearchDeletion` rows: old rows go and the team's `deletions_pruned_through` rises, recent rows and
other teams stay; cached engines and saved index files older than the mark are rebuilt from the entries
rather than brought up to date by replaying deletions that are no longer there."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from catalog import search_index
from catalog.models import SEARCH_DELETION_RETENTION, SearchDeletion, SearchIndexState, Team
from processing.engines.search import VectorIndex
from tests.conftest import make_product
from tests.test_engine_search import make_product_image
from tests.test_search_api import add_indexed_image, fresh_search_engines, reshoot  # noqa: F401

OLD = SEARCH_DELETION_RETENTION + timedelta(days=1)


def record_deletion(team_id: int, image_id: int, age: timedelta = timedelta(0)) -> SearchDeletion:
    """A deletion row as the pre_delete handler writes it, then backdated by `age`."""
    with transaction.atomic():
        row = SearchDeletion.objects.create(
            team_id=team_id, image_id=image_id, version=SearchIndexState.bump(team_id)
        )
    SearchDeletion.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def age_deletions(team: Team, age: timedelta = OLD) -> None:
    SearchDeletion.objects.filter(team_id=team.pk).update(created_at=timezone.now() - age)


def pruned_through(team_id: int) -> int:
    return SearchIndexState.objects.get(team_id=team_id).deletions_pruned_through


@pytest.fixture
def catalog(team):
    return [add_indexed_image(team, make_product(team, f"Product {seed}"), seed) for seed in (1, 2, 3)]


# ---- the pruning itself ----------------------------------------------------------------------------------------
def test_it_prunes_old_rows_raises_the_mark_and_keeps_recent_rows_and_other_teams(team, outsider):
    other = Team.objects.exclude(pk=team.pk).get()
    first = record_deletion(team.pk, 101, age=OLD)
    second = record_deletion(team.pk, 102, age=OLD)
    recent = record_deletion(team.pk, 103, age=timedelta(days=1))
    theirs = record_deletion(other.pk, 201, age=timedelta(days=1))

    assert SearchDeletion.objects.prune() == 2

    assert list(SearchDeletion.objects.filter(team_id=team.pk)) == [recent]
    assert pruned_through(team.pk) == second.version > first.version
    assert SearchIndexState.current(team.pk) == recent.version  # the version itself is untouched
    assert list(SearchDeletion.objects.filter(team_id=other.pk)) == [theirs]
    assert pruned_through(other.pk) == 0
    # Nothing left to prune: a second sweep changes nothing and never lowers the mark.
    assert SearchDeletion.objects.prune() == 0
    assert pruned_through(team.pk) == second.version


def test_it_honours_the_retention_it_is_given(team):
    kept = record_deletion(team.pk, 101, age=timedelta(days=2))
    assert SearchDeletion.objects.prune(retention=timedelta(days=3)) == 0
    assert SearchDeletion.objects.prune(retention=timedelta(days=1)) == 1
    assert not SearchDeletion.objects.exists()
    assert pruned_through(team.pk) == kept.version


def test_it_forgets_a_deleted_teams_version_once_its_deletions_are_pruned(team, outsider):
    gone = Team.objects.exclude(pk=team.pk).get()
    record_deletion(gone.pk, 201, age=OLD)
    record_deletion(team.pk, 101, age=OLD)
    gone_id = gone.pk
    gone.delete()
    assert SearchIndexState.objects.filter(team_id=gone_id).exists()

    SearchDeletion.objects.prune()

    assert not SearchIndexState.objects.filter(team_id=gone_id).exists()
    assert SearchIndexState.objects.filter(team_id=team.pk).exists()  # a live team keeps its row


def test_it_keeps_a_deleted_teams_version_while_its_recent_deletions_remain(team, outsider):
    gone = Team.objects.exclude(pk=team.pk).get()
    record_deletion(gone.pk, 201, age=timedelta(days=1))
    gone_id = gone.pk
    gone.delete()

    SearchDeletion.objects.prune()

    assert SearchIndexState.objects.filter(team_id=gone_id).exists()


def test_it_prunes_in_the_maintenance_sweep(team):
    record_deletion(team.pk, 101, age=OLD)
    call_command("recover_jobs", stdout=io.StringIO())
    assert not SearchDeletion.objects.exists()
    assert pruned_through(team.pk) > 0


# ---- engines and saved files older than the mark ---------------------------------------------------------------
def test_it_rebuilds_a_cached_engine_older_than_the_mark(team, catalog, django_assert_num_queries):
    stale = search_index.engine_for_team(team)
    gone = catalog[1].pk
    catalog[1].product.delete()  # another process deletes it; its deletion row is then pruned
    age_deletions(team)
    assert SearchDeletion.objects.prune() == 1
    assert pruned_through(team.pk) == SearchIndexState.current(team.pk)

    engine = search_index.engine_for_team(team)

    assert engine is not stale
    assert gone * 2 not in engine.index and len(engine.index) == 4  # two vectors per remaining image
    hits = search_index.search_team(team, reshoot(make_product_image(2))).result.hits
    assert gone not in {hit.image_id for hit in hits}
    # Up to date again: the next lookup reads the version and the mark in one query and changes nothing.
    with django_assert_num_queries(1):
        assert search_index.engine_for_team(team) is engine


def test_it_rebuilds_when_a_pruning_lands_between_reading_the_mark_and_the_deletions(
    team, catalog, monkeypatch
):
    stale = search_index.engine_for_team(team)
    gone = catalog[0].pk
    catalog[0].product.delete()
    age_deletions(team)
    SearchDeletion.objects.prune()
    # The version and mark were read just before the pruning committed: the mark looks unmoved.
    read = SearchIndexState.current_and_pruned
    monkeypatch.setattr(
        SearchIndexState, "current_and_pruned", classmethod(lambda cls, team_id: (read(team_id)[0], 0))
    )

    engine = search_index.engine_for_team(team)

    assert engine is not stale
    assert gone * 2 not in engine.index and len(engine.index) == 4


def test_it_does_not_load_a_saved_index_file_older_than_the_mark(team, catalog, settings, monkeypatch):
    settings.SEARCH_APPROXIMATE_THRESHOLD = 3  # vectors: two images (after the deletion) stay approximate
    settings.SEARCH_INDEX_SAVE_EVERY = 1
    search_index.forget_engines()
    assert search_index.engine_for_team(team).index.approximate
    directory = settings.SEARCH_INDEX_DIR / f"team-{team.pk}"
    old_file = directory / f"v{SearchIndexState.current(team.pk)}.index"
    assert old_file.exists()
    loaded: list[Path] = []
    load = VectorIndex.load

    def spy(path, *args, **kwargs) -> VectorIndex:
        loaded.append(Path(path))
        return load(path, *args, **kwargs)

    monkeypatch.setattr(VectorIndex, "load", spy)
    # A restarted process, after a deletion whose row was pruned before the file could replay it.
    search_index.forget_engines()
    gone = catalog[2].pk
    catalog[2].product.delete()
    age_deletions(team)
    SearchDeletion.objects.prune()

    engine = search_index.engine_for_team(team)

    assert loaded == []
    assert gone * 2 not in engine.index and len(engine.index) == 4
    # The rebuilt index was saved at the current version, which is not below the mark: the next process uses it.
    assert not old_file.exists()
    search_index.forget_engines()
    engine = search_index.engine_for_team(team)
    assert loaded == [directory / f"v{SearchIndexState.current(team.pk)}.index"]
    assert gone * 2 not in engine.index and len(engine.index) == 4
