"""The timeline's view: bar labels from 1, refit after a length change, scrollbar, follow,
Shift+wheel scrolling, and the loop region dragged on the ruler with snap."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from tracks import Session, Take, Track
from widgets.timeline import Timeline


def session_with(*roles: str, bars: int = 8, tempo: float = 120.0) -> Session:
    s = Session({"tempo": tempo, "meter": (4, 4), "bars": bars}, name="t")
    for role in roles:
        t = Track(role.title(), role)
        t.add_take(Take(np.zeros((s.num_samples, 2), dtype=np.float32)))
        s.add_track(t, record=False)
    return s


@pytest.fixture
def timeline(qtbot):
    t = Timeline()
    qtbot.addWidget(t)
    t.resize(1000, 400)
    t.show()
    qtbot.waitExposed(t)
    yield t
    t.unbind()


def shown(timeline: Timeline, s: Session) -> None:
    timeline.set_session(s)
    QApplication.processEvents()
    timeline.ruler.resize(timeline.ruler.width(), timeline.ruler.height())


def test_bars_are_labelled_from_1_at_their_lines(qtbot, timeline) -> None:
    s = session_with("drums", bars=8)  # 2 s a bar at 120 bpm
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    labels = timeline.ruler.labels()
    assert labels[0] == (0.0, "1")
    assert [text for _, text in labels] == [str(i) for i in range(1, 9)]
    assert [x for x, _ in labels] == pytest.approx([2.0 * i for i in range(8)])


def test_a_length_change_refits_ruler_and_lanes_together(qtbot, timeline) -> None:
    s = session_with("drums", "bass", bars=8)
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    timeline.zoom(0.25)
    s.context = {**s.context, "bars": 32}  # 64 s
    assert timeline.visible_range() == pytest.approx((0.0, 64.0), abs=1e-6)
    one_pixel = 64.0 / timeline.ruler.width()
    for lane in timeline.lanes.values():  # the lanes share the ruler's axis, to the pixel
        assert lane.waveform.getPlotItem().vb.viewRange()[0] == pytest.approx([0.0, 64.0], abs=one_pixel / 2)
        assert lane.waveform.mapTo(timeline, QPoint(0, 0)).x() == timeline.ruler.mapTo(timeline, QPoint(0, 0)).x()
    texts = [t for _, t in timeline.ruler.labels()]
    assert texts[0] == "1" and len(texts) > 8 and texts[-1] in {str(b) for b in range(25, 33)}


def test_labels_thin_out_when_zoomed_out_and_come_back_when_zoomed_in(qtbot, timeline) -> None:
    s = session_with("drums", bars=256)
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    wide = timeline.ruler.labels()
    assert wide[0][1] == "1" and len(wide) < 64  # never a smear of overlapping numbers
    timeline.ruler.setXRange(20.0, 36.0, padding=0)  # bars 11..18
    texts = [t for _, t in timeline.ruler.labels()]
    assert {"11", "12", "13", "14", "15", "16", "17"} <= set(texts)


def test_the_scrollbar_and_the_view_move_each_other(qtbot, timeline) -> None:
    s = session_with("drums", bars=16)  # 32 s
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    bar = timeline.hscroll
    assert bar.maximum() == 0  # fitted: nothing to scroll
    timeline.ruler.setXRange(0.0, 8.0, padding=0)
    assert bar.maximum() == 24_000 and bar.pageStep() == 8_000 and bar.value() == 0
    bar.setValue(10_000)
    assert timeline.visible_range() == pytest.approx((10.0, 18.0), abs=1e-3)
    timeline.ruler.setXRange(20.0, 28.0, padding=0)
    assert bar.value() == 20_000


def test_follow_pages_the_view_with_the_playhead_only_while_playing(qtbot, timeline) -> None:
    s = session_with("drums", bars=16)
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    timeline.ruler.setXRange(0.0, 8.0, padding=0)
    timeline.set_playhead(7.0, playing=True)
    assert timeline.visible_range() == pytest.approx((0.0, 8.0))  # still well in view
    timeline.set_playhead(7.9, playing=True)
    lo, hi = timeline.visible_range()
    assert lo < 7.9 < hi and hi - lo == pytest.approx(8.0) and lo > 7.0
    timeline.set_playhead(30.0, playing=False)  # a stopped transport never scrolls
    assert timeline.visible_range()[0] == pytest.approx(lo)
    timeline.follow = False
    timeline.set_playhead(30.0, playing=True)
    assert timeline.visible_range()[0] == pytest.approx(lo)
    timeline.follow = True
    timeline.set_playhead(31.5, playing=True)  # near the end: the view stops at the end
    assert timeline.visible_range() == pytest.approx((24.0, 32.0))


def wheel(widget, dy: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, dy), Qt.MouseButton.NoButton,
                        modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget.viewport(), event)


def test_shift_wheel_scrolls_and_plain_wheel_zooms(qtbot, timeline) -> None:
    s = session_with("drums", bars=16)
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    timeline.ruler.setXRange(8.0, 16.0, padding=0)
    waveform = next(iter(timeline.lanes.values())).waveform
    wheel(waveform, -120, Qt.KeyboardModifier.ShiftModifier)  # one notch down: later in time
    lo, hi = timeline.visible_range()
    assert hi - lo == pytest.approx(8.0) and lo == pytest.approx(8.8)
    wheel(timeline.ruler, 120, Qt.KeyboardModifier.ShiftModifier)
    assert timeline.visible_range() == pytest.approx((8.0, 16.0))
    wheel(waveform, 120)  # no Shift: zoom, as before
    lo, hi = timeline.visible_range()
    assert hi - lo < 8.0 - 0.1


def drag(view, x0: float, x1: float) -> None:
    """A left-button drag across a pyqtgraph view, from x0 to x1 in its data coordinates."""
    vb = view.getPlotItem().vb
    y = view.height() / 2
    start = view.mapFromScene(vb.mapViewToScene(QPointF(x0, 0.5)))
    end = view.mapFromScene(vb.mapViewToScene(QPointF(x1, 0.5)))
    vp = view.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier

    def send(kind, x, button, buttons) -> None:
        p = QPointF(x, y)
        QApplication.sendEvent(vp, QMouseEvent(kind, p, vp.mapToGlobal(p), button, buttons, mods))

    # pyqtgraph drops move events that come faster than its rate limit: lift it while dragging
    limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", 0)
    try:
        send(QEvent.Type.MouseButtonPress, start.x(), left, left)
        for i in range(1, 11):
            send(QEvent.Type.MouseMove, start.x() + (end.x() - start.x()) * i / 10, none, left)
    finally:
        pg.setConfigOption("mouseRateLimit", limit)
    send(QEvent.Type.MouseButtonRelease, end.x(), left, none)


def test_dragging_on_the_ruler_sets_a_loop_region_snapped_to_bars(qtbot, timeline) -> None:
    s = session_with("drums", bars=8)  # 2 s a bar
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    assert timeline.snap == "bar"
    with qtbot.waitSignal(timeline.loop_region_changed) as blocker:
        drag(timeline.ruler, 4.3, 7.7)  # bar 3 .. the end of bar 4
    assert blocker.args == pytest.approx([4.0, 8.0])
    assert timeline.loop_region() == pytest.approx((4.0, 8.0))
    for lane in timeline.lanes.values():  # shaded on every lane too
        assert lane.waveform.loop_region_shown() == pytest.approx((4.0, 8.0))
    timeline.clear_loop_region()
    assert all(lane.waveform.loop_region_shown() is None for lane in timeline.lanes.values())


def test_beat_snap_and_no_snap(qtbot, timeline) -> None:
    s = session_with("drums", bars=8)  # 0.5 s a beat
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    timeline.snap = "beat"
    with qtbot.waitSignal(timeline.loop_region_changed) as blocker:
        drag(timeline.ruler, 1.3, 2.8)
    assert blocker.args == pytest.approx([1.5, 3.0])
    timeline.snap = None
    timeline.set_loop_region(1.3, 2.8)
    assert timeline.loop_region() == pytest.approx((1.3, 2.8))
    with pytest.raises(ValueError, match="snap"):
        timeline.snap = "triplet"


def drag_ruler_with_a_loop(qtbot, timeline, region: tuple[float, float], start: float, end: float) -> list:
    """On an 8-bar drums session looping `region`, drag the ruler from `start` to `end` s; the signal's args."""
    timeline.set_session(session_with("drums", bars=8))
    qtbot.waitUntil(lambda: not timeline.building)
    timeline.set_loop_region(*region)
    with qtbot.waitSignal(timeline.loop_region_changed) as blocker:
        drag(timeline.ruler, start, end)
    return blocker.args


def test_a_region_too_small_to_snap_clears_the_loop(qtbot, timeline) -> None:
    args = drag_ruler_with_a_loop(qtbot, timeline, (0.0, 4.0), 10.2, 10.6)  # under half a bar: nothing to loop
    assert args == [0.0, 0.0] and timeline.loop_region() is None


def test_dragging_inside_the_region_moves_it_along_the_grid(qtbot, timeline) -> None:
    args = drag_ruler_with_a_loop(qtbot, timeline, (2.0, 6.0), 3.0, 6.3)  # moved by 3.3 s, lands on bars again
    assert args == pytest.approx([6.0, 10.0])


def test_loop_selection_by_bars(qtbot, timeline) -> None:
    s = session_with("drums", bars=8)
    timeline.set_session(s)
    qtbot.waitUntil(lambda: not timeline.building)
    timeline.snap = None  # bar edges are exact whatever the snap
    with qtbot.waitSignal(timeline.loop_region_changed) as blocker:
        timeline.set_loop_bars(3, 4)
    assert blocker.args == pytest.approx([4.0, 8.0])
    with pytest.raises(ValueError, match="counted from 1"):
        timeline.set_loop_bars(0, 2)
