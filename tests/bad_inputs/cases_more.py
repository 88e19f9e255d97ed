"""Bad presets, model folders and command-line arguments: tables of the corpus."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

from tests.bad_inputs.makers import billion_laughs, deep_json, deep_yaml, fifo, loop, sparse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# --- presets: name -> (option, file text or maker(path)) ------------------------------------

_STYLE = "kind: style\ndescription: test\n"
PRESETS = {
    "billion_laughs": ("--preset", billion_laughs()),
    "alias_fanout": ("--preset", "kind: style\na: &a [1,2,3]\ntags: [" + ",".join(["*a"] * 5000) + "]\n"),
    "python_object_tag": ("--preset", "kind: style\ndescription: !!python/object/apply:os.system ['touch pwned']\n"),
    "python_name_tag": ("--preset", "kind: style\ndescription: !!python/name:os.system\n"),
    "custom_tag": ("--preset", "kind: style\ndescription: !klingon honour\n"),
    "deep_nesting": ("--preset", deep_yaml(20000)),
    "deep_mapping": ("--preset", "kind: style\ndescription: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"),
    "tempo_5000_digits": ("--preset", _STYLE + "tempo: " + "9" * 5000 + "\n"),
    "energy_400_digit_float": ("--preset", _STYLE + "energy: 1" + "0" * 400 + ".5\n"),
    "tempo_string": ("--preset", _STYLE + "tempo: fast\n"),
    "tempo_reversed": ("--preset", _STYLE + "tempo: [300, 20]\n"),
    "tempo_huge": ("--preset", _STYLE + "tempo: [0, 1000000]\n"),
    "keys_klingon": ("--preset", _STYLE + "keys: [Z klingon]\n"),
    "keys_not_list": ("--preset", _STYLE + "keys: 5\n"),
    "energy_5": ("--preset", _STYLE + "energy: 5\n"),
    "energy_nan": ("--preset", _STYLE + "energy: .nan\n"),
    "generation_list": ("--preset", _STYLE + "generation: [1, 2]\n"),
    "top_k_10e12": ("--preset", _STYLE + "generation: {top_k: 1000000000000}\n"),
    "temperature_inf": ("--preset", _STYLE + "generation: {temperature: .inf}\n"),
    "cfg_nan": ("--preset", _STYLE + "generation: {cfg_coef: .nan}\n"),
    "duration_100000": ("--preset", _STYLE + "duration: 100000\n"),
    "duration_negative": ("--preset", _STYLE + "duration: -1\n"),
    "instruments_list": ("--preset", _STYLE + "instruments: [a, b]\n"),
    "kind_missing": ("--preset", "description: no kind\n"),
    "kind_klingon": ("--preset", "kind: klingon\n"),
    "kind_mismatch_role": ("--role", "kind: style\ndescription: style, asked as a role\n"),
    "top_level_list": ("--preset", "- kind\n- style\n"),
    "empty_file": ("--preset", ""),
    "binary_garbage": ("--preset", "\x00\x01\x02\xff\xfe" * 100),
    "two_documents": ("--preset", _STYLE + "---\nkind: style\n"),
    "tab_indent": ("--preset", "kind: style\ngeneration:\n\ttop_k: 5\n"),
    "duplicate_keys": ("--preset", "kind: style\nkind: role\n"),
    "huge_sparse": ("--preset", lambda p: sparse(p, 1 << 30, b"kind: style\ndescription: ")),
    "fifo": ("--preset", fifo),
    "directory": ("--preset", lambda p: p.mkdir()),
    "dev_zero": ("--preset", lambda p: os.symlink("/dev/zero", p)),
    "symlink_loop": ("--preset", loop),
    "role_bad_field": ("--role", "kind: role\nrole: kazoo\n"),
    "quality_top_k_negative": ("--quality", "kind: quality\ngeneration: {top_k: -5}\n"),
    "quality_5000_digits": ("--quality", "kind: quality\nsteps: " + "9" * 5000 + "\n"),
}

# --- model folders: name -> (engine kind, maker(folder)) -------------------------------------


def _copy(src: str):
    def make(d: Path) -> None:
        import shutil
        shutil.copytree(FIXTURES / src, d, ignore=shutil.ignore_patterns("reference", "parity"))
    return make


def _mg(*edits):
    def make(d: Path) -> None:
        _copy("musicgen-tiny")(d)
        for edit in edits:
            edit(d)
    return make


def _melody(*edits):
    def make(d: Path) -> None:
        _copy("musicgen-melody-tiny")(d)
        for edit in edits:
            edit(d)
    return make


def _config(fn):
    def edit(d: Path) -> None:
        cfg = json.loads((d / "config.json").read_text())
        fn(cfg)
        (d / "config.json").write_text(json.dumps(cfg))
    return edit


def _write(name: str, data):
    def edit(d: Path) -> None:
        f = d / name
        if f.exists() or f.is_symlink():
            f.unlink()
        if callable(data):
            data(f)
        else:
            f.write_bytes(data if isinstance(data, bytes) else data.encode())
    return edit


def _rm(name: str):
    return lambda d: (d / name).unlink()


def _safetensors(fn):
    def edit(d: Path) -> None:
        from safetensors.numpy import load_file, save_file
        weights = load_file(d / "model.safetensors")
        fn(weights)
        save_file(weights, d / "model.safetensors")
    return edit


def _shape(w):
    key = next(k for k in sorted(w) if w[k].ndim == 2)
    w[key] = w[key][:, :-1].copy()


def _drop(w):
    del w[next(k for k in sorted(w) if "decoder" in k)]


def _shards(target: str):
    def edit(d: Path) -> None:
        from safetensors.numpy import load_file
        keys = load_file(d / "model.safetensors").keys()
        (d / "model.safetensors").unlink()
        (d / "model.safetensors.index.json").write_text(json.dumps(
            {"metadata": {}, "weight_map": {k: target for k in keys}}))
    return edit


def _t5_shards(target: str):
    """The stem folder's T5 weights named by an index whose shard names ``target``."""
    def edit(d: Path) -> None:
        from safetensors.numpy import load_file
        keys = load_file(d / "t5" / "model.safetensors").keys()
        (d / "t5" / "model.safetensors").unlink()
        (d / "t5" / "model.safetensors.index.json").write_text(json.dumps(
            {"metadata": {}, "weight_map": {k: target for k in keys}}))
    return edit


