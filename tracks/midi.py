"""Standard MIDI file export of the symbolic parts, and a reader for checking what was written.

A type-1 file at 480 ticks per quarter note: a conductor track (session name, tempo, time
signature, key signature) and one track per part whose active take has notes (muted tracks
included: muting is a mix decision, the notes are still the part). Each part gets its track
name, a program change chosen from its role and the context's instrument hint, and its own
channel; drums always use channel 10 (9 counting from 0). Beats are quarter notes, as in
the session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mido

from tracks.atomic import commit, describe_os_error, remove_quietly, staged
from tracks.errors import ExportError
from tracks.session import Session
from tracks.track import Track

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9
_MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]

# General MIDI programs (0-based). The first keyword found in the role's instrument hint wins.
_BASS_PROGRAMS = (("upright", 32), ("acoustic", 32), ("fretless", 35), ("slap", 36), ("synth", 38), ("808", 38))
_HINT_PROGRAMS = (
    ("electric piano", 4), ("rhodes", 4), ("wurli", 4), ("piano", 0), ("organ", 16), ("clav", 7),
    ("vibraphone", 11), ("marimba", 12), ("bell", 14), ("nylon", 24), ("acoustic guitar", 25),
    ("distort", 30), ("guitar", 27), ("violin", 40), ("cello", 42), ("string", 48), ("choir", 52),
    ("trumpet", 56), ("brass", 61), ("sax", 65), ("flute", 73), ("pad", 89), ("pluck", 45),
    ("lead", 81), ("synth", 81),
)
_ROLE_PROGRAMS = {"drums": 0, "bass": 33, "harmony": 0, "melody": 80, "other": 48}

# Key signatures as mido names, by tonic pitch class; the spelling with fewer accidentals.
_MAJOR_KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_KEYS = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")
# A church mode is written with the signature of the scale it shares notes with:
# semitones from its tonic down to the parent major's tonic, and whether it sounds minor.
_MODE_PARENT = {"major": (0, False), "minor": (9, True), "dorian": (2, True), "phrygian": (4, True),
                "lydian": (5, False), "mixolydian": (7, False), "locrian": (11, True)}


@dataclass(frozen=True)
class MidiPart:
    name: str
    channel: int
    program: int | None
    notes: tuple[tuple[int, float, float, int], ...]  # (pitch, start beats, duration beats, velocity)


@dataclass(frozen=True)
class MidiSummary:
    tempo: float
    meter: tuple[int, int]
    key: str | None
    parts: tuple[MidiPart, ...]


def key_signature(tonic: int, mode: str) -> str:
    """The mido key name for a tonic pitch class and mode: (9, "minor") -> "Am", (2, "dorian") -> "Dm"."""
    down, minor = _MODE_PARENT.get(mode, (0, False))
    parent = (tonic - down) % 12
    return _MINOR_KEYS[(parent + 9) % 12] if minor else _MAJOR_KEYS[parent]


def program_for(role: str, hint: str) -> int:
    """General MIDI program (0-based) for a role and instrument hint: ("bass", "synth bass") -> 38."""
    if role == "drums":
        return _ROLE_PROGRAMS["drums"]
    text = hint.lower()
    for keyword, program in _BASS_PROGRAMS if role == "bass" else _HINT_PROGRAMS:
        if keyword in text:
            return program
    return _ROLE_PROGRAMS.get(role, 0)


def _instrument_hints(context: dict) -> dict[str, str]:
    raw = context.get("instruments") or {}
    pairs = raw.items() if isinstance(raw, dict) else raw
    hints = {}
    for pair in pairs:
        try:
            role, hint = pair
        except (TypeError, ValueError):
            continue
        hints[str(role)] = str(hint)
    return hints


def _ticks(beats: float) -> int:
    return int(round(beats * TICKS_PER_BEAT))


def _conductor(session: Session) -> mido.MidiTrack:
    num, den = session.meter
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=session.name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(session.tempo), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    track.append(mido.MetaMessage("key_signature", key=key_signature(session.tonic, session.mode), time=0))
    track.append(mido.MetaMessage("end_of_track", time=_ticks(session.duration * session.tempo / 60.0)))
    return track


def _part(track: Track, channel: int, program: int, end_tick: int) -> mido.MidiTrack:
    events = []  # (tick, order, message); note-offs sort before note-ons on the same tick
    for pitch, start, duration, velocity in track.active_take.notes:
        pitch = min(max(int(pitch), 0), 127)
        on = _ticks(start)
        off = max(on + 1, _ticks(start + duration))
        events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch,
                                           velocity=min(max(int(velocity), 1), 127))))
        events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    out = mido.MidiTrack()
    out.append(mido.MetaMessage("track_name", name=track.name, time=0))
    out.append(mido.Message("program_change", channel=channel, program=program, time=0))
    now = 0
    for tick, _, message in events:
        out.append(message.copy(time=tick - now))
        now = tick
    out.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return out


def build_midi(session: Session) -> mido.MidiFile:
    """The MIDI file for the session's symbolic parts; ExportError when there are none."""
    parts = [t for t in session.tracks if t.active_take is not None and t.active_take.is_symbolic]
    if not parts:
        raise ExportError("no track has notes to export: MIDI needs a composer take")
    hints = _instrument_hints(session.context)
    end_tick = _ticks(session.duration * session.tempo / 60.0)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor(session))
    melodic = 0
    for track in parts:
        if track.role == "drums":
            channel = DRUM_CHANNEL
        else:
            channel = _MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)]
            melodic += 1
        midi.tracks.append(_part(track, channel, program_for(track.role, hints.get(track.role, "")), end_tick))
    return midi


