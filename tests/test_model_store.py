"""The model manager against a local hub on 127.0.0.1 (tests/local_hub.py), reached via HF_ENDPOINT.

Pull -> verify -> generate with the pulled model; a download killed half-way resumes and ends
identical; a corrupted file is caught and fetched again; a full disk, cancel and no network
each end in one sentence and leave nothing that looks ready.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_hub import LocalHub
from resonant_studio.cli import main
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import model_present
from resonant_studio.core.model_hub import DownloadCancelled
from resonant_studio.core.model_store import ModelStore

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "musicgen-tiny"
MELODY = FIXTURES / "musicgen-melody-tiny"
WEIGHTS = "model.safetensors"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_sentence(text: str) -> None:
    assert "\n" not in text.strip() and "Traceback" not in text
    assert text.count(". ") == 0, text


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with LocalHub({"facebook/musicgen-small": TINY, "facebook/musicgen-melody": MELODY}, max_seconds=240) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("RESONANT_MODELS_DIR", str(tmp_path / "models"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the MLX conversion is cached
        yield h


def store(tmp_path: Path, **kw) -> ModelStore:
    return ModelStore(cache_dir=tmp_path / "cache" / "resonant-studio" / "musicgen", **kw)


def weight_requests(h: LocalHub) -> list[str | None]:
    return [rng for method, path, rng in h.requests if method == "GET" and path.endswith("/" + WEIGHTS)]


def test_pull_verify_then_generate_with_the_pulled_model(hub, tmp_path, capsys):
    assert main(["models", "list", "--json"]) == 0
    before = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert before["musicgen-small"]["state"] == "missing"
    assert before["musicgen-stem-6cb"]["engine"] == "musicgen-stem" and before["t5-base"]["licence"] == "Apache-2.0"

    assert main(["models", "pull", "musicgen-small"]) == 0
    folder = tmp_path / "models" / "musicgen-small"
    for name in ("config.json", WEIGHTS, "tokenizer.json"):
        assert sha(folder / name) == sha(TINY / name)
    assert not (folder / "reference").exists()  # only allow_patterns came
    assert not (tmp_path / "models" / ".partial").exists()
    assert list((tmp_path / "cache" / "resonant-studio" / "musicgen").glob("*.safetensors")), "converted right after"

    assert main(["models", "verify", "musicgen-small"]) == 0
    assert "matches the hub" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    after = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert after["musicgen-small"]["state"] == "ready" and after["musicgen-small"]["size_bytes"] > 1_000_000

    out = tmp_path / "out"
    assert main(["render", "lofi hip hop", "--engine", "musicgen", "--bars", "1", "--seed", "2", "--out", str(out)]) == 0
    session = json.loads(next(out.glob("*.resonant")).joinpath("session.json").read_text())
    assert "musicgen-small" in json.dumps(session)  # the takes name the pulled model


def test_killed_download_resumes_and_ends_identical(hub, tmp_path):
    hub.rate = 150_000  # bytes/s: ~9 s for the weights, time to kill it half-way
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from resonant_studio.cli import main; sys.exit(main(['models', 'pull', 'musicgen-small']))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    incomplete = tmp_path / "models" / ".partial" / "musicgen-small" / (WEIGHTS + ".incomplete")
    half = (TINY / WEIGHTS).stat().st_size // 2
    try:
        deadline = time.monotonic() + 120
        while not (incomplete.is_file() and incomplete.stat().st_size >= half):
            assert proc.poll() is None, "the pull ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    kept = incomplete.stat().st_size
    assert 0 < kept < (TINY / WEIGHTS).stat().st_size
    s = store(tmp_path)
    assert s.state("musicgen-small").state == "partial" and not model_present("musicgen-small")

    hub.rate = None
    hub.requests.clear()
    assert s.pull("musicgen-small").state == "ready"
    assert weight_requests(hub) == [f"bytes={kept}-"]  # only the rest was asked for
    assert sha(tmp_path / "models" / "musicgen-small" / WEIGHTS) == sha(TINY / WEIGHTS)


def test_dropped_connection_is_one_sentence_and_the_next_pull_resumes(hub, tmp_path):
    hub.drop_after = 500_000
    s = store(tmp_path)
    with pytest.raises(AppError) as err:
        s.pull("musicgen-small")
    one_sentence(str(err.value))
    assert s.state("musicgen-small").state == "partial" and not model_present("musicgen-small")
    hub.drop_after = None
    assert s.pull("musicgen-small").state == "ready"
    assert weight_requests(hub)[-1].startswith("bytes=")
    assert sha(tmp_path / "models" / "musicgen-small" / WEIGHTS) == sha(TINY / WEIGHTS)


def test_verify_names_a_corrupted_file_and_pull_fetches_only_it(hub, tmp_path, capsys):
    s = store(tmp_path)
    s.pull("musicgen-small")
    weights = tmp_path / "models" / "musicgen-small" / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the hash can tell
    weights.write_bytes(bytes(data))
    assert s.state("musicgen-small").state == "ready"  # sizes alone cannot tell...
    assert main(["models", "verify", "musicgen-small"]) == 1  # ...the hub's sha256 does
    assert WEIGHTS in capsys.readouterr().err
    state = s.state("musicgen-small")
    assert state.state == "broken" and WEIGHTS in state.problem
    assert not model_present("musicgen-small")  # a tier does not take a model verify found broken
    assert main(["render", "x", "--engine", "musicgen", "--bars", "1", "--out", str(tmp_path / "o")]) == 1
    assert "is broken" in capsys.readouterr().err

    hub.requests.clear()
    assert s.pull("musicgen-small").state == "ready"
    fetched = [p for m, p, _ in hub.requests if "/resolve/" in p]
    assert len(fetched) == 1 and fetched[0].endswith(WEIGHTS)
    assert sha(weights) == sha(TINY / WEIGHTS)


def test_a_file_damaged_on_the_hub_is_named_and_nothing_looks_ready(hub, tmp_path):
    hub.corrupt.add(("facebook/musicgen-small", WEIGHTS))
    s = store(tmp_path)
    with pytest.raises(AppError, match=WEIGHTS) as err:
        s.pull("musicgen-small")
    one_sentence(str(err.value))
    assert len(weight_requests(hub)) == 2  # fetched again once before giving up
    assert not model_present("musicgen-small") and s.state("musicgen-small").state != "ready"


def test_full_disk_is_one_sentence_and_writes_nothing(hub, tmp_path):
    s = store(tmp_path, free_space=lambda path: 200_000)
    with pytest.raises(AppError, match="needs .* GB free") as err:
        s.pull("musicgen-small")
    one_sentence(str(err.value))
    assert s.state("musicgen-small").state == "missing"
    assert not (tmp_path / "models" / "musicgen-small").exists()
    assert not (tmp_path / "models" / ".partial").exists()  # not a byte written


def test_cancel_keeps_a_resumable_partial_and_nothing_ready(hub, tmp_path):
    s = store(tmp_path)
    seen = []

    def cancelled() -> bool:
        return bool(seen) and seen[-1].file == WEIGHTS and seen[-1].done > 0

    with pytest.raises(DownloadCancelled):
        s.pull("musicgen-small", progress=seen.append, cancelled=cancelled)
    assert s.state("musicgen-small").state == "partial" and not model_present("musicgen-small")
    assert all(p.stage in ("checking", "downloading") for p in seen)
    assert s.pull("musicgen-small").state == "ready"


def test_no_network_and_offline_are_one_sentence(hub, tmp_path, monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    monkeypatch.setenv("HF_ENDPOINT", closed)
    start = time.monotonic()
    with pytest.raises(AppError, match="cannot reach the Hugging Face hub") as err:
        store(tmp_path).pull("musicgen-small")
    assert time.monotonic() - start < 10  # no backoff-and-retry rounds
    one_sentence(str(err.value))

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AppError, match="HF_HUB_OFFLINE") as err:
        store(tmp_path).pull("musicgen-small")
    one_sentence(str(err.value))
    assert not [r for r in hub.requests if r[1].startswith("/api/models") or "/resolve/" in r[1]]


def test_remove_deletes_folder_partial_and_converted_cache(hub, tmp_path, capsys):
    s = store(tmp_path)
    s.pull("musicgen-melody")
    cache = tmp_path / "cache" / "resonant-studio" / "musicgen"
    assert list(cache.glob("*.safetensors"))
    assert main(["models", "remove", "musicgen-melody"]) == 0
    assert s.state("musicgen-melody").state == "missing"
    assert not list(cache.glob("*.safetensors"))
    assert main(["models", "remove", "musicgen-melody"]) == 0
    assert "not installed" in capsys.readouterr().out


def test_musicgen_engine_without_model_uses_the_models_folder(hub, tmp_path, capsys):
    args = ["render", "x", "--engine", "musicgen", "--bars", "1", "--out", str(tmp_path / "o")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "resonant models pull musicgen-small" in err
    one_sentence(err.strip().removeprefix("resonant: "))


def test_list_shows_states_and_verify_checks_every_installed_model(hub, tmp_path, capsys):
    store(tmp_path).pull("musicgen-small")
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}
    assert " ready " in rows["musicgen-small"] and "preview" in rows["musicgen-small"]
    assert " missing " in rows["musicgen-medium"] and "render" in rows["musicgen-medium"]
    assert main(["models", "verify"]) == 0
    assert "musicgen-small: every file matches" in capsys.readouterr().out


def test_a_stereo_checkpoint_this_engine_cannot_load_is_never_ready(hub, tmp_path):
    stereo = tmp_path / "stereo-repo"
    shutil.copytree(TINY, stereo, ignore=shutil.ignore_patterns("reference"))
    config = json.loads((stereo / "config.json").read_text())
    config["decoder"]["audio_channels"] = 2
    (stereo / "config.json").write_text(json.dumps(config))
    hub.repos["facebook/musicgen-stereo-small"] = stereo
    s = store(tmp_path)
    try:
        s.pull("musicgen-stereo-small")
    except AppError as exc:  # this build's MusicGen is mono: the engine's loader says so, in one sentence
        one_sentence(str(exc))
        assert s.state("musicgen-stereo-small").state == "broken"
    else:  # a build whose engine reads stereo checkpoints
        assert s.state("musicgen-stereo-small").state == "ready"


def test_a_token_from_hf_token_is_sent_and_a_refusal_is_one_sentence(hub, tmp_path, monkeypatch):
    hub.token = "hf_test_token"
    monkeypatch.delenv("HF_TOKEN", raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))  # not the developer's own login
    with pytest.raises(AppError, match="HF_TOKEN") as err:
        store(tmp_path).pull("musicgen-small")
    one_sentence(str(err.value))
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert store(tmp_path).pull("musicgen-small").state == "ready"


def test_models_folder_is_the_override_the_checkout_or_the_user_data_dir(monkeypatch):
    from resonant_studio.core import model_catalog
    from resonant_studio.core.settings import data_dir

    monkeypatch.setenv("RESONANT_MODELS_DIR", "/somewhere/models")
    assert model_catalog.models_dir() == Path("/somewhere/models")
    monkeypatch.delenv("RESONANT_MODELS_DIR")
    assert model_catalog.models_dir() == ROOT / "models"  # a source checkout keeps them beside manifest.json
    monkeypatch.setattr(model_catalog, "_running_from_source", lambda: False)  # an installed app
    assert model_catalog.models_dir() == data_dir() / "models"
    assert "site-packages" not in model_catalog.models_dir().parts
