"""Bounded JSON and YAML: hostile files answer fast with one sentence naming the file."""

from __future__ import annotations

import os
import time

import pytest

from engine.safe_load import (
    MAX_DEPTH, SafeLoadError, load_json_file, load_yaml_file, loads_json, loads_yaml, read_text_bounded,
)

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))

JSON_BAD = [
    ("deep_list", "[" * 100_000 + "]" * 100_000, "nests more than 64 levels deep"),
    ("deep_object", '{"a":' * 5000 + "1" + "}" * 5000, "nests more than 64 levels deep"),
    ("long_int", '{"tempo": ' + "9" * 5000 + "}", "holds a number 5000 characters long"),
    ("long_float", '{"tempo": 1.' + "5" * 400 + "}", "holds a number 402 characters long"),
    ("overflow", '{"tempo": 1e999}', "holds the number 1e999, which is too large"),
    ("nan", '{"tempo": NaN}', "holds NaN, which is not a number"),
    ("infinity", '[-Infinity]', "holds -Infinity"),
    ("truncated", '{"tempo": ', "is not valid JSON (expecting value at line 1"),
]


def test_brackets_inside_strings_do_not_count_as_depth():
    text = '{"prompt": "' + "[" * 1000 + '\\" {{{", "list": [[1]]}'
    assert loads_json(text, "x")["list"] == [[1]]


def test_nesting_up_to_the_limit_is_fine():
    assert loads_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "x") == eval("[" * MAX_DEPTH + "]" * MAX_DEPTH)


YAML_BAD = [
    ("billion_laughs", BILLION_LAUGHS, "uses a YAML alias (line 2)"),
    ("one_alias", "a: &x 1\nb: *x\n", "uses a YAML alias"),
    ("deep", "x: " + "[" * 10_000 + "]" * 10_000, "nests more than 64 levels deep"),
    ("deep_block", "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v", "nests more than 64"),
    ("long_int", "tempo: " + "9" * 5000, "holds a number 5000 characters long (line 1"),
    ("inf", "tempo: .inf", "holds inf, which is not a number"),
    ("nan", "x: [1, .nan]", "holds nan"),
    ("syntax", "a: [1, 2", "is not valid YAML"),
    ("python_tag", "x: !!python/object/apply:os.system ['echo hi']", "is not valid YAML"),
]


HOSTILE = [("json", loads_json, "/p/session.json", *c) for c in JSON_BAD] \
    + [("yaml", loads_yaml, "/u/preset.yaml", *c) for c in YAML_BAD]


@pytest.mark.parametrize("kind,loads,path,name,text,phrase", HOSTILE, ids=[f"{c[0]}-{c[3]}" for c in HOSTILE])
def test_hostile_json_and_yaml_are_one_sentence_and_fast(kind, loads, path, name, text, phrase):
    started = time.monotonic()
    with pytest.raises(SafeLoadError) as err:
        loads(text, path)
    assert time.monotonic() - started < 2
    message = str(err.value)
    assert message.startswith(path + " ") and phrase in message and "\n" not in message


def test_ordinary_yaml_and_anchors_without_aliases_load():
    assert loads_yaml("name: x\ntags: [a, b]\nenergy: 0.5\nbase: &b {k: 1}\n", "p") == {
        "name": "x", "tags": ["a", "b"], "energy": 0.5, "base": {"k": 1}}


def test_files_too_large_or_not_regular_are_refused(tmp_path):
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 1000 + "1]")
    with pytest.raises(SafeLoadError, match=r"big\.json is 0\.0 MB, more than the 0\.001 MB"):
        load_json_file(big, max_bytes=1000)
    with pytest.raises(SafeLoadError, match="not a regular file"):
        load_yaml_file(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.yaml"
        os.mkfifo(fifo)
        started = time.monotonic()
        with pytest.raises(SafeLoadError, match="not a regular file"):
            load_yaml_file(fifo)
        assert time.monotonic() - started < 2
    with pytest.raises(SafeLoadError, match="is not a regular file"):
        read_text_bounded("/dev/zero")
    with pytest.raises(FileNotFoundError):
        load_json_file(tmp_path / "missing.json")


def test_a_symlink_is_refused_when_asked(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("[1]")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert load_json_file(link) == [1]
    with pytest.raises(SafeLoadError, match="is a symbolic link"):
        load_json_file(link, follow_symlinks=False)


def test_binary_is_not_utf8(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SafeLoadError, match="is not UTF-8 text"):
        load_yaml_file(f)
