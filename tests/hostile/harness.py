"""Run hostile inputs through the command line as a user would, and judge the answer.

Every catalogue case runs ``python -m backprop ...`` in a process of its own
(forked from a server that imported NumPy and backprop once, see ``zygote.py``;
``BACKPROP_HOSTILE_FRESH=1`` starts a fresh interpreter per case instead):

* under ``RLIMIT_AS`` (default :data:`MEM_LIMIT`), so a reader that believes a
  header and allocates terabytes dies with MemoryError instead of taking the
  machine; ``RLIMIT_FSIZE`` bounds any file it writes; no core dumps;
* with a clean ``HOME``, ``XDG_CACHE_HOME``, ``BACKPROP_DATA`` and ``TMPDIR``
  inside the case folder, so whatever it writes lands where the case can see it;
* with stand-in ``gs`` (Ghostscript) programs first on ``PATH`` that record
  their call, so "nothing executed" is checked, not assumed;
* with HTTP(S) proxies set to a closed local port, so nothing is downloaded;
* with ``PYTHONPATH`` set to the ``src/`` of the checkout under test.

Typical use, through the ``case`` fixture of ``conftest.py``::

    def test_idx_header_claims_a_tebibyte(case):
        f = case.write("d/train-images-idx3-ubyte", b"\\0\\0\\x08\\x03" + dims)
        r = case.run(["data", "info", "--data-dir", f.parent])
        case.assert_refused(r, must_mention=[f.name, "limit"])

``assert_refused`` checks everything a hostile case must show: exit code 2, a
message of one or two lines on stderr naming what it must name, no traceback,
no MemoryError, no Ghostscript call, no pickle payload run, and no file in the
case folder created, changed or deleted except the paths the case allows.

Name new test modules ``test_<entry point>_*.py``; basenames must not repeat a
module in ``tests/`` (pytest imports both as top-level modules).
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

#: Root of the checkout under test and the ``src`` put on ``PYTHONPATH``.
ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

#: Address-space limit of a case (bytes). NumPy + Pillow + matplotlib imports take
#: about 0.4 GiB of address space; a reader that trusts a header needs far more.
MEM_LIMIT = 1536 * 2**20
#: Largest file a case may write (bytes).
FILE_LIMIT = 256 * 2**20
#: Seconds before a case is killed (a guard, not an assertion on speed).
TIMEOUT = 120.0

#: Names Pillow and others use to find Ghostscript.
GHOSTSCRIPT_NAMES = ("gs", "gsx", "gsc", "gswin32", "gswin32c", "gswin64", "gswin64c", "rungs")

#: Folder (inside the case folder) that belongs to the harness and is never judged.
HARNESS_DIR = ".harness"


@dataclass
class Result:
    """What a command did: exit code, output, peak memory and the call made."""

    args: list[str]
    rc: int
    stdout: str
    stderr: str
    peak_rss_bytes: int
    timed_out: bool
    case_dir: Path

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return (
            f"backprop {' '.join(self.args)}\n  rc={self.rc} timed_out={self.timed_out} "
            f"peak_rss={self.peak_rss_bytes / 2**20:.0f} MiB\n"
            f"  stdout: {self.stdout[-2000:]!r}\n  stderr: {self.stderr[-2000:]!r}"
        )


def _stand_ins(bin_dir: Path, marker: Path) -> None:
    """Write executable stand-ins for Ghostscript that append their argv to ``marker``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = f'#!/bin/sh\necho "$0 $*" >> "{marker}"\nexit 1\n'
    for name in GHOSTSCRIPT_NAMES:
        p = bin_dir / name
        p.write_text(script)
        p.chmod(0o755)


