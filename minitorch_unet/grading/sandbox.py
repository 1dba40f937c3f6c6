"""The learner process's confinement: resource limits, its own account, a private view of
the file system, and cleanup.

A learner process runs ``python -I`` in a private folder with

* limits on address space (``--memory-mb``), CPU time (the notebook's time limit plus a
  margin; the grader also kills it on the wall clock), file size and core dumps;
* when the grader runs as root: an unused uid/gid of its own per learner for the whole
  run (so one learner can neither write the project, the snapshot, the gradebook nor
  anything of another learner, nor signal another learner's process), no supplementary
  groups, at most a few hundred processes, and no way to regain privileges
  (``no_new_privs``); every process of that uid is killed when a notebook ends;
* when the kernel allows it (root with ``CAP_SYS_ADMIN``): no network, and a private mount
  namespace whose root is an empty ``tmpfs`` holding, read-only, only the system libraries,
  the Python installation (without PyTorch, SciPy or an installed ``minitorch_unet``), and
  the learner's copy of the course (:mod:`.learner_view`), plus ``/dev/null`` and friends,
  and its own folder and ``/tmp`` in memory, of fixed sizes (so it cannot fill a disk). The
  project, the solutions, the class, the grader's folders and every other file of the
  machine are simply not there.

The process confines itself, after the grader's own imports and before the first learner
cell. As root without a private file system, learner code sees the whole machine with its
uid's rights (if the Python installation is readable by root only, it keeps the right to
read any file, never to write one); without root, it runs as the instructor's user, under
the limits only. The report says which.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import grp
import os
import pwd
import resource
import shutil
import signal
import stat
import subprocess
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
TMP_MB = 64  # the learner's own /tmp in its private file system
WORK_MB = 256  # and its own folder there
_PR_SET_KEEPCAPS = 8
_PR_SET_NO_NEW_PRIVS = 38
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522
_CLONE_NEWNS, _CLONE_NEWNET = 0x00020000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = (
    1, 2, 4, 32, 4096, 16384, 1 << 18)
SYSTEM_PATHS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache",
                "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
HIDDEN_PACKAGES = ("torch", "functorch", "torchgen", "scipy", "minitorch_unet")


@dataclass(frozen=True)
class Limits:
    """What one learner process may use."""

    timeout_s: float
    memory_mb: int


@dataclass(frozen=True)
class Account:
    """The unprivileged identity of one learner for the whole run; keep_read: keep
    CAP_DAC_READ_SEARCH (read any file, write none), only where no private file system can
    be given and the Python installation is not readable by other users."""

    uid: int
    gid: int
    keep_read: bool = False


@dataclass(frozen=True)
class Mounts:
    """A learner's private file system: folders shown read-only, and paths inside them
    covered by empty folders (see :func:`enter_private_root`)."""

    read_only: list[str]
    hidden: list[str]


def private_mounts(view: Path, secret: list[Path]) -> Mounts | None:
    """The private file system of a learner process that imports `view`, hiding the
    `secret` folders (project, class, grades) wherever they lie; None where the kernel
    gives none (then learner code sees the whole machine, as the report says)."""
    if not private_root_available() or not python_readable_by_others(parents=False):
        return None
    shown = [str(view)]
    for path in python_paths():
        if not any(path == p or path.startswith(p + os.sep) for p in shown):
            shown.append(path)
    inside = [os.path.realpath(s) for s in secret]
    inside = [s for s in inside if any(s.startswith(p + os.sep) for p in shown)]
    return Mounts(shown, hidden_paths(inside))


@contextlib.contextmanager
def reserved_accounts(n: int, keep_read: bool = False) -> Iterator[list[Account] | None]:
    """`n` unused uid/gid pairs (one per learner), held for the block, as root; else None.

    A uid is taken only if nobody has it (no passwd or group entry, no process) and this
    grader holds its lock file, so two graders on one machine never share a uid (each kills
    whatever its uids left running).
    """
    if os.geteuid() != 0:
        yield None
        return
    found: list[Account] = []
    locks: list[int] = []
    try:
        for uid in range(FIRST_SANDBOX_ID, FIRST_SANDBOX_ID + 5000 + n):
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


def python_readable_by_others(parents: bool = True) -> bool:
    """Can any user run this interpreter and read its libraries (checked by mode bits, on
    the folders above them too if `parents`)?"""
    paths = {os.path.realpath(sys.executable)}
    paths.update(os.path.realpath(sysconfig.get_path(key))
                 for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    for path in map(Path, paths):
        if not path.exists():
            continue
        if parents and any(not p.stat().st_mode & stat.S_IXOTH for p in path.parents):
            return False
        if not path.stat().st_mode & stat.S_IROTH:
            return False
    return True


def drop_privileges(account: Account) -> None:
    """Become `account` for good, with no way to gain a privilege; no capability is kept
    but CAP_DAC_READ_SEARCH if `account.keep_read`."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)", libc)
    _check(libc.prctl(_PR_SET_KEEPCAPS, int(account.keep_read), 0, 0, 0), "prctl(KEEPCAPS)", libc)
    os.setgroups([])
    os.setresgid(account.gid, account.gid, account.gid)
    os.setresuid(account.uid, account.uid, account.uid)
    if account.keep_read:
        header = _CapHeader(_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
        _check(libc.capset(ctypes.byref(header), data), "capset", libc)
    if os.geteuid() != account.uid or os.getegid() != account.gid:
        raise RuntimeError("could not drop privileges")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str, libc: ctypes.CDLL) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


