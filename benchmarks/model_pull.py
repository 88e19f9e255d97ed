"""How fast a pull moves bytes and checks them: MB/s for download, resume and sha256 verify.

Run: .venv/bin/python benchmarks/model_pull.py [--mb 200]
A repository with one ``--mb`` MB weights file is served by the test suite's local hub on
127.0.0.1 (no hub is reachable here), so the figure is this code's overhead over loopback,
not a network's speed: the ceiling a real download can reach on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from local_hub import LocalHub  # noqa: E402
from resonant_studio.core import model_check, model_hub  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        (repo / "weights.safetensors").write_bytes(os.urandom(args.mb << 20))
        with LocalHub({"bench/model": repo}) as hub:
            os.environ["HF_ENDPOINT"] = hub.url
            snap = model_hub.snapshot("bench/model", "main", ("*.safetensors",))
            remote = snap.files[0]
            target = Path(tmp) / "out" / remote.path
            start = time.perf_counter()
            model_hub.fetch(snap.repo, snap.commit, remote, target, lambda n: None, lambda: False)
            download = time.perf_counter() - start
            start = time.perf_counter()
            ok = model_check.file_matches(target, remote)
            verify = time.perf_counter() - start
            # resume: keep the first half as an interrupted download would, fetch the rest
            half = target.with_name(target.name + ".incomplete")
            with target.open("rb") as src:
                half.write_bytes(src.read(remote.size // 2))
            target.unlink()
            start = time.perf_counter()
            model_hub.fetch(snap.repo, snap.commit, remote, target, lambda n: None, lambda: False)
            resume = time.perf_counter() - start
            assert ok and model_check.file_matches(target, remote)
    mb = remote.size / 1e6
    print(f"file: {mb:.0f} MB over 127.0.0.1")
    print(f"download: {mb / download:7.1f} MB/s")
    print(f"resume (second half): {mb / 2 / resume:7.1f} MB/s")
    print(f"sha256 verify: {mb / verify:7.1f} MB/s")


if __name__ == "__main__":
    main()
