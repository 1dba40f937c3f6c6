"""NumPy's BLAS threads are chosen by the program, and can be overridden."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from minitorch_unet import threads
from minitorch_unet.cli import main

REPO = Path(__file__).resolve().parents[1]
REPORT = "import minitorch_unet.threads as t; print(t.blas_threads())"


def blas_threads_in_a_new_process(**env: str) -> int:
    """What a fresh `import minitorch_unet` leaves NumPy's BLAS running on."""
    clean = {k: v for k, v in os.environ.items()
             if k not in threads.BLAS_ENV_VARS and k != threads.ENV_VAR}
    result = subprocess.run([sys.executable, "-c", "import minitorch_unet; " + REPORT],
                            env={**clean, "PYTHONPATH": str(REPO), **env}, cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=True)
    return int(result.stdout)


@pytest.fixture
def restore_blas_threads():
    with threadpool_limits(limits=None):  # leaves the counts as they were, afterwards
        yield


def test_the_choice_leaves_the_busy_cores_alone() -> None:
    assert threads.choose_blas_threads(cores=2, load=2.4) == 1     # a busy machine
    assert threads.choose_blas_threads(cores=2, load=0.1) == 2     # a quiet one
    assert threads.choose_blas_threads(cores=16, load=3.8) == 12
    assert threads.choose_blas_threads(cores=4, load=40.0) == 1


def test_import_sets_the_count_and_the_environment_overrides_it() -> None:
    if threads.available_cores() < 2:
        pytest.skip("one core: every choice is 1 thread")
    assert blas_threads_in_a_new_process(**{threads.ENV_VAR: "1"}) == 1
    assert blas_threads_in_a_new_process(**{threads.ENV_VAR: "2"}) == 2
    assert blas_threads_in_a_new_process(OPENBLAS_NUM_THREADS="2",
                                         **{threads.ENV_VAR: "1"}) == 1
    assert blas_threads_in_a_new_process(OPENBLAS_NUM_THREADS="1") == 1  # the user's own
    with threadpool_limits(limits=None):
        threads.limit_blas_threads(2)
        assert threads.blas_threads() == 2


def test_cli_threads_option_sets_the_count(capsys, restore_blas_threads) -> None:
    if threads.available_cores() < 2:
        pytest.skip("one core: every choice is 1 thread")
    threads.limit_blas_threads(2)
    assert main(["summary", "--image-size", "32", "--depth", "2", "--threads", "1"]) == 0
    assert threads.blas_threads() == 1
    assert main(["summary", "--threads", "0"]) == 2
    assert capsys.readouterr().err.strip() == ("error: --threads must be a positive number of "
                                               "threads, got 0")


def test_a_bad_environment_value_is_named(monkeypatch) -> None:
    monkeypatch.setenv(threads.ENV_VAR, "many")
    with pytest.raises(ValueError, match=r"MINITORCH_UNET_THREADS must be a positive number of "
                                         r"threads, got 'many'"):
        threads.limit_blas_threads()
