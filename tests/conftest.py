"""Shared test fixtures: where the optional real-data sets live, and the device list."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The development data sits beside a checkout as ``../shared/data``; a user's machine
# has none, so every test that needs it skips with the reason below.
SHARED_DATA = Path(os.environ.get("MINITORCH_UNET_SHARED_DATA", REPO.parent / "shared" / "data"))
EMBEDDED_SAMPLE = REPO / "data" / "lgg_sample_4patients.zip"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The folder with the 10-patient LGG development set and the BraTS case, or skip."""
    if not (SHARED_DATA / "lgg" / "lgg_dev_10patients.zip").is_file():
        pytest.skip(f"development data not found at {SHARED_DATA} "
                    "(set MINITORCH_UNET_SHARED_DATA to the folder holding lgg/ and brats/)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedded_sample() -> Path:
    """The 4-patient LGG sample shipped inside the project."""
    assert EMBEDDED_SAMPLE.is_file(), f"embedded sample missing: {EMBEDDED_SAMPLE}"
    return EMBEDDED_SAMPLE
