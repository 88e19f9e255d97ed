"""The reference library: index a folder, search by sound and text, filters, bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis import analyze_audio, analyze_file
from resonant_studio.cli import main as cli_main
from resonant_studio.library.store import Library, LibraryError, SearchFilters, library_path
from resonant_studio.library.results import parse_key
from synth_music import render

ROOT = Path(__file__).resolve().parents[1]
SR = 22050
PIECES = {
    # name: (tempo, tonic, mode, timbre, drums, subfolder)
    "saw_anthem": (128, 0, "major", "saw", True, "electronic"),
    "organ_ballad": (84, 9, "minor", "organ", False, "slow"),
    "square_chip": (140, 7, "major", "square", True, "electronic"),
    "sine_lullaby": (100, 2, "minor", "sine", False, "slow"),
    "saw_minor_drive": (112, 4, "minor", "saw", True, ""),
}


def _piece(name: str, seconds: float, seed: int = 1) -> np.ndarray:
    tempo, tonic, mode, timbre, drums, _ = PIECES[name]
    return render(tempo, tonic, mode, seconds=seconds, sr=SR, timbre=timbre, drums=drums, seed=seed)


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A music folder: five 10 s pieces (first halves of 20 s renders) in sub-folders and formats,
    plus files that are not usable audio."""
    root = tmp_path_factory.mktemp("music")
    for i, name in enumerate(PIECES):
        folder = root / PIECES[name][5]
        folder.mkdir(exist_ok=True)
        ext = ("wav", "flac", "ogg", "wav", "flac")[i]
        sf.write(str(folder / f"{name}.{ext}"), _piece(name, 20.0)[: 10 * SR], SR)
    (root / "readme.wav").write_text("not audio at all, just a renamed text file\n" * 10)
    (root / "empty.flac").write_bytes(b"")
    sf.write(str(root / "blip ♫ ünï.wav"), np.sin(np.arange(int(0.1 * SR)) * 0.3).astype(np.float32) * 0.3, SR)
    (root / "notes.txt").write_text("ignored: not an audio suffix")
    return root


@pytest.fixture()
def library(tmp_path: Path):
    lib = Library(tmp_path / "library")
    yield lib
    lib.close()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, music: Path):
    """One indexed library shared by the read-only tests."""
    lib = Library(tmp_path_factory.mktemp("shared") / "library")
    report = lib.index_folder(music)
    yield lib, report
    lib.close()


def test_index_folder_reports_each_file(indexed, music: Path) -> None:
    lib, report = indexed
    assert report.added == 6 and report.updated == 0 and report.removed == 0  # 5 pieces + the 0.1 s blip
    failed = {Path(p).name: why for p, why in report.failed}
    assert set(failed) == {"readme.wav", "empty.flac"}
    assert "not audio" in failed["readme.wav"] and "empty" in failed["empty.flac"]
    assert lib.count() == 6
    payloads = {Path(p["path"]).stem: p for p in lib.payloads().values()}
    chip = payloads["square_chip"]
    assert chip["source"] == "imported" and chip["key"] == "G major"
    assert chip["tempo"] == pytest.approx(140, rel=0.04)
    assert "electronic" in chip["tags"] and chip["title"] == "square chip"
    assert payloads["blip ♫ ünï"]["tempo"] is None  # too short for a tempo, still indexed