def case_env(case_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a case: clean home and caches inside ``case_dir``, stand-ins on PATH."""
    case_dir = Path(case_dir)
    h = case_dir / HARNESS_DIR
    _stand_ins(h / "bin", h / "gs-called")
    for d in ("home", "home/.cache", "data-cache", "tmp"):
        if not os.path.lexists(case_dir / d):  # a case may have put something else there
            (case_dir / d).mkdir(parents=True)
    env = {
        "PATH": f"{h / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(case_dir / "home"),
        "XDG_CACHE_HOME": str(case_dir / "home/.cache"),
        "BACKPROP_DATA": str(case_dir / "data-cache"),
        "TMPDIR": str(case_dir / "tmp"),
        "MPLCONFIGDIR": str(h / "mpl"),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(SRC),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # no network: every HTTP(S) request goes to a closed local port and fails at once
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "", "NO_PROXY": "",
    }
    env.update(extra or {})
    return env


def run_cli(
    args: list[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    mem_limit_bytes: int = MEM_LIMIT,
    timeout: float = TIMEOUT,
    stdin: bytes | None = None,
) -> Result:
    """Run ``python -m backprop *args`` in ``cwd`` (the case folder) and return what it did.

    Parameters
    ----------
    args : list
        Arguments after ``backprop``; paths are converted with ``str``.
    cwd : path
        The case folder; it receives ``home/``, ``data-cache/``, ``tmp/`` and ``.harness/``.
    env : dict, optional
        Variables added to (or overriding) :func:`case_env`.
    mem_limit_bytes : int
        ``RLIMIT_AS`` of the child.
    timeout : float
        Seconds before the child is killed (``Result.timed_out``).
    stdin : bytes, optional
        Fed to the child; default: no input (``/dev/null``).
    """
    cwd = Path(cwd)
    argv = [str(a) for a in args]
    h = cwd / HARNESS_DIR
    full_env = case_env(cwd, env)
    out_path, err_path, in_path = h / "stdout", h / "stderr", h / "stdin"
    in_path.write_bytes(stdin or b"")
    if os.environ.get("BACKPROP_HOSTILE_FRESH") == "1":
        rc, maxrss, killed = _run_fresh(argv, cwd, full_env, mem_limit_bytes, timeout, h)
    else:
        rc, maxrss, killed = _zygote().run({
            "args": argv, "cwd": str(cwd), "env": full_env, "mem": mem_limit_bytes,
            "fsize": FILE_LIMIT, "timeout": timeout, "stdin": str(in_path),
            "stdout": str(out_path), "stderr": str(err_path),
        })
    return Result(
        args=argv, rc=rc,
        stdout=out_path.read_bytes().decode("utf-8", "replace"),
        stderr=err_path.read_bytes().decode("utf-8", "replace"),
        peak_rss_bytes=maxrss * 1024, timed_out=killed, case_dir=cwd,
    )


def _run_fresh(
    argv: list[str], cwd: Path, env: dict[str, str], mem: int, timeout: float, h: Path
) -> tuple[int, int, bool]:
    """``python -m backprop`` in a fresh interpreter: (exit code, peak RSS in KiB, killed)."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with open(h / "stdout", "wb") as out, open(h / "stderr", "wb") as err, \
            open(h / "stdin", "rb") as inp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backprop", *argv], cwd=cwd, env=env, stdout=out,
            stderr=err, stdin=inp, preexec_fn=limits, start_new_session=True,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss, killed.is_set()


class _Zygote:
    """The fork server of ``zygote.py``, started once per test session."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="backprop-zygote-"))
        env = case_env(self.home)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("zygote.py"))], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def run(self, request: dict) -> tuple[int, int, bool]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the catalogue's fork server died; rerun with "
                               "BACKPROP_HOSTILE_FRESH=1 to see the case in a fresh interpreter")
        reply = json.loads(line)
        return reply["rc"], reply["maxrss"], reply["killed"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)


_ZYGOTE: _Zygote | None = None


def _zygote() -> _Zygote:
    global _ZYGOTE
    if _ZYGOTE is None or _ZYGOTE.proc.poll() is not None:
        _ZYGOTE = _Zygote()
        atexit.register(_ZYGOTE.close)
    return _ZYGOTE


# --------------------------------------------------------------------------- assertions


def assert_clean_refusal(
    result: Result, must_mention: list[str | os.PathLike[str]] = (), *, max_lines: int = 2
) -> None:
    """Exit 2 with a short message on stderr naming everything in ``must_mention``.

    A path is mentioned when its name appears in the message; a string when it
    appears, ignoring case.  The message must be 1 to ``max_lines`` lines, with no
    traceback and no MemoryError anywhere in the output.
    """
    both = result.stdout + result.stderr
    assert not result.timed_out, f"killed after the timeout:\n{result}"
    assert "Traceback" not in both, f"traceback:\n{result}"
    assert "MemoryError" not in both, f"MemoryError:\n{result}"
    assert result.rc == 2, f"exit code {result.rc}, expected 2:\n{result}"
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= max_lines, f"{len(lines)} lines on stderr:\n{result}"
    for item in must_mention:
        if isinstance(item, os.PathLike):
            word = Path(item).name
            assert word in result.stderr, f"stderr does not name {word!r}:\n{result}"
        else:
            assert str(item).lower() in result.stderr.lower(), (
                f"stderr does not mention {item!r}:\n{result}"
            )


def snapshot(folder: str | os.PathLike[str], skip: tuple[str, ...] = (HARNESS_DIR,)) -> dict:
    """Every entry under ``folder`` (links not followed) -> (type, size, mtime_ns, mode, target)."""
    folder = Path(folder)
    state: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = Path(dirpath).relative_to(folder)
        if rel_dir == Path(".") and skip:
            dirnames[:] = [d for d in dirnames if d not in skip]
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            target = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size
            mtime = 0 if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns
            state[str(rel_dir / name)] = (stat.S_IFMT(st.st_mode), size, mtime, st.st_mode, target)
    return state


def assert_untouched(before: dict, after: dict, allow: tuple[str, ...] = ()) -> None:
    """No entry created, deleted or changed between two snapshots, except under ``allow``.

    ``allow`` holds paths relative to the snapshot folder (e.g. ``"run"`` for an
    output folder the command was asked to create).
    """

    def allowed(rel: str) -> bool:
        return any(rel == a or rel.startswith(a.rstrip("/") + "/") for a in allow)

    created = sorted(k for k in after.keys() - before.keys() if not allowed(k))
    deleted = sorted(k for k in before.keys() - after.keys() if not allowed(k))
    changed = sorted(
        k for k in before.keys() & after.keys() if before[k] != after[k] and not allowed(k)
    )
    assert not (created or deleted or changed), (
        f"files touched outside {list(allow)}: created {created}, deleted {deleted}, "
        f"changed {changed}"
    )


def gs_calls(case_dir: str | os.PathLike[str]) -> str:
    """What the Ghostscript stand-ins recorded in this case ('' when never called)."""
    marker = Path(case_dir) / HARNESS_DIR / "gs-called"
    return marker.read_text() if marker.exists() else ""


def assert_gs_not_called(case_dir: str | os.PathLike[str]) -> None:
    """No Ghostscript stand-in ran during this case."""
    calls = gs_calls(case_dir)
    assert not calls, f"Ghostscript was called: {calls}"


class _Payload:
    """Unpickling this creates (opens for writing) the file it names: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (open, (self.marker, "w"))