@functools.lru_cache(maxsize=None)
def private_root_available() -> bool:
    """Can this grader give learner processes a private view of the file system?"""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); "
             "from minitorch_unet.grading.sandbox import _unshare; _unshare()")
    package_parent = str(Path(__file__).resolve().parents[2])
    return subprocess.run([sys.executable, "-I", "-B", "-c", probe, package_parent],
                          capture_output=True, timeout=60).returncode == 0


def _unshare() -> ctypes.CDLL:
    """Enter a new mount namespace, in which no mount propagates back, and a new network
    namespace, which has no network (only a loopback device, down)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_char_p]
    _check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET), "unshare(CLONE_NEWNS | CLONE_NEWNET)",
           libc)
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate",
           libc)
    return libc


def python_paths() -> list[str]:
    """The folders of this Python installation (prefixes and the interpreter's folder)."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                           sys.base_exec_prefix)}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(paths)


def enter_private_root(new_root: str, read_only: list[str], hidden: list[str], work: str,
                       account: Account) -> None:
    """Make `new_root` (an empty folder) this process's ``/``, holding only the system
    libraries, `read_only` (each at its own path), devices, a small /tmp, and at `work`,
    its cwd, a folder of :data:`WORK_MB` owned by `account` holding a copy of the files in
    `work`; `hidden` paths are covered by empty read-only folders. Needs root. Nothing the
    process writes reaches the machine's disks."""
    libc = _unshare()
    root = new_root.encode()
    _check(libc.mount(b"tmpfs", root, b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=755,size=16m"),
           "mount tmpfs", libc)

    def bind(path: str, read_only: bool, flags: int = _MS_NOSUID | _MS_NODEV) -> None:
        target = new_root + path
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        _check(libc.mount(path.encode(), target.encode(), None, _MS_BIND | _MS_REC, None),
               f"bind {path}", libc)
        remount = _MS_BIND | _MS_REMOUNT | flags | (_MS_RDONLY if read_only else 0)
        _check(libc.mount(None, target.encode(), None, remount, None), f"remount {path}", libc)

    tmp = (new_root + "/tmp").encode()
    os.makedirs(tmp, exist_ok=True)
    _check(libc.mount(b"tmpfs", tmp, b"tmpfs", _MS_NOSUID | _MS_NODEV,
                      f"mode=1777,size={TMP_MB}m".encode()), "mount /tmp", libc)
    for path in SYSTEM_PATHS:
        if os.path.islink(path):  # /bin -> usr/bin on merged systems
            os.symlink(os.readlink(path), new_root + path)
        elif os.path.exists(path):
            bind(path, read_only=True)
    for path in read_only:
        bind(path, read_only=True)
    for path in DEVICES:
        if os.path.exists(path):
            bind(path, read_only=False, flags=_MS_NOSUID)
    target = new_root + work
    os.makedirs(target, exist_ok=True)
    _check(libc.mount(b"tmpfs", target.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                      f"mode=700,uid={account.uid},gid={account.gid},size={WORK_MB}m".encode()),
           "mount the work folder", libc)
    for name in os.listdir(work):  # the notebook's copy
        shutil.copyfile(os.path.join(work, name), os.path.join(target, name))
        os.chown(os.path.join(target, name), account.uid, account.gid)
    for path in hidden:
        target = (new_root + path).encode()
        if os.path.isdir(target):
            _check(libc.mount(b"tmpfs", target, b"tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV,
                              b"size=4k"), f"hide {path}", libc)
    _check(libc.mount(None, root, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID
                      | _MS_NODEV, None), "remount / read-only", libc)
    os.chroot(new_root)
    os.chdir(work)


def hidden_paths(extra: list[str]) -> list[str]:
    """What a learner must not see inside the exposed folders: PyTorch, SciPy, an installed
    copy of the engine (in every ``site-packages``), and `extra` (project, class, grades)."""
    found = list(extra)
    for folder in python_paths():
        for site in Path(folder).glob("lib*/python*/site-packages"):
            found += [str(p) for p in site.iterdir()
                      if p.is_dir() and p.name.lower().split("-")[0] in HIDDEN_PACKAGES]
    return found


def reap(uid: int) -> int:
    """Kill every process of `uid`, however it hides (forked, detached with ``setsid``, a
    zombie leader whose threads run on, ignoring signals) -> how many were alive."""
    killed: set[int] = set()
    for _ in range(100):  # a process may fork while the others are killed
        pids = [pid for pid in _pids() if _alive_as(pid, uid)]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
    return len(killed)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _alive_as(pid: int, uid: int) -> bool:
    """Has `pid` `uid` among its real/effective/saved uids, and a thread that still runs
    (a zombie leader may have live threads)?"""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        fields = _status(f"/proc/{pid}/task/{task}/status")
        uids = {int(u) for u in fields.get("Uid", "").split()}
        if uid in uids and not fields.get("State", "").strip().startswith(("Z", "X")):
            return True
    return False


def _status(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="ascii", errors="replace") as status:
            return dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return {}
