"""Run one CLI case in a child process and measure what the corpus judges.

Each case is a real ``python -m resonant_studio.cli ...`` child with private config, data and
models folders. ``os.wait4`` gives the child's own peak RSS (``ru_maxrss``); the tree the case
lives in is hashed before and after, so a failure that changed the disk is caught.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

KILL_AFTER_S = 45.0
"""Past the 30 s the corpus allows, so a slow case is measured, not silently cut short."""

RSS_UNITS_PER_MB = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0
"""ru_maxrss is in bytes on macOS, in kilobytes on Linux."""

BIG_FILE = 64 << 20
"""Files larger than this (sparse ones, where size is the point) are hashed by size and mtime."""


@dataclass
class Outcome:
    rc: int
    stderr: str
    stdout: str
    wall_s: float
    max_rss_mb: float
    killed: bool


def tree_state(root: Path) -> dict[str, tuple]:
    """Type, content hash, mode or link target of every entry below ``root`` (never follows
    links, never opens FIFOs or devices)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                if st.st_size > BIG_FILE:
                    out[rel] = ("big", st.st_size, st.st_mtime_ns)
                else:
                    out[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(),
                                stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


def case_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The children run in the case's folder: import this checkout, not whatever is installed.
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH", "")]))
    env.update(RESONANT_CONFIG_DIR=str(root / "config"), RESONANT_DATA_DIR=str(root / "data"),
               RESONANT_MODELS_DIR=str(root / "models"), QT_QPA_PLATFORM="offscreen",
               PYTHONFAULTHANDLER="0", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    return env


def run_cli(argv: list[str], root: Path, cwd: Path) -> Outcome:
    """``python -m resonant_studio.cli *argv`` with stdin closed, killed (whole group) past
    :data:`KILL_AFTER_S`."""
    err_path, out_path = root.parent / f"{root.name}.stderr", root.parent / f"{root.name}.stdout"
    with open(err_path, "wb") as err, open(out_path, "wb") as out:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "resonant_studio.cli", *argv],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                                env=case_env(root), start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with suppress(ProcessLookupError):  # it ended on its own meanwhile
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(KILL_AFTER_S, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Outcome(rc=proc.returncode, stderr=err_path.read_text(errors="replace"),
                   stdout=out_path.read_text(errors="replace"), wall_s=wall,
                   max_rss_mb=usage.ru_maxrss / RSS_UNITS_PER_MB, killed=killed.is_set())
