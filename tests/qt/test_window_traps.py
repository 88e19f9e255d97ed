"""No traps, in the real window: a locked lane cannot be regenerated and says why, and
unlocking gives the button back; while a generation runs, the controls that are off say why."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QComboBox, QSpinBox, QWidget

from tests.qt.conftest import GENERATION_TIMEOUT_MS, generate, regenerate, settled


def test_a_locked_lane_says_why_and_unlocking_gives_regenerate_back(qtbot, window) -> None:
    generate(qtbot, window, bars=2)
    bass = window.session.track("bass")
    header = window.timeline.lane(bass).header
    header.lock_button.click()
    assert bass.locked
    button = header.regenerate_button
    assert not button.isEnabled()
    assert "locked" in button.toolTip() and "unlock it" in button.toolTip()
    header.lock_button.click()
    assert not bass.locked and button.isEnabled() and "locked" not in button.toolTip().split(" (")[0]
    before = len(bass.takes)
    regenerate(qtbot, window, "bass")
    assert len(bass.takes) == before + 1


def test_while_generating_the_controls_that_are_off_say_why(qtbot, window) -> None:
    generate(qtbot, window, bars=2)
    off: list[str] = []
    with qtbot.waitSignal(window.controller.generation_applied, timeout=GENERATION_TIMEOUT_MS):
        window.prompt_bar.generate_button.click()
        for area in (window.prompt_bar, window.timeline):
            for w in area.findChildren(QWidget):
                if isinstance(w, (QAbstractButton, QComboBox, QSpinBox)) and w.isVisibleTo(window) \
                        and not w.isEnabled():
                    off.append(f"{w.objectName() or type(w).__name__}: {w.toolTip()}")
    qtbot.waitUntil(lambda: settled(window))
    assert off, "nothing was turned off while generating"
    reasons = ("running", "locked", "take", "first", "wait")
    unexplained = [o for o in off if not any(r in o.split(": ", 1)[1] for r in reasons)]
    assert not unexplained, f"disabled without saying why: {unexplained}"
