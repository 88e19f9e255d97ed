"""Longest event-loop stall of the studio window while the engine thread generates.

A 5 ms QTimer probes the UI thread from the click on Generate until the takes are drawn
and the mix is in the player. Prints one line per piece length. Runs headless:

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_stall.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = tempfile.mkdtemp(prefix="resonant-bench-")
os.environ.setdefault("RESONANT_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("RESONANT_DATA_DIR", os.path.join(_tmp, "data"))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from resonant_studio.qt.main_window import MainWindow  # noqa: E402
from resonant_studio.core.playback import Player  # noqa: E402

PROMPT = "energetic drum and bass, 174 bpm, rolling bass, bright pads"


def run_until(app: QApplication, condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def settled(w: MainWindow) -> bool:
    return (not w.controller.busy and not w.controller.mix_pending and not w.timeline.building
            and not any(lane.waveform.envelope_pending for lane in w.timeline.lanes.values()))


def measure(app: QApplication, bars: int) -> tuple[float, float]:
    w = MainWindow(player_factory=lambda sr: Player(sr, open_device=False))
    w.resize(1400, 800)
    w.show()
    run_until(app, lambda: not w.engine.busy)
    w.prompt_bar.prompt_edit.setText(PROMPT)
    w.prompt_bar.bars_box.setValue(bars)
    ticks = [time.perf_counter()]
    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    w.generate()
    run_until(app, lambda: settled(w) and len(w.session.tracks[0].takes) == 1 if w.session else False)
    probe.stop()
    ticks.append(time.perf_counter())
    longest = max(b - a for a, b in zip(ticks, ticks[1:]))
    total = ticks[-1] - ticks[0]
    w.controller.set_dirty(False)
    w.close()
    return longest * 1000.0, total * 1000.0


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    for bars in (8, 32, 64):
        longest, total = measure(app, bars)
        print(f"{bars:3d} bars: longest event-loop stall {longest:6.1f} ms over {total:6.0f} ms "
              f"(click to takes drawn and mixed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