def _truncate(name: str, keep: int):
    def edit(d: Path) -> None:
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[:keep])
    return edit


_PICKLE = b"cos\nsystem\n(S'touch pwned'\ntR."


def _pickle_zip(f: Path) -> None:
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("archive/data.pkl", _PICKLE)
        z.writestr("archive/version", "3\n")


def _stem(*edits):
    def make(d: Path) -> None:
        _copy("musicgen-stem-tiny-6cb")(d)
        for edit in edits:
            edit(d)
    return make


MODELS = {
    "empty_folder": ("musicgen", lambda d: d.mkdir()),
    "missing_folder": ("musicgen", lambda d: None),
    "folder_is_file": ("musicgen", lambda d: d.write_text("not a folder")),
    "folder_symlink_loop": ("musicgen", loop),
    "no_config": ("musicgen", _mg(_rm("config.json"))),
    "config_garbage": ("musicgen", _mg(_write("config.json", "{{{ not json"))),
    "config_deep": ("musicgen", _mg(_write("config.json", deep_json(50000)))),
    "config_5000_digits": ("musicgen", _mg(_write("config.json", '{"decoder": {"hidden_size": ' + "9" * 5000 + "}}"))),
    "config_array": ("musicgen", _mg(_write("config.json", "[1, 2]"))),
    "config_fifo": ("musicgen", _mg(_write("config.json", fifo))),
    "config_dev_zero": ("musicgen", _mg(_write("config.json", lambda f: os.symlink("/dev/zero", f)))),
    "config_200000_layers": ("musicgen", _mg(_config(lambda c: c["decoder"].update(num_hidden_layers=200000)))),
    "config_hidden_1e9": ("musicgen", _mg(_config(lambda c: c["decoder"].update(hidden_size=10**9, ffn_dim=10**9)))),
    "config_hidden_string": ("musicgen", _mg(_config(lambda c: c["decoder"].update(hidden_size="big")))),
    "config_heads_zero": ("musicgen", _mg(_config(lambda c: c["decoder"].update(num_attention_heads=0)))),
    "config_codebooks_negative": ("musicgen", _mg(_config(lambda c: c["decoder"].update(num_codebooks=-4)))),
    "config_vocab_1e12": ("musicgen", _mg(_config(lambda c: c["decoder"].update(vocab_size=10**12)))),
    "config_decoder_missing": ("musicgen", _mg(_config(lambda c: c.pop("decoder")))),
    "no_weights": ("musicgen", _mg(_rm("model.safetensors"))),
    "safetensors_truncated": ("musicgen", _mg(_truncate("model.safetensors", 5000))),
    "safetensors_8_bytes": ("musicgen", _mg(_truncate("model.safetensors", 8))),
    "safetensors_header_len_huge": ("musicgen", _mg(_write("model.safetensors", struct.pack("<Q", 1 << 62) + b"{}"))),
    "safetensors_header_garbage": ("musicgen", _mg(_write("model.safetensors", struct.pack("<Q", 10) + b"not json!!"))),
    "safetensors_sparse_huge": ("musicgen", _mg(_write("model.safetensors", lambda f: sparse(f, 8 << 30, struct.pack("<Q", 1 << 32))))),
    "safetensors_wrong_shape": ("musicgen", _mg(_safetensors(_shape))),
    "safetensors_missing_tensor": ("musicgen", _mg(_safetensors(_drop))),
    "shard_dotdot": ("musicgen", _mg(_shards("../../../../etc/passwd"))),
    "shard_absolute": ("musicgen", _mg(_shards("/etc/passwd"))),
    "shard_missing": ("musicgen", _mg(_shards("model-00001-of-00002.safetensors"))),
    "tokenizer_garbage": ("musicgen", _mg(_write("tokenizer.json", "{garbage"))),
    "stem_pickle_os_system": ("stem", _stem(_write("state_dict.bin", _PICKLE))),
    "stem_zip_pickle_os_system": ("stem", _stem(_write("state_dict.bin", _pickle_zip))),
    "stem_compression_pickle": ("stem", _stem(_write("compression_state_dict_bass.bin", _pickle_zip))),
    "stem_state_dict_missing": ("stem", _stem(_rm("state_dict.bin"))),
    "stem_state_dict_truncated": ("stem", _stem(_truncate("state_dict.bin", 4000))),
    "stem_empty_folder": ("stem", lambda d: d.mkdir()),
    "stem_t5_missing": ("stem", _stem(lambda d: __import__("shutil").rmtree(d / "t5"))),
    "stem_given_musicgen": ("stem", _copy("musicgen-tiny")),
    # config files beside config.json, and the stem folder's T5, go through the same bounded door
    "config_layers_true": ("musicgen", _mg(_config(lambda c: c["decoder"].update(num_hidden_layers=True)))),
    "config_activation_klingon": ("musicgen", _mg(_config(lambda c: c["decoder"].update(activation_function="klingon")))),
    "config_ratios_zero": ("musicgen", _mg(_config(lambda c: c["audio_encoder"].update(upsampling_ratios=[8, 0])))),
    "tokenizer_config_deep": ("musicgen", _mg(_write("tokenizer_config.json", deep_json(50000)))),
    "generation_config_5000_digits": ("musicgen", _mg(_write("generation_config.json", '{"top_k": ' + "9" * 5000 + "}"))),
    "index_deep": ("musicgen", _mg(_shards("model.safetensors"), _write("model.safetensors.index.json", deep_json(50000)))),
    "stem_t5_config_deep": ("stem", _stem(_write("t5/config.json", deep_json(50000)))),
    "stem_t5_config_fifo": ("stem", _stem(_write("t5/config.json", fifo))),
    "stem_t5_shard_dotdot": ("stem", _stem(_t5_shards("../../../../etc/passwd"))),
    "generation_top_k_text": ("musicgen", _mg(_write("generation_config.json", '{"do_sample": true, "top_k": "many"}'))),
    "generation_temperature_list": ("musicgen", _mg(_write("generation_config.json", '{"temperature": [1]}'))),
    "generation_guidance_1e308": ("musicgen", _mg(_write("generation_config.json", '{"guidance_scale": 1e308}'))),
    "generation_start_token_huge": ("musicgen", _mg(_write("generation_config.json", '{"decoder_start_token_id": 99999}'))),
    "config_bos_token_huge": ("musicgen", _mg(_config(lambda c: c["decoder"].update(bos_token_id=99999)))),
    "melody_preprocessor_n_fft_text": ("musicgen", _melody(_write("preprocessor_config.json", '{"n_fft": "big"}'))),
    "melody_preprocessor_hop_zero": ("musicgen", _melody(_write("preprocessor_config.json", '{"hop_length": 0}'))),
}

