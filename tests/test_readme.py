"""Every code block of the README runs, or at least parses.

* ``python`` blocks run, each in a fresh namespace, in a temporary folder.
* ``bash`` blocks: each ``python -m minitorch_unet ...`` line is parsed by the command line's
  own parser (nothing trains; ``[--x]`` is read as ``--x``); each ``python benchmarks/X.py``
  line's options must appear in that script's ``--help``. Installing and test-running lines
  (``pip``, ``python3 -m venv``, ``pytest``, ``jupyter``, ``conda``) are not run; any other
  command fails this test, so a new kind of line needs a check here first.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch_unet.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = (("pip",), ("python3", "-m", "venv"), ("pytest",), ("jupyter",), ("conda",), (".",))


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall((REPO / "README.md").read_text())
            if lang == language]


def shell_commands() -> list[list[str]]:
    """Every command of the bash blocks, split at && and with comments removed."""
    commands = []
    for body in blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                commands.append(words[:cut])
                words = words[cut + 1:]
    return commands


def is_benchmark(command: list[str]) -> bool:
    return len(command) > 1 and command[0] == "python" and command[1].startswith("benchmarks/")


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_block_runs(index: int, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks("python")[index], f"README.md python block {index}", "exec"), {})


def test_the_blocks_were_found() -> None:
    assert len(blocks("python")) >= 2 and len(shell_commands()) >= 15


def test_cli_lines_parse() -> None:
    parser = build_parser()
    lines = [c for c in shell_commands() if c[:3] == ["python", "-m", "minitorch_unet"]]
    assert any(line[3] == "train" for line in lines)
    for line in lines:
        argv = [word.strip("[]") for word in line[3:]]
        try:
            parser.parse_args(argv)
        except SystemExit as exit_:
            pytest.fail(f"README: {' '.join(line)} does not parse (exit {exit_.code})")


def test_benchmark_lines_use_options_their_script_has() -> None:
    lines = [c for c in shell_commands() if is_benchmark(c)]
    assert lines
    helps: dict[str, str] = {}
    for line in lines:
        if line[1] not in helps:
            helps[line[1]] = subprocess.run(
                [sys.executable, line[1], "--help"], cwd=REPO, capture_output=True, text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300, check=True).stdout
        for option in (w for w in line[2:] if w.startswith("--")):
            assert option in helps[line[1]], f"README: {line[1]} has no option {option}"


def test_every_shell_command_is_one_this_test_knows() -> None:
    for command in shell_commands():
        known = (command[:3] == ["python", "-m", "minitorch_unet"]
                 or is_benchmark(command)
                 or any(tuple(command[:len(prefix)]) == prefix for prefix in NOT_RUN))
        assert known, f"README: no check for the command {' '.join(command)!r}"