def pickle_payload(marker: str | os.PathLike[str]) -> bytes:
    """A pickle that creates the file ``marker`` when (and only if) it is unpickled."""
    return pickle.dumps(_Payload(str(marker)), protocol=2)


def payload_array(marker: str | os.PathLike[str]):
    """An object array holding the payload; ``np.save`` writes it as a pickle inside the .npy."""
    import numpy as np

    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(str(marker))
    return arr


def assert_not_executed(marker: str | os.PathLike[str]) -> None:
    """The payload's file does not exist: nothing was unpickled."""
    assert not Path(marker).exists(), f"a pickle payload ran: {marker} was created"


# --------------------------------------------------------------------------- the case


@dataclass
class Case:
    """One hostile case: a folder, the files written into it, and the judgement.

    ``marker`` is where a pickle payload made with :meth:`payload` would leave its
    file; :meth:`assert_refused` checks it never appears.
    """

    dir: Path
    mem_limit_bytes: int = MEM_LIMIT
    _before: dict = field(default_factory=dict)

    @property
    def marker(self) -> Path:
        return self.dir / "PAYLOAD-RAN"

    def path(self, rel: str) -> Path:
        """``dir / rel`` with its parent folders created."""
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write(self, rel: str, data: bytes | str) -> Path:
        """Write a file (bytes, or str as UTF-8) inside the case folder; return its path."""
        p = self.path(rel)
        if isinstance(data, str):
            data = data.encode("utf-8")
        p.write_bytes(data)
        return p

    def payload(self) -> bytes:
        """Pickle bytes that would create :attr:`marker` if anything unpickled them."""
        return pickle_payload(self.marker)

    def run(self, args: list, *, env: dict[str, str] | None = None, **kw) -> Result:
        """Snapshot the case folder, then :func:`run_cli` in it."""
        case_env(self.dir)  # create home/, data-cache/... before the snapshot
        self._before = snapshot(self.dir)
        kw.setdefault("mem_limit_bytes", self.mem_limit_bytes)
        return run_cli(args, cwd=self.dir, env=env, **kw)

    def assert_refused(
        self, result: Result, must_mention: list = (), *, allow: tuple[str, ...] = (),
        max_lines: int = 2,
    ) -> None:
        """The full hostile-case judgement (see the module docstring)."""
        assert_clean_refusal(result, must_mention, max_lines=max_lines)
        self.assert_harmless(allow=allow)

    def assert_harmless(self, *, allow: tuple[str, ...] = ()) -> None:
        """Nothing executed, nothing touched (for cases that are allowed to succeed)."""
        assert_gs_not_called(self.dir)
        assert_not_executed(self.marker)
        assert_untouched(self._before, snapshot(self.dir), allow=allow)