# --- command-line arguments: name -> argv (R: the project, O: an out folder, W: a good wav,
#     F: a FIFO, M: the tiny MusicGen) ---------------------------------------------------------

R, O, W, F, M, D = "{project}", "{out}", "{wav}", "{fifo}", "{model}", "{dir}"
REN = ["render", "techno", "--bars", "2", "--out", O]
MG = ["musicgen", "generate", "--model", M, "--prompt", "hi", "--seconds", "0.2", "--out", O + "/o.wav", "--quiet"]
ARGS = {
    "render_cfg_nan": REN + ["--cfg-coef", "nan"],
    "render_cfg_inf": REN + ["--cfg-coef", "inf"],
    "render_top_k_1e12": REN + ["--top-k", str(10**12)],
    "render_top_k_negative": REN + ["--top-k", "-1"],
    "render_top_p_2": REN + ["--top-p", "2"],
    "render_top_p_nan": REN + ["--top-p", "nan"],
    "render_temperature_inf": REN + ["--temperature", "inf"],
    "render_temperature_negative": REN + ["--temperature", "-1"],
    "render_temperature_nan": REN + ["--temperature", "nan"],
    "render_bars_0": ["render", "techno", "--bars", "0", "--out", O],
    "render_bars_100000": ["render", "techno", "--bars", "100000", "--out", O],
    "render_bars_negative": ["render", "techno", "--bars", "-4", "--out", O],
    "render_bars_text": ["render", "techno", "--bars", "eight", "--out", O],
    "render_seed_negative": REN + ["--seed", "-1"],
    "render_seed_2e70": REN + ["--seed", str(2**70)],
    "render_seed_text": REN + ["--seed", "lucky"],
    "render_format_klingon": REN + ["--format", "klingon"],
    "render_bit_depth_7": REN + ["--bit-depth", "7"],
    "render_sample_rate_1": REN + ["--sample-rate", "1"],
    "render_lufs_5": REN + ["--lufs", "5"],
    "render_lufs_nan": REN + ["--lufs", "nan"],
    "render_lufs_minus_1000": REN + ["--lufs", "-1000"],
    "render_normalize_5": REN + ["--normalize", "5"],
    "render_tempo_0": REN + ["--tempo", "0"],
    "render_tempo_nan": REN + ["--tempo", "nan"],
    "render_tempo_10000": REN + ["--tempo", "10000"],
    "render_key_klingon": REN + ["--key", "Z# klingon"],
    "render_duration_3600": REN + ["--duration", "3600"],
    "render_duration_nan": REN + ["--duration", "nan"],
    "render_duration_negative": REN + ["--duration", "-5"],
    "render_duration_mode_bad": REN + ["--duration-mode", "stretch"],
    "render_engine_bad": REN + ["--engine", "klingon"],
    "render_musicgen_no_model": REN + ["--engine", "musicgen"],
    "render_context_dev_zero": REN + ["--context-file", "/dev/zero"],
    "render_context_fifo": REN + ["--context-file", F],
    "render_context_missing": REN + ["--context-file", D + "/nope.json"],
    "render_context_dir": REN + ["--context-file", D],
    "render_preset_unknown": REN + ["--preset", "klingon"],
    "render_quality_unknown": REN + ["--quality", "klingon"],
    "render_out_is_file": ["render", "techno", "--bars", "2", "--out", W],
    "render_out_dev_null": ["render", "techno", "--bars", "2", "--out", "/dev/null/x"],
    "render_no_prompt": ["render", "--out", O],
    "render_empty_prompt": ["render", "", "--out", O],
    "render_unknown_option": REN + ["--klingon"],
    "regenerate_unknown_track": ["regenerate", R, "--track", "klingon"],
    "regenerate_missing_project": ["regenerate", D + "/none.resonant", "--track", "bass"],
    "regenerate_no_track": ["regenerate", R],
    "regenerate_project_is_file": ["regenerate", W, "--track", "bass"],
    "regenerate_seed_negative": ["regenerate", R, "--track", "bass", "--seed", "-1"],
    "regenerate_musicgen_no_model": ["regenerate", R, "--track", "bass", "--engine", "musicgen"],
    "lock_unknown_track": ["lock", R, "klingon"],
    "unlock_unknown_track": ["unlock", R, "klingon"],
    "lock_missing_project": ["lock", D + "/none.resonant", "bass"],
    "info_missing_project": ["info", D + "/none.resonant"],
    "info_dev_zero": ["info", "/dev/zero"],
    "info_fifo": ["info", F],
    "export_lufs_5": ["export", R, "--lufs", "5"],
    "export_lufs_nan": ["export", R, "--lufs", "nan"],
    "export_format_bad": ["export", R, "--format", "klingon"],
    "export_out_is_file": ["export", R, "--out", W],
    "export_missing_project": ["export", D + "/none.resonant"],
    "analyze_no_file": ["analyze"],
    "analyze_full_without_json": ["analyze", "--full", D + "/none.wav"],
    "musicgen_top_k_1e12": MG + ["--top-k", str(10**12)],
    "musicgen_temperature_inf": MG + ["--temperature", "inf"],
    "musicgen_temperature_zero": MG + ["--temperature", "0"],
    "musicgen_cfg_nan": MG + ["--cfg", "nan"],
    "musicgen_top_p_nan": MG + ["--top-p", "nan"],
    "musicgen_seconds_0": MG + ["--seconds", "0"],
    "musicgen_seconds_1e9": MG + ["--seconds", "1e9"],
    "musicgen_seconds_nan": MG + ["--seconds", "nan"],
    "musicgen_steps_negative": ["musicgen", "generate", "--model", M, "--prompt", "hi", "--steps", "-1", "--out", O + "/o.wav"],
    "musicgen_seed_negative": MG + ["--seed", "-1"],
    "musicgen_out_is_dir": ["musicgen", "generate", "--model", M, "--prompt", "hi", "--seconds", "0.2", "--out", O],
    "musicgen_prompt_100kb": ["musicgen", "generate", "--model", M, "--prompt", "la " * 34000, "--seconds", "0.2", "--out", O + "/o.wav", "--quiet"],
    "musicgen_melody_fifo": MG + ["--melody", F],
    "musicgen_continue_dev_zero": MG + ["--continue", "/dev/zero"],
    "stems_keep_bad_stem": ["musicgen", "stems", "--model", M, "--prompt", "hi", "--keep", "kazoo=" + W, "--out", O],
    "stems_keep_no_equals": ["musicgen", "stems", "--model", M, "--prompt", "hi", "--keep", W, "--out", O],
    "library_index_missing": ["library", "index", D + "/no-such-folder"],
    "library_index_file": ["library", "index", W],
    "library_index_dev_zero": ["library", "index", "/dev/zero"],
    "library_search_nothing": ["library", "search"],
    "library_search_top_0": ["library", "search", "--text", "dark", "--top", "0"],
    "library_search_top_1e12": ["library", "search", "--text", "dark", "--top", str(10**12)],
    "library_search_tempo_text": ["library", "search", "--text", "dark", "--tempo", "fast"],
    "library_search_tempo_reversed": ["library", "search", "--text", "dark", "--tempo", "200-100"],
    "library_search_key_klingon": ["library", "search", "--text", "dark", "--key", "klingon"],
    "library_search_like_missing": ["library", "search", "--like", D + "/none.wav"],
    "models_pull_unknown": ["models", "pull", "klingon-large"],
    "models_remove_unknown": ["models", "remove", "klingon-large"],
    "models_verify_unknown": ["models", "verify", "klingon-large"],
    "presets_unknown_action": ["presets", "burn"],
    "unknown_command": ["klingon"],
    "no_command": [],
}
