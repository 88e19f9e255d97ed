"""The window's process does none of a generation's analysis: the library's helper process does.

On the window's own threads the analysis (librosa, numba) and the text model's first use held
the GIL long enough to freeze the window 100-225 ms at a time; ``test_event_loop_stall``
measures the window through that period, this test pins where the work happens.
"""

from __future__ import annotations

import signal

import numpy as np
import pytest

import engine.analysis
import engine.embedding
from resonant_studio.generation.studio import new_session
from resonant_studio.qt.library_service import LibraryService
from resonant_studio.qt.mix_renderer import snapshot
from synth_music import render
from tracks import Take

TIMEOUT_MS = 240_000  # the helper's first analysis in a run compiles librosa's numba functions


@pytest.fixture()
def service(qtbot):
    s = LibraryService()
    yield s
    s.shutdown()


def test_a_generation_is_indexed_without_analysing_it_in_this_process(qtbot, service, monkeypatch) -> None:
    session = new_session("sunny house in C major at 124 bpm", bars=4)
    n = session.num_samples
    take = Take(audio=np.ascontiguousarray(render(124, 0, "major", seconds=n / 44100 + 1, sr=44100)[:n]),
                prompt="sunny house groove")
    session.tracks[0].add_take(take)

    def not_here(*_a, **_k):
        raise AssertionError("a generation was analysed in the window's process")

    for name in ("analyze_file", "analyze_audio"):
        monkeypatch.setattr(engine.analysis, name, not_here)
    monkeypatch.setattr(engine.embedding, "shared_text_embedder", not_here)
    failures: list[str] = []
    indexed: list[int] = []
    service.failed.connect(failures.append)
    service.takes_indexed.connect(indexed.append)
    service.index_generations([(take.id, snapshot(session, 0), 44100, take.prompt, "sunny", [take.id])])
    qtbot.waitUntil(lambda: bool(indexed or failures), timeout=TIMEOUT_MS)
    assert not failures and indexed == [1]
    (payload,) = service.library.payloads(["stems", "prompt", "source"]).values()
    assert payload == {"stems": [take.id], "prompt": "sunny house groove", "source": "generated"}


def test_quitting_while_a_generation_is_analysed_stops_the_helper(qtbot) -> None:
    """Quit does not wait for an analysis (the helper's first one loads librosa: seconds)."""
    service = LibraryService()
    session = new_session("sunny house in C major at 124 bpm", bars=4)
    take = Take(audio=np.zeros((session.num_samples, 2), np.float32), prompt="silence")
    session.tracks[0].add_take(take)
    failures: list[str] = []
    indexed: list[int] = []
    service.failed.connect(failures.append)
    service.takes_indexed.connect(indexed.append)
    service.index_generations([(take.id, snapshot(session, 0), 44100, take.prompt, "quiet", [take.id])])
    qtbot.waitUntil(lambda: service._helper is not None and bool(service._helper.processes()), timeout=60_000)
    (process,) = service._helper.processes()
    service.shutdown()
    process.join(10)
    assert process.exitcode == -signal.SIGTERM  # stopped mid-analysis, not waited for
    qtbot.wait(50)
    assert not indexed and not failures  # nothing half-written, and quitting is not an error
