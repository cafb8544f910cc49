"""Table-driven bad seeds (tests/data/seeds/bad/*.toml): each names file, item and field, writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.record.conftest import BAD, FIXTURE
from tracker.core import EventStore
from tracker.domain.seeds import load_seeds
from tracker.errors import SeedError
from tracker.services.seeding import seed

CASES = sorted(BAD.glob("*.toml"))


def expected_fragment(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <fragment>'"
    return first.removeprefix("# expect: ")


def test_there_are_cases_for_every_required_problem() -> None:
    names = {p.stem for p in CASES}
    required = {"unknown_field", "missing_id", "duplicate_id", "duplicate_id_across_files", "impossible_date",
                "unknown_relation", "unknown_jurisdiction", "bad_kind", "bad_toml"}
    assert required <= names


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_bad_seed_names_file_item_and_field_and_writes_nothing(case: Path, store: EventStore) -> None:
    with pytest.raises(SeedError) as caught:
        seed(store, [FIXTURE, case])
    message = str(caught.value)
    assert message.startswith(f"{case.name}: "), message
    assert expected_fragment(case) in message
    assert "nothing was written" in message
    assert "\n" not in message
    assert store.count() == 0


def test_the_fixture_alone_is_valid() -> None:
    seeds = load_seeds([FIXTURE])
    assert [f.name for f in seeds.files] == ["record.toml", "references.toml", "sources.toml"]


def test_the_real_seeds_are_valid() -> None:
    from tests.record.conftest import REAL_SEEDS
    seeds = load_seeds([REAL_SEEDS])
    assert len(list(seeds.items())) > 100


def test_several_problems_are_counted_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "two.toml"
    bad.write_text(
        (BAD / "unknown_field.toml").read_text(encoding="utf-8").replace('colour = "red"', 'colour = "red"\nshape = 1'),
        encoding="utf-8",
    )
    with pytest.raises(SeedError, match=r"field 'colour': unknown field \(and 1 more problem; nothing was written\)"):
        load_seeds([bad])


def test_missing_path_is_a_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="no such seed file"):
        load_seeds([tmp_path / "nope.toml"])
