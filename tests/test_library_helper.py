"""A generation's library point is computed in a helper process, and is the one this process would make."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import engine.analysis
import engine.embedding
from engine.analysis import analyze_file
from engine.embedding import shared_text_embedder
from resonant_studio.library.helper_process import HelperProcess
from resonant_studio.library.points import generation_point
from resonant_studio.library.results import LibraryError
from synth_music import render


@pytest.fixture()
def mix(tmp_path: Path) -> str:
    path = tmp_path / "generation.flac"
    sf.write(str(path), render(124, 0, "major", seconds=6.0, sr=44100, timbre="saw"), 44100, subtype="PCM_16")
    return str(path)


def test_the_helper_makes_the_point_this_process_would(mix, monkeypatch) -> None:
    analysis = analyze_file(mix)
    pid, sound, text, payload = generation_point(analysis, prompt="sunny house groove", take_id="t1", title="sunny",
                                                 path=mix, stems=["a", "b"])
    expected_text = shared_text_embedder().embed([text])[0]

    def not_here(*_a, **_k):
        raise AssertionError("analysed in the window's process")

    # the helper is another process: these stand-ins are not what it runs
    monkeypatch.setattr(engine.analysis, "analyze_file", not_here)
    monkeypatch.setattr(engine.embedding, "shared_text_embedder", not_here)
    helper = HelperProcess()
    try:
        got_pid, got_sound, got_text, got_payload = helper.generation_point(mix, prompt="sunny house groove",
                                                                            take_id="t1", title="sunny",
                                                                            stems=["a", "b"])
        assert helper.running
    finally:
        helper.close()
    assert not helper.running
    assert got_pid == pid and got_payload["stems"] == ["a", "b"] and got_payload["source"] == "generated"
    assert {k: v for k, v in got_payload.items() if k != "created"} == {k: v for k, v in payload.items()
                                                                        if k != "created"}
    np.testing.assert_allclose(got_sound, np.asarray(sound, np.float32), atol=1e-5)
    np.testing.assert_allclose(got_text, expected_text, atol=1e-5)


def test_a_file_the_helper_cannot_analyse_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "not-audio.flac"
    bad.write_text("not audio")
    helper = HelperProcess()
    try:
        with pytest.raises((LibraryError, engine.analysis.AnalysisError)) as exc:
            helper.generation_point(str(bad), prompt="x", take_id="t2", title="x")
        assert "\n" not in str(exc.value)
    finally:
        helper.close()


def test_the_helper_keeps_its_own_numba_cache_unless_the_environment_names_one(monkeypatch, tmp_path):
    from resonant_studio.library import helper_process

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    helper_process.own_numba_cache(str(tmp_path / "helper"))
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "helper")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "given"))
    helper_process.own_numba_cache(str(tmp_path / "helper"))
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "given")
