"""The project document (``session.json``): building it from a Session and checking one read back.

Schema 1, as written::

    {"schema_version": 1, "app": "Resonant Studio", "app_version": "0.1.0",
     "name": str, "sample_rate": int, "prompt": str, "context": {...},
     "tracks": [{"id", "name", "role", "locked", "muted", "solo", "gain_db", "pan",
                 "active_take": int | null,
                 "takes": [{...Take.metadata(), "file": "takes/<id>.flac" | null,
                            "num_samples": int, "audio_scale": float}]}]}

``audio_scale`` is the power of two the take's audio was divided by so that it fits in
FLAC's integer range (1 for any take whose peak is below full scale); see take_audio.py.
Checking happens entirely before anything is built, so a bad file never yields half a
session, and it is complete: every field's type, every range the engine would enforce
(the context through context_schema.py), every size (tracks, takes, notes, text, samples:
no take longer than the longest session the limits allow), and every field that names a
file (take and track ids, take files, the project's name) is a plain name, never a path.
Every problem is reported as :class:`MalformedDocument` with a short phrase saying where
and what (``tracks[1].pan should be ...``), which the caller turns into one sentence
naming the file. A save runs the same check on what it is about to write, so a session
that would not open again is refused before anything is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracks.context_schema import MAX_LIST, MAX_SESSION_SECONDS, MAX_TEXT, ContextError, check_context
from tracks.session import SAMPLE_RATES, Session
from tracks.track import MAX_GAIN_DB, MIN_GAIN_DB, ROLES

SCHEMA_VERSION = 1
APP_NAME = "Resonant Studio"
TAKES_DIR = "takes"
TAKE_SUFFIX = ".flac"
LOCK_FILE = ".resonant.lock"  # see project_lock.py

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_NAME = 200
MAX_PROMPT = 20000
MAX_TRACKS = 256
MAX_NOTES = 200_000


class MalformedDocument(ValueError):
    """The document is not a schema-1 project; the message says where (``tracks[1].pan: ...``)."""


class NewerSchema(ValueError):
    """The document was written by a newer app; ``version`` is its schema number."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def is_safe_id(value: object) -> bool:
    """Take ids become file names, so only letters, digits, ``_`` and ``-`` are allowed."""
    return isinstance(value, str) and bool(_SAFE_ID.match(value))


def take_file_name(take_id: str) -> str:
    return f"{TAKES_DIR}/{take_id}{TAKE_SUFFIX}"


def app_version() -> str:
    # tracks/ may not import the app package; the installed distribution knows its version.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("resonant-studio")
    except PackageNotFoundError:
        return "unknown"


# --- writing ------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """``json.dumps(default=...)`` hook: numpy scalars and arrays become plain numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"a value of type {type(value).__name__} cannot be stored in a project file")


def build_document(session: Session, audio_scales: dict[str, float]) -> dict:
    """The JSON-ready document; ``audio_scales`` maps take id to the scale its file was written with."""
    tracks = []
    for track in session.tracks:
        takes = []
        for take in track.takes:
            entry = take.metadata()
            entry["file"] = take_file_name(take.id) if take.num_samples else None
            entry["num_samples"] = take.num_samples
            entry["audio_scale"] = audio_scales.get(take.id, 1.0)
            takes.append(entry)
        tracks.append({
            "id": track.id, "name": track.name, "role": track.role, "locked": track.locked,
            "muted": track.muted, "solo": track.solo, "gain_db": track.gain_db, "pan": track.pan,
            "active_take": track.active_index, "takes": takes,
        })
    return {
        "schema_version": SCHEMA_VERSION, "app": APP_NAME, "app_version": app_version(),
        "name": session.name, "sample_rate": session.sample_rate, "prompt": session.prompt,
        "context": session.context, "tracks": tracks,
    }


# --- checking -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TakeEntry:
    id: str
    file: str | None
    num_samples: int
    audio_scale: float
    notes: tuple[tuple[int, float, float, int], ...] | None
    prompt: str
    seed: int | None
    backend: str
    params: dict
    created: str


@dataclass(frozen=True)
class TrackEntry:
    id: str
    name: str
    role: str
    locked: bool
    muted: bool
    solo: bool
    gain_db: float
    pan: float
    active_take: int | None
    takes: tuple[TakeEntry, ...]


