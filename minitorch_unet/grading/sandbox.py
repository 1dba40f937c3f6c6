"""The learner process's confinement: resource limits, an unprivileged account, and cleanup.

A learner process runs ``python -I`` in a private folder with

* limits on address space (``--memory-mb``), CPU time (the notebook's time limit plus a
  margin; the grader also kills it on the wall clock), file size and core dumps;
* when the grader runs as root, its own unused uid/gid per parallel slot (so one
  submission can neither write the project, the snapshot, the gradebook nor another
  learner's folder, nor signal another learner's process), no supplementary groups, at most
  a few hundred processes, and no way to regain privileges (``no_new_privs``).

The process drops privileges itself, after the grader's own imports and before the first
learner cell. When the Python installation is not readable by other users (e.g. in root's
home folder), it keeps exactly one capability, ``CAP_DAC_READ_SEARCH`` (read any file,
write none), so that learner code can still import the standard library; the report says so.
Without root, the learner code runs as the instructor's user, under the limits only.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import grp
import os
import pwd
import resource
import signal
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

FIRST_SANDBOX_ID = 60000  # Debian's on-demand range; ids with a passwd/group entry are skipped
MAX_PROCESSES = 256
FILE_LIMIT_MB = 256
CPU_MARGIN_S = 10

_PR_SET_KEEPCAPS = 8
_PR_SET_NO_NEW_PRIVS = 38
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522


@dataclass(frozen=True)
class Limits:
    """What one learner process may use."""

    timeout_s: float
    memory_mb: int


@dataclass(frozen=True)
class Account:
    """The unprivileged identity of one parallel slot; keep_read: keep CAP_DAC_READ_SEARCH."""

    uid: int
    gid: int
    keep_read: bool


@contextlib.contextmanager
def reserved_accounts(n: int) -> Iterator[list[Account] | None]:
    """`n` unused uid/gid pairs, held for the block, when running as root; else None.

    A uid is taken only if nobody has it (no passwd or group entry, no process) and this
    grader holds its lock file, so two graders on one machine never share a uid (each kills
    whatever its uids left running).
    """
    if os.geteuid() != 0:
        yield None
        return
    keep_read = not _python_readable_by_others()
    found: list[Account] = []
    locks: list[int] = []
    try:
        for uid in range(FIRST_SANDBOX_ID, FIRST_SANDBOX_ID + 5000):
            if len(found) == n:
                break
            if _has_entry(pwd.getpwuid, uid) or _has_entry(grp.getgrgid, uid):
                continue
            lock = _lock(uid)
            if lock is None:
                continue
            locks.append(lock)
            if not any(_alive_as(pid, uid) for pid in _pids()):
                found.append(Account(uid, uid, keep_read))
        if len(found) < n:
            raise RuntimeError(f"no {n} free uids from {FIRST_SANDBOX_ID} on")
        yield found
    finally:
        for lock in locks:
            os.close(lock)


def _lock(uid: int) -> int | None:
    """An exclusive lock on this machine's lock file of `uid`, or None if held elsewhere."""
    path = Path(tempfile.gettempdir()) / f"minitorch-grade-uid-{uid}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _has_entry(lookup: Callable[[int], object], ident: int) -> bool:
    try:
        lookup(ident)
    except KeyError:
        return False
    return True


def _python_readable_by_others() -> bool:
    """Can any user run this interpreter and read its libraries (checked by mode bits)?"""
    paths = {os.path.realpath(sys.executable)}
    paths.update(os.path.realpath(sysconfig.get_path(key))
                 for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    for path in map(Path, paths):
        if not path.exists():
            continue
        if any(not parent.stat().st_mode & stat.S_IXOTH for parent in path.parents):
            return False
        if not path.stat().st_mode & stat.S_IROTH:
            return False
    return True


def child_env(home: Path) -> dict[str, str]:
    """The learner process's whole environment: no secrets inherited, one BLAS thread."""
    return {"PATH": os.defpath, "HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}


def apply_limits(limits: Limits, account: Account | None) -> None:
    """Set this process's resource limits (called in the learner process, while trusted)."""
    memory = limits.memory_mb * 2**20
    cpu = int(limits.timeout_s) + CPU_MARGIN_S
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + CPU_MARGIN_S))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT_MB * 2**20,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if account is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))


def drop_privileges(account: Account) -> None:
    """Become `account` for good; keep only CAP_DAC_READ_SEARCH if `account.keep_read`."""
    libc = ctypes.CDLL(None, use_errno=True)
    _prctl(libc, _PR_SET_NO_NEW_PRIVS, 1)
    _prctl(libc, _PR_SET_KEEPCAPS, int(account.keep_read))
    os.setgroups([])
    os.setresgid(account.gid, account.gid, account.gid)
    os.setresuid(account.uid, account.uid, account.uid)
    if account.keep_read:
        _keep_only_read_capability(libc)
    if os.geteuid() != account.uid or os.getegid() != account.gid:
        raise RuntimeError("could not drop privileges")


def _prctl(libc: ctypes.CDLL, option: int, value: int) -> None:
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _keep_only_read_capability(libc: ctypes.CDLL) -> None:
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def reap(uid: int) -> None:
    """Kill every process of `uid` (what a learner process left behind, forked or detached)."""
    for _ in range(10):
        pids = [pid for pid in _pids() if _alive_as(pid, uid)]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _alive_as(pid: int, uid: int) -> bool:
    """Is `pid` a live (not zombie) process with `uid` among its real/effective/saved uids?"""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return False
    uids = {int(u) for u in fields.get("Uid", "").split()}
    return uid in uids and not fields.get("State", "").strip().startswith(("Z", "X"))
