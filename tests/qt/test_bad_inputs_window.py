"""The window with the bad-input corpus (issue 13): a sample of each kind of bad project,
user preset and dropped file is refused with a message, changes nothing on disk, and the
window keeps working (it still generates afterwards)."""

from __future__ import annotations

import json
import shutil

from tests.bad_inputs import cases_files as files
from tests.bad_inputs import cases_more as more
from tests.bad_inputs.harness import tree_state
from tests.qt.conftest import generate, make_window
from resonant_studio.presets.store import user_preset_dir

BAD_PROJECTS = ["session_missing", "session_not_json", "session_fifo", "session_dev_zero", "session_loop",
                "session_sparse_1gb", "session_symlink_out", "deep_nesting", "tempo_5000_digits",
                "session_nan_literal", "schema_999", "tempo_1000", "mode_klingon", "bars_100000",
                "duration_3600", "chord_quality_klingon", "tracks_not_list", "track_active_take_99",
                "take_id_dotdot", "take_id_absolute", "take_file_missing", "takes_dir_symlink_out",
                "take_file_fifo", "take_file_nan", "take_file_dev_zero"]
BAD_PRESETS = ["billion_laughs", "python_object_tag", "deep_nesting", "tempo_5000_digits", "energy_400_digit_float",
               "temperature_inf", "kind_klingon", "binary_garbage", "huge_sparse", "fifo", "dev_zero",
               "symlink_loop", "empty_file", "two_documents"]
BAD_DROPS = ["zero_length", "random_bytes", "png_as_wav", "rate_1hz", "channels_65535",
             "nan_samples", "samples_1e30", "fifo", "dev_zero_link", "symlink_loop", "directory", "missing",
             "flac_magic_only", "zip_as_flac"]


def test_bad_projects_are_messages_and_the_window_keeps_working(qtbot, window, tmp_path) -> None:
    generate(qtbot, window, bars=2)
    with qtbot.waitSignal(window.projects.saved, timeout=60_000):
        assert window.save_as(str(tmp_path / "base"))
    base = tmp_path / "base.resonant"
    failed = []
    for name in BAD_PROJECTS:
        root = tmp_path / name
        project = root / "p.resonant"
        shutil.copytree(base, project, ignore=shutil.ignore_patterns("autosave*", ".lock*", "*.lock"))
        session = json.loads((project / "session.json").read_text())
        mutate, _ = files.PROJECTS[name]
        if mutate(session, project) != "raw":
            (project / "session.json").write_text(json.dumps(session))
        before = tree_state(root)
        with qtbot.waitSignal(window.projects.failed, timeout=30_000) as blocker:
            window.projects.open(project)
        failed.append((name, blocker.args[0]))
        assert tree_state(root) == before, name
    for name, message in failed:
        assert message and "Traceback" not in message, name
    generate(qtbot, window, bars=2)
    assert window.session is not None and all(t.takes for t in window.session.tracks)


def test_bad_user_presets_are_skipped_and_the_window_works(qtbot, tmp_path) -> None:
    folder = user_preset_dir()
    folder.mkdir(parents=True)
    for name in BAD_PRESETS:
        _, content = more.PRESETS[name]
        path = folder / f"bad_{name}.yaml"
        content(path) if callable(content) else path.write_bytes(content.encode("utf-8", "surrogateescape"))
    (folder / "mine.yaml").write_text("kind: style\ntags: [mine]\n")
    window = make_window(qtbot, tmp_path / "settings.json")
    try:
        box = window.presets.pickers.style_box
        names = {box.itemData(i) for i in range(box.count())}
        assert "mine" in names and "dark_techno" in names
        assert not {n for n in names if n and str(n).startswith("bad_")}
        assert len(window.presets.library.problems) == len(BAD_PRESETS)
        generate(qtbot, window, bars=2)
        assert all(t.takes for t in window.session.tracks)
    finally:
        window.shutdown()


def test_bad_dropped_files_are_messages_and_add_nothing(qtbot, window, tmp_path) -> None:
    generate(qtbot, window, bars=2)
    tracks = len(window.session.tracks)
    for name in BAD_DROPS:
        folder = tmp_path / name
        folder.mkdir()
        path = files.AUDIO[name](folder)
        before = tree_state(folder)
        window.controller.import_audio([str(path)])  # read on the import worker; a failure is a message

        def told() -> bool:
            error = window.notifier.last("error")
            return error is not None and path.name in error.text  # this file's own sentence

        qtbot.waitUntil(told, timeout=30_000)
        error = window.notifier.last("error")
        assert "\n" not in error.text.strip() and "Traceback" not in error.text, name
        assert len(window.session.tracks) == tracks, name
        assert tree_state(folder) == before, name
    generate(qtbot, window, bars=2)
    assert all(len(t.takes) == 2 for t in window.session.tracks)