@dataclass(frozen=True)
class Document:
    name: str
    sample_rate: int
    prompt: str
    context: dict
    tracks: tuple[TrackEntry, ...]


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_KINDS = {
    "str": (lambda v: isinstance(v, str), "text"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (_is_int, "a whole number"),
    "number": (_is_number, "a number"),
    "dict": (lambda v: isinstance(v, dict), "an object"),
    "list": (lambda v: isinstance(v, list), "a list"),
}


def _get(obj: dict, key: str, kind: str, where: str, *, optional: bool = False, default: Any = None) -> Any:
    if key not in obj:
        if optional:
            return default
        raise MalformedDocument(f"{where}{key} is missing")
    value = obj[key]
    if optional and value is None:
        return None
    check, description = _KINDS[kind]
    if not check(value):
        raise MalformedDocument(f"{where}{key} should be {description}, not {_show(value)}")
    return value


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_context(context: dict) -> None:
    """Every key the engine or the session reads must hold a value the engine accepts."""
    try:
        check_context(context)
    except ContextError as err:
        raise MalformedDocument(str(err)) from None


def _check_text(value: str, where: str, *, limit: int = MAX_TEXT) -> str:
    """Display text (names, prompts): bounded, and free of control characters."""
    if len(value) > limit:
        raise MalformedDocument(f"{where} is {len(value)} characters long (at most {limit})")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise MalformedDocument(f"{where} holds control characters")
    return value


def _check_notes(raw: object, where: str) -> tuple[tuple[int, float, float, int], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise MalformedDocument(f"{where}notes should be a list or null, not {_show(raw)}")
    if len(raw) > MAX_NOTES:
        raise MalformedDocument(f"{where}notes holds {len(raw)} notes (at most {MAX_NOTES})")
    notes = []
    for i, n in enumerate(raw):
        ok = (isinstance(n, list) and len(n) == 4 and _is_int(n[0]) and 0 <= n[0] <= 127
              and _is_number(n[1]) and n[1] >= 0 and _is_number(n[2]) and n[2] > 0
              and _is_int(n[3]) and 0 <= n[3] <= 127)
        if not ok:
            raise MalformedDocument(f"{where}notes[{i}] should be [pitch, start, duration, velocity], not {_show(n)}")
        notes.append((n[0], float(n[1]), float(n[2]), n[3]))
    return tuple(notes)


def _check_take(raw: object, where: str, max_samples: int) -> TakeEntry:
    if not isinstance(raw, dict):
        raise MalformedDocument(f"{where[:-1]} should be an object, not {_show(raw)}")
    take_id = _get(raw, "id", "str", where)
    if not is_safe_id(take_id):
        raise MalformedDocument(f"{where}id {_show(take_id)} is not a valid take id")
    num_samples = _get(raw, "num_samples", "int", where)
    if not 0 <= num_samples <= max_samples:
        raise MalformedDocument(f"{where}num_samples should be from 0 to {max_samples} "
                                f"({MAX_SESSION_SECONDS:g} s at the project's rate), not {num_samples}")
    file = _get(raw, "file", "str", where, optional=True)
    expected = take_file_name(take_id) if num_samples else None
    if file != expected:
        raise MalformedDocument(f"{where}file should be {_show(expected)}, not {_show(file)}")
    scale = _get(raw, "audio_scale", "number", where)
    if scale < 1 or math.frexp(scale)[0] != 0.5:
        raise MalformedDocument(f"{where}audio_scale should be a power of two, not {_show(scale)}")
    seed = _get(raw, "seed", "int", where, optional=True)
    if seed is not None and not 0 <= seed < 2 ** 64:
        raise MalformedDocument(f"{where}seed should be a whole number from 0 to 2**64 - 1, not {_show(seed)}")
    return TakeEntry(
        id=take_id, file=file, num_samples=num_samples, audio_scale=float(scale),
        notes=_check_notes(raw.get("notes"), where),
        prompt=_check_text(_get(raw, "prompt", "str", where), f"{where}prompt", limit=MAX_PROMPT),
        seed=seed, backend=_check_text(_get(raw, "backend", "str", where), f"{where}backend"),
        params=_get(raw, "params", "dict", where),
        created=_check_text(_get(raw, "created", "str", where), f"{where}created"),
    )


def _check_track(raw: object, where: str, max_samples: int) -> TrackEntry:
    if not isinstance(raw, dict):
        raise MalformedDocument(f"{where[:-1]} should be an object, not {_show(raw)}")
    name = _check_text(_get(raw, "name", "str", where), f"{where}name", limit=MAX_NAME)
    if not name.strip():
        raise MalformedDocument(f"{where}name is empty")
    role = _get(raw, "role", "str", where)
    if role not in ROLES:
        raise MalformedDocument(f"{where}role should be one of {', '.join(ROLES)}, not {_show(role)}")
    gain = _get(raw, "gain_db", "number", where)
    if not MIN_GAIN_DB <= gain <= MAX_GAIN_DB:
        raise MalformedDocument(f"{where}gain_db should be between {MIN_GAIN_DB:g} and {MAX_GAIN_DB:g}, not {gain}")
    pan = _get(raw, "pan", "number", where)
    if not -1 <= pan <= 1:
        raise MalformedDocument(f"{where}pan should be between -1 and 1, not {pan}")
    raw_takes = _get(raw, "takes", "list", where)
    if len(raw_takes) > MAX_LIST:
        raise MalformedDocument(f"{where}takes holds {len(raw_takes)} takes (at most {MAX_LIST})")
    takes = tuple(_check_take(t, f"{where}takes[{i}].", max_samples) for i, t in enumerate(raw_takes))
    active = _get(raw, "active_take", "int", where, optional=True)
    if active is not None and not 0 <= active < len(takes):
        raise MalformedDocument(f"{where}active_take {active} is not one of its {len(takes)} takes")
    track_id = _get(raw, "id", "str", where)
    if not is_safe_id(track_id):
        raise MalformedDocument(f"{where}id {_show(track_id)} is not a valid track id "
                                "(letters, digits, '_' and '-' only)")
    return TrackEntry(
        id=track_id, name=name, role=role, locked=_get(raw, "locked", "bool", where),
        muted=_get(raw, "muted", "bool", where), solo=_get(raw, "solo", "bool", where),
        gain_db=float(gain), pan=float(pan), active_take=active, takes=takes,
    )


def check_document(raw: object) -> Document:
    """Validate a parsed ``session.json``; raises MalformedDocument or NewerSchema."""
    if not isinstance(raw, dict):
        raise MalformedDocument(f"the top level should be an object, not {_show(raw)}")
    version = _get(raw, "schema_version", "int", "")
    if version > SCHEMA_VERSION:
        raise NewerSchema(version)
    if version < 1:
        raise MalformedDocument(f"schema_version {version} is not a valid version")
    sample_rate = _get(raw, "sample_rate", "int", "")
    if sample_rate not in SAMPLE_RATES:
        raise MalformedDocument(f"sample_rate {sample_rate} is not supported")
    context = _get(raw, "context", "dict", "")
    _check_context(context)
    raw_tracks = _get(raw, "tracks", "list", "")
    if len(raw_tracks) > MAX_TRACKS:
        raise MalformedDocument(f"tracks holds {len(raw_tracks)} tracks (at most {MAX_TRACKS})")
    max_samples = int(MAX_SESSION_SECONDS * sample_rate)
    tracks = tuple(_check_track(t, f"tracks[{i}].", max_samples) for i, t in enumerate(raw_tracks))
    seen: set[str] = set()
    for i, t in enumerate(tracks):
        if t.id in seen:
            raise MalformedDocument(f"tracks[{i}].id {t.id!r} is used by two tracks")
        seen.add(t.id)
    name = _check_text(_get(raw, "name", "str", ""), "name", limit=MAX_NAME)
    if "/" in name or "\\" in name or name.strip() in (".", ".."):
        # the app offers the project's name as a file name (export dialog, Save As)
        raise MalformedDocument(f"name {_show(name)} is a path, not a name (no '/', '\\', '.' or '..')")
    prompt = _check_text(_get(raw, "prompt", "str", ""), "prompt", limit=MAX_PROMPT)
    return Document(name=name, sample_rate=sample_rate, prompt=prompt, context=context, tracks=tracks)
