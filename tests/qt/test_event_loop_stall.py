"""The event loop keeps turning while the window generates, saves, opens and exports.

The probe (``benchmarks/ui_stall.py``) is a 5 ms QTimer; the longest gap between two of its
ticks is the longest the window could not react. For a generation it runs from the click on
Generate until the new takes are drawn and heard (prompt reading, lanes, the generation,
applying the takes, the re-mix, the waveforms) and the generation is in the library (its mix
indexed about 3 s later: it used to freeze the window 300-600 ms); for Save, Open and Export of a 5-minute,
12-take project, from the action until its result is shown.

On a shared machine the scheduler alone can keep this process off the CPU for tens of
milliseconds, so the limit is 100 ms plus the longest gap the same probe sees in the same
process with nothing to do (measured just before; a few ms on an idle machine). A stall our
code causes shows in every attempt; one the machine's other jobs cause does not, so each
figure is the best of up to three attempts (all of them are printed, in every run's log).
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from benchmarks.ui_stall import PROMPT, StallProbe, file_op_stalls, long_session, run_until
from tests.qt.conftest import GENERATION_TIMEOUT_MS, settled

MAX_STALL_MS = 100.0
ATTEMPTS = 3
BASELINE_MS = 300
INDEX_TIMEOUT_MS = 240_000
"""The first generation indexed in a run starts the library's helper process, which compiles
librosa's numba functions into this run's fresh cache (~40 s on a loaded 2-core machine)."""


def idle_baseline_ms(qtbot) -> float:
    """The longest gap of the probe while the window does nothing: what the machine costs."""
    probe = StallProbe()
    probe.start()
    qtbot.wait(BASELINE_MS)
    probe.stop()
    return probe.longest_ms


def _generation_stall(qtbot, window) -> tuple[float, StallProbe, dict[str, int]]:
    window.new_session()
    window.prompt_bar.prompt_edit.setText(PROMPT)
    window.prompt_bar.bars_box.setValue(32)
    probe = StallProbe()
    phases: dict[str, int] = {}

    def mark(name: str):
        return lambda *_: phases.setdefault(name, probe.since_start_ms())

    busy, applied, indexed = mark("engine busy"), mark("applied"), mark("indexed")
    service = window.library_dock.service
    window.engine.started_job.connect(busy)
    window.controller.generation_applied.connect(applied)
    service.takes_indexed.connect(indexed)
    probe.start()
    with qtbot.waitSignal(window.controller.generation_applied, timeout=GENERATION_TIMEOUT_MS):
        window.prompt_bar.generate_button.click()
    qtbot.waitUntil(lambda: settled(window), timeout=GENERATION_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "indexed" in phases, timeout=INDEX_TIMEOUT_MS)  # the take is in the library
    qtbot.wait(50)  # let the lanes paint the new waveforms inside the measured window
    probe.stop()
    window.engine.started_job.disconnect(busy)
    window.controller.generation_applied.disconnect(applied)
    service.takes_indexed.disconnect(indexed)
    assert service.library.count() >= 1  # the generation was indexed, not dropped
    assert all(len(t.takes) == 1 for t in window.session.tracks)
    assert probe.ticks > 10, "the probe never ran: the measurement would be meaningless"
    return probe.longest_ms, probe, phases


def test_longest_event_loop_stall_during_generation(qtbot, window, capsys) -> None:
    qtbot.waitUntil(lambda: window.warmed_up and not window.engine.busy, timeout=GENERATION_TIMEOUT_MS)  # start-up
    window.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
    attempts = []
    for _ in range(ATTEMPTS):
        baseline = idle_baseline_ms(qtbot)
        stall_ms, probe, phases = _generation_stall(qtbot, window)
        attempts.append((stall_ms, baseline))
        with capsys.disabled():  # the figure belongs in every run's log, not only a failing one's
            print(f"\nlongest event-loop stall while generating {window.session.bars} bars: {stall_ms:.1f} ms "
                  f"(idle baseline {baseline:.1f} ms; {probe.ticks} probe ticks over {probe.since_start_ms()} ms; "
                  f"phases {phases}; gaps over 30 ms (gap, at): {probe.slow})")
        if stall_ms <= MAX_STALL_MS + baseline:
            break
    assert any(stall <= MAX_STALL_MS + base for stall, base in attempts), \
        f"the UI froze in every attempt (stall ms, idle baseline ms): {attempts}"


def test_longest_event_loop_stall_during_save_open_and_export(qtbot, window, tmp_path, capsys) -> None:
    qtbot.waitUntil(lambda: window.warmed_up and not window.engine.busy, timeout=GENERATION_TIMEOUT_MS)  # start-up
    session = long_session()
    window.controller.set_session(session, None, dirty=True)
    qtbot.waitUntil(lambda: not window.controller.mix_pending and not window.timeline.building, timeout=60_000)
    best: dict[str, float] = {}   # the smallest excess over the idle baseline, per operation
    for attempt in range(ATTEMPTS):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        baseline = idle_baseline_ms(qtbot)
        stalls = file_op_stalls(window, folder)
        with capsys.disabled():
            print("\nlongest event-loop stall, 5-minute 12-take project: "
                  + ", ".join(f"{name} {ms:.1f} ms" for name, ms in stalls.items())
                  + f" (idle baseline {baseline:.1f} ms)")
        for name, ms in stalls.items():
            best[name] = min(best.get(name, ms - baseline), ms - baseline)
        # what was written is whole: the project opened with every take, the exports exist
        assert sum(len(t.takes) for t in window.session.tracks) == 12
        assert (folder / "five-minutes.flac").is_file() and len(list((folder / "five-minutes-stems").iterdir())) == 4
        if all(ms <= MAX_STALL_MS for ms in best.values()):
            break
    run_until(lambda: not window.projects.busy)
    assert all(ms <= MAX_STALL_MS for ms in best.values()), f"the UI froze during file work (ms over baseline): {best}"


def test_the_warm_up_takes_long_lived_objects_out_of_the_collectors_walk(qtbot, window) -> None:
    """A full garbage collection walks every tracked object with the GIL held (65-85 ms mid-export)."""
    import gc

    qtbot.waitUntil(lambda: window.warmed_up, timeout=GENERATION_TIMEOUT_MS)
    assert gc.get_freeze_count() > 10_000
