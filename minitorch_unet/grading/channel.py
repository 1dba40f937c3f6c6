"""The one way a learner process tells the grader anything: messages over a pipe.

A message is one line of JSON (at most :data:`MAX_HEADER` bytes) followed by ``size`` raw
bytes (a probe's outputs as ``.npz``). The learner process writes (:class:`Sender`); the
grader reads in a thread (:class:`Receiver`), keeps only well-formed messages, writes each
probe's outputs into a folder that only it can read, and stops taking messages at the
first malformed one, at :data:`MAX_TOTAL_MB` or at :data:`MAX_MESSAGES` (it drains the pipe
from then on, so the learner process never blocks), and stops reading when told to. Nothing the learner process
writes is a file the judge trusts: it reads the outputs through :func:`.judge.load_outputs`
and compares them with expected values the learner process never saw.
"""
from __future__ import annotations

import json
import os
import select
import threading
import time
from pathlib import Path
from typing import Any

MAX_HEADER = 2**16
MAX_TOTAL_MB = 512
MAX_MESSAGES = 100_000
MAX_TEXT = 300
STATES = ("probing", "probed", "error")


class Sender:
    """The learner process's end: ``send({"cell": 3})``, ``send({"probed": id}, npz_bytes)``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, header: dict[str, Any], payload: bytes = b"") -> None:
        data = json.dumps({**header, "size": len(payload)}).encode() + b"\n" + payload
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


class Receiver(threading.Thread):
    """The grader's end: reads `fd` until end of file, a bad message or :meth:`stop`.

    status: {"cell": int, "finished": bool, "exercises": {id: {"state", "cell", "error"}},
    "cell_errors": [str]}; outputs of exercise ``id`` in ``results/<index>.npz``
    (``status["exercises"][id]["outputs"]``); problem: why reading stopped early, or "".
    """

    def __init__(self, fd: int, results: Path) -> None:
        super().__init__(daemon=True)
        self.fd, self.results = fd, results
        self.status: dict[str, Any] = {"exercises": {}, "cell_errors": [], "finished": False}
        self.problem = ""
        self._stop_reading = threading.Event()
        self._buffer = b""
        self._total = 0
        self._messages = 0

    def stop(self) -> None:
        self._stop_reading.set()

    def finish(self, quiet_s: float = 5.0, limit_s: float = 60.0) -> None:
        """Once the learner's process has ended: read on while bytes still arrive (a loaded
        machine may leave its last messages unread for seconds), then stop. Stops after
        `quiet_s` seconds without a byte, or `limit_s` in all (a process that escaped the
        kill still holds the pipe and could write slowly forever)."""
        deadline = time.monotonic() + limit_s
        while self.is_alive() and time.monotonic() < deadline:
            before = self._total
            self.join(timeout=quiet_s)
            if self._total == before:
                break
        self.stop()
        self.join()

    def run(self) -> None:
        try:
            while self._message():
                pass
            while self.problem and self._read(2**20) is not None:
                pass  # drain, so that the learner process never blocks on a full pipe
        finally:
            os.close(self.fd)

    def _read(self, n: int) -> bytes | None:
        """Up to `n` bytes (at least one), or None at end of file or when stopped."""
        while not self._stop_reading.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                data = os.read(self.fd, n)
                self._total += len(data)
                if self._total > MAX_TOTAL_MB * 2**20 and not self.problem:
                    self.problem = f"the notebook sent the grader more than {MAX_TOTAL_MB} MB"
                    return None
                return data or None
        return None

    def _exactly(self, n: int) -> bytes | None:
        while len(self._buffer) < n:
            data = self._read(min(2**20, n - len(self._buffer)))
            if data is None:
                return None
            self._buffer += data
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_HEADER:
                self.problem = "the notebook's process sent the grader a malformed message"
                return None
            data = self._read(MAX_HEADER)
            if data is None:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _message(self) -> bool:
        line = self._line()
        if line is None:
            return False
        try:
            header = json.loads(line)
            size = header.get("size", 0) if isinstance(header, dict) else -1
        except ValueError:
            header, size = None, -1
        if not isinstance(size, int) or size < 0:
            self.problem = "the notebook's process sent the grader a malformed message"
            return False
        payload = self._exactly(size) if size else b""
        if payload is None:
            return False
        self._messages += 1
        if self._messages > MAX_MESSAGES:
            self.problem = f"the notebook sent the grader more than {MAX_MESSAGES} messages"
            return False
        self._record(header, payload)
        return True

    def _record(self, header: dict[str, Any], payload: bytes) -> None:
        status, exercises = self.status, self.status["exercises"]
        cell = header.get("cell")
        if isinstance(cell, int) and not isinstance(cell, bool):
            status["cell"] = cell
        if header.get("finished") is True:
            status["finished"] = True
        if isinstance(header.get("cell_error"), str) and len(status["cell_errors"]) < 10:
            status["cell_errors"].append(header["cell_error"][:MAX_TEXT])
        state, grade_id = next(((s, header[s]) for s in STATES if s in header), (None, None))
        if not isinstance(grade_id, str) or len(exercises) > 100 and grade_id not in exercises:
            return
        entry = {"state": state, "cell": status.get("cell"), "error": "", "outputs": None}
        if state == "error":
            entry["error"] = str(header.get("message", ""))[:MAX_TEXT]
        elif state == "probed":
            path = self.results / f"{self._messages}.npz"
            path.write_bytes(payload)
            entry["outputs"] = str(path)
        exercises[grade_id[:MAX_TEXT]] = entry