def export_midi(session: Session, path: str | os.PathLike) -> Path:
    """Write the symbolic parts to a ``.mid`` file atomically; returns its path."""
    target = Path(path).expanduser()
    midi = build_midi(session)
    if not target.parent.is_dir():
        reason = "the folder does not exist" if not target.parent.exists() else "it is inside a file, not a folder"
        raise ExportError(f"cannot write to {target}: {reason}")
    try:
        with staged(target) as tmp:
            midi.save(filename=str(tmp))
        try:
            commit(tmp, target)
        except BaseException:
            remove_quietly(tmp)
            raise
    except OSError as err:
        raise ExportError(f"cannot write to {target}: {describe_os_error(err)}") from err
    return target


def read_midi(path: str | os.PathLike) -> MidiSummary:
    """Read back a file written by :func:`export_midi` (or any type-1 file): meta data and notes."""
    midi = mido.MidiFile(str(path))
    tpb = midi.ticks_per_beat
    tempo, meter, key = 120.0, (4, 4), None
    parts = []
    for track in midi.tracks:
        name, program, channel = "", None, None
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}
        notes = []
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempo = mido.tempo2bpm(msg.tempo)
            elif msg.type == "time_signature":
                meter = (msg.numerator, msg.denominator)
            elif msg.type == "key_signature":
                key = msg.key
            elif msg.type == "track_name":
                name = msg.name
            elif msg.type == "program_change":
                program, channel = msg.program, msg.channel
            elif msg.type == "note_on" and msg.velocity > 0:
                channel = msg.channel
                sounding.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                started = sounding.get((msg.channel, msg.note))
                if started:
                    on, velocity = started.pop(0)
                    notes.append((msg.note, on / tpb, (tick - on) / tpb, velocity))
        if channel is not None:  # a part: it plays on a channel (the conductor track does not)
            notes.sort(key=lambda n: (n[1], n[0]))
            parts.append(MidiPart(name, channel, program, tuple(notes)))
    return MidiSummary(tempo=tempo, meter=meter, key=key, parts=tuple(parts))


def read_midi_parts(path: str | os.PathLike) -> list[MidiPart]:
    """The parts (tracks with channel messages) of a MIDI file, each with its notes in beats."""
    return list(read_midi(path).parts)
