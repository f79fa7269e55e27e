"""The AIG fixture copied into tests/fixtures must stay byte-identical to the shared original."""

from pathlib import Path

import pytest

COPY = Path(__file__).resolve().parent / "fixtures" / "aig-cms-curve-2027"
ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "aig-cms-curve-2027"


@pytest.mark.skipif(not ORIGINAL.exists(), reason="shared/ is not beside this checkout")
@pytest.mark.parametrize("name", ["instruments.csv", "schedule.csv", "SOURCE.md"])
def test_fixture_copy_is_the_original(name):
    assert (COPY / name).read_bytes() == (ORIGINAL / name).read_bytes()
