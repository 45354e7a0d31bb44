from __future__ import annotations

import pytest

from lifecycle_data import FullRecord, build_full_record
from reverie.testing import World


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path) -> None:
    """Each test its own data directory, so the export folder holds its files alone."""
    settings.DATA_DIR = str(tmp_path)


@pytest.fixture
def full_record(world: World) -> FullRecord:
    return build_full_record(world)
