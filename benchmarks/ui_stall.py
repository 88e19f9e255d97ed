"""Longest event-loop stall of the studio window while it generates, saves, opens and exports.

A 5 ms QTimer probes the UI thread; the longest gap between two of its ticks is the longest
the window could not react. Generation: from the click on Generate until the takes are drawn,
the mix is in the player and the generation is indexed in the library (its mix analysed about
3 s later), per piece length, each in a fresh window; the first is the process' first
indexing, the one that used to freeze the window (300-600 ms). Files: Save, Open and Export of a 5-minute
project with 12 takes, each from the action until its result is shown. Runs headless:

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_stall.py

``tests/qt/test_event_loop_stall.py`` uses the same probe and project.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

PROMPT = "energetic drum and bass, 174 bpm, rolling bass, bright pads"
PROBE_INTERVAL_MS = 5
SLOW_TICK_S = 0.03


class StallProbe:
    """A 5 ms timer on the UI thread that remembers its longest gap."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(PROBE_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.t0 = self.last = 0.0
        self.longest = 0.0
        self.ticks = 0
        self.slow: list[tuple[int, int]] = []   # (gap ms, at ms) for gaps over 30 ms

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = now - self.last
        if gap > SLOW_TICK_S:
            self.slow.append((round(gap * 1000), round((self.last - self.t0) * 1000)))
        self.longest = max(self.longest, gap)
        self.last = now
        self.ticks += 1

    def start(self) -> None:
        self.t0 = self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    @property
    def longest_ms(self) -> float:
        return self.longest * 1000.0

    def since_start_ms(self) -> int:
        return round((time.perf_counter() - self.t0) * 1000)


def run_until(condition: Callable[[], bool], timeout_s: float = 300.0) -> None:
    """Turn the event loop until ``condition()`` (the probe keeps ticking meanwhile)."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not finish in time")
        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def long_session(minutes: float = 5.0, takes_per_track: int = 3, seed: int = 0):
    """A 5-minute session of 4 tracks with 3 takes each (12 takes): noisy tones, so FLAC has
    real work to do, as it has with music."""
    from engine.context import MusicalContext
    from tracks import Session, Take, Track

    sr = 44100
    n = int(minutes * 60 * sr)
    rng = np.random.default_rng(seed)
    bars = int(np.ceil(minutes * 60 / (4 * 60 / 120)))
    session = Session(MusicalContext(tempo=120.0, bars=bars).to_dict(), name="five-minutes", sample_rate=sr, prompt="long piece")
    t = np.arange(n, dtype=np.float32) / sr
    for i, role in enumerate(("drums", "bass", "harmony", "melody")):
        track = Track(role.title(), role)
        session.add_track(track, record=False)
        for k in range(takes_per_track):
            tone = 0.2 * np.sin(2 * np.pi * (110.0 * (i + 1) + 7 * k) * t)
            noise = 0.05 * rng.standard_normal(n).astype(np.float32)
            mono = (tone + noise).astype(np.float32)
            track.add_take(Take(audio=np.stack([mono, mono], axis=1), prompt=f"{role} {k}", backend="test"))
    return session


def file_op_stalls(window, folder: Path) -> dict[str, float]:
    """Longest stall (ms) during Save As, Open and Export of the window's session into ``folder``."""
    from tracks.export_choices import ExportChoices

    stalls: dict[str, float] = {}
    done: list[object] = []

    def measure(name: str, start: Callable[[], object], signal) -> None:
        done.clear()
        signal.connect(done.append)
        probe = StallProbe()
        probe.start()
        start()
        run_until(lambda: bool(done))
        probe.stop()
        signal.disconnect(done.append)
        stalls[name] = probe.longest_ms

    project = folder / "five-minutes.resonant"
    measure("save", lambda: window.save_as(str(project)), window.projects.saved)
    window.controller.set_session(None)
    measure("open", lambda: window.projects.open(project), window.projects.opened)
    choices = ExportChoices(folder=folder, name="five-minutes", mix=True, stems=True, format="flac", bit_depth=16)

    class Dialog:  # what _export reads of the dialog
        def choices(self) -> ExportChoices:
            return choices

    measure("export", lambda: window._export(Dialog()), window.exported)
    return stalls


def generation_stall(window, bars: int) -> tuple[float, float, float]:
    """(longest stall, takes drawn and mixed, generation indexed) in ms from the click on Generate."""
    def settled() -> bool:
        w = window
        return (w.session is not None and not w.controller.busy and not w.controller.mix_pending
                and not w.timeline.building and len(w.session.tracks[0].takes) >= 1
                and not any(lane.waveform.envelope_pending for lane in w.timeline.lanes.values()))

    indexed: list[int] = []
    service = window.library_dock.service
    service.takes_indexed.connect(indexed.append)
    window.prompt_bar.prompt_edit.setText(PROMPT)
    window.prompt_bar.bars_box.setValue(bars)
    probe = StallProbe()
    probe.start()
    window.generate()
    run_until(settled)
    drawn = float(probe.since_start_ms())
    run_until(lambda: bool(indexed))
    probe.stop()
    service.takes_indexed.disconnect(indexed.append)
    return probe.longest_ms, drawn, float(probe.since_start_ms())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="resonant-bench-"))
    os.environ.setdefault("RESONANT_CONFIG_DIR", str(tmp / "config"))
    os.environ.setdefault("RESONANT_DATA_DIR", str(tmp / "data"))
    from PySide6.QtWidgets import QApplication

    from resonant_studio.core.playback import Player
    from resonant_studio.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def new_window() -> MainWindow:
        w = MainWindow(player_factory=lambda sr: Player(sr, open_device=False))
        w.resize(1400, 800)
        w.show()
        run_until(lambda: w.warmed_up and not w.engine.busy)  # the start-up warm-up is not measured
        return w

    for bars in (8, 32, 64):
        w = new_window()
        longest, drawn, indexed = generation_stall(w, bars)
        print(f"{bars:3d} bars: longest event-loop stall {longest:6.1f} ms over {indexed:6.0f} ms "
              f"(click to takes drawn and mixed {drawn:5.0f} ms, to the generation indexed {indexed:6.0f} ms)")
        w.controller.set_dirty(False)
        w.close()
    w = new_window()
    w.controller.set_session(long_session(), None, dirty=True)
    run_until(lambda: not w.controller.mix_pending and not w.timeline.building)
    for name, ms in file_op_stalls(w, tmp).items():
        print(f"{name:>6} of a 5-minute, 12-take project: longest event-loop stall {ms:6.1f} ms")
    w.controller.set_dirty(False)
    w.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