def test_reindex_skips_unchanged_updates_changed_removes_missing(library: Library, music: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("saw_anthem", "organ_ballad", "sine_lullaby"):
        sf.write(str(folder / f"{name}.wav"), _piece(name, 6.0), SR)
    first = library.index_folder(folder)
    assert (first.added, first.skipped) == (3, 0)
    again = library.index_folder(folder)
    assert (again.added, again.updated, again.skipped, again.removed) == (0, 0, 3, 0)

    sf.write(str(folder / "saw_anthem.wav"), _piece("saw_anthem", 7.0), SR)  # changed content and size
    (folder / "organ_ballad.wav").unlink()
    third = library.index_folder(folder)
    assert (third.added, third.updated, third.skipped, third.removed) == (0, 1, 1, 1)
    assert library.count() == 2
    durations = {Path(p["path"]).stem: p["duration"] for p in library.payloads().values()}
    assert durations == {"saw_anthem": pytest.approx(7.0, abs=0.01), "sine_lullaby": pytest.approx(6.0, abs=0.01)}


def test_index_progress_and_cancel_keep_the_store_consistent(library: Library, music: Path) -> None:
    seen: list[float] = []
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 3  # stop before the fourth file

    report = library.index_folder(music, progress=lambda f, msg: seen.append(f), cancel=cancel, batch_size=2)
    assert report.cancelled
    assert library.count() == report.added <= 3
    assert seen == sorted(seen) and seen[-1] == 1.0
    finished = library.index_folder(music)  # picks up where it stopped
    assert library.count() == 6 and finished.skipped == report.added


def test_a_different_excerpt_of_the_same_piece_ranks_first(indexed, tmp_path: Path) -> None:
    lib, _ = indexed
    for name in PIECES:
        query = tmp_path / f"{name}-later.wav"
        sf.write(str(query), _piece(name, 20.0)[10 * SR :], SR)  # the second half: not in the library
        results = lib.search(like=query, top_k=3)
        assert Path(results[0].path).stem == name, [(Path(r.path).stem, round(r.score, 3)) for r in results]
        assert results[0].score > results[1].score
        assert any(r.startswith("sounds") for r in results[0].reasons)
        assert any("tempo" in r for r in results[0].reasons) and any("key" in r for r in results[0].reasons)


def test_the_reference_itself_is_not_a_result(indexed, music: Path) -> None:
    lib, _ = indexed
    path = music / "electronic" / "saw_anthem.wav"
    results = lib.search(like=path, top_k=10)
    assert str(path.resolve()) not in [r.path for r in results]
    assert len(results) == 5


def test_filters_on_tempo_key_and_source(indexed, music: Path) -> None:
    lib, _ = indexed
    like = music / "slow" / "organ_ballad.flac"
    fast = lib.search(like=like, filters=SearchFilters(tempo_min=120, tempo_max=150))
    assert {Path(r.path).stem for r in fast} == {"saw_anthem", "square_chip"}
    minor = lib.search(like=like, filters=SearchFilters(key="Dm"))
    assert [Path(r.path).stem for r in minor] == ["sine_lullaby"]
    assert lib.search(like=like, filters=SearchFilters(source="generated")) == []
    with pytest.raises(LibraryError, match="empty"):
        SearchFilters(tempo_min=130, tempo_max=90)


def test_generated_takes_are_searchable_by_prompt(library: Library) -> None:
    sr = 22050
    prompts = {
        "t1": ("dark ambient drone for a sci-fi film, slow and eerie", render(70, 9, "minor", 6, sr, "sine", False)),
        "t2": ("happy ukulele pop with hand claps", render(120, 0, "major", 6, sr, "square", True)),
        "t3": ("aggressive metal riff with double kick drums", render(160, 4, "minor", 6, sr, "saw", True)),
    }
    for take_id, (prompt, audio) in prompts.items():
        library.add_take(analyze_audio(audio, sr), prompt=prompt, take_id=take_id)
    results = library.search(text="dark ambient for sci-fi", top_k=3)
    assert results[0].payload["take_id"] == "t1" and results[0].source == "generated"
    assert results[0].payload["prompt"].startswith("dark ambient")
    assert results[0].text_score > results[1].text_score
    # Text and sound together: the sound of take 2 with words of take 3 ranks those two first.
    both = library.search(like=analyze_audio(prompts["t2"][1], sr), text="heavy metal guitar", top_k=3)
    assert {r.payload["take_id"] for r in both[:2]} == {"t2", "t3"}
    assert both[0].sound_score is not None and both[0].text_score is not None


def test_second_process_gets_a_clear_message(library: Library) -> None:
    code = (
        "import sys; from resonant_studio.library.store import Library, LibraryError\n"
        "try:\n    Library(sys.argv[1])\nexcept LibraryError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(library.path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "open in another Resonant Studio" in out.stdout
    assert library.count() == 0  # still usable here


def test_default_store_lives_under_the_data_dir(tmp_path: Path) -> None:
    assert library_path() == Path(os.environ["RESONANT_DATA_DIR"]) / "library"
    with Library() as lib:
        assert lib.path == library_path() and lib.count() == 0


def test_bad_folders_raise_clear_errors(library: Library, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="does not exist"):
        library.index_folder(tmp_path / "missing")
    f = tmp_path / "file.wav"
    f.write_bytes(b"x")
    with pytest.raises(LibraryError, match="not a folder"):
        library.index_folder(f)
    with pytest.raises(LibraryError, match="--like"):
        library.search()


def test_unreadable_subfolder_is_reported_and_the_rest_indexed(library: Library, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "music"
    (root / "locked").mkdir(parents=True)
    sf.write(str(root / "ok.wav"), _piece("saw_anthem", 5.0), SR)
    sf.write(str(root / "locked" / "hidden.wav"), _piece("organ_ballad", 5.0), SR)
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = library.index_folder(root)
    assert report.added == 1
    assert len(report.failed) == 1 and "cannot be read" in report.failed[0][1]
    monkeypatch.undo()
    again = library.index_folder(root)  # readable again: the hidden file comes in, nothing lost
    assert (again.added, again.skipped) == (1, 1)


def test_parse_key() -> None:
    assert parse_key("Am") == "A minor" and parse_key("f# major") == "F# major" and parse_key("Bb") == "A# major"
    with pytest.raises(LibraryError, match="not a key"):
        parse_key("H dorian")


def test_cli_analyze_json(music: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["analyze", str(music / "electronic" / "square_chip.ogg"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["key"] == "G major" and abs(data["tempo"] - 140) / 140 < 0.04
    assert data["duration"] == pytest.approx(10.0, abs=0.05)


def test_cli_bad_file_is_one_sentence(music: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["analyze", str(music / "readme.wav")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("resonant: ") and "not audio" in err and "Traceback" not in err


def test_cli_index_and_search(music: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["library", "index", str(music), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == 6 and len(report["failed"]) == 2
    query = tmp_path / "q.wav"
    sf.write(str(query), _piece("square_chip", 20.0)[10 * SR :], SR)
    assert cli_main(["library", "search", "--like", str(query), "--top", "2", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 2 and Path(results[0]["path"]).stem == "square_chip"
    assert set(results[0]) >= {"path", "score", "tempo", "key"}
    assert cli_main(["library", "search", "--text", "electronic", "--key", "Gmaj", "--json"]) == 0
    assert [Path(r["path"]).stem for r in json.loads(capsys.readouterr().out)] == ["square_chip"]
    assert cli_main(["library", "search"]) == 1
    assert "--like" in capsys.readouterr().err


def test_an_unreachable_server_url_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESONANT_QDRANT_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(LibraryError, match="could not be reached"):
        Library()


def test_the_store_survives_reopening(tmp_path: Path) -> None:
    sr = 22050
    with Library(tmp_path / "lib") as lib:
        lib.add_take(analyze_audio(render(100, 0, "major", 5, sr), sr), prompt="bright piano pop", take_id="k1")
    with Library(tmp_path / "lib") as lib:
        assert lib.count() == 1
        assert lib.search(text="piano")[0].payload["take_id"] == "k1"
