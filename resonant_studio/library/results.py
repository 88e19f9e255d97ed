"""Search results, their reasons, and the filters a search takes. Plain data, no Qdrant."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.analysis import relation
from engine.theory import pitch_class, pitch_name
from resonant_studio.core.errors import AppError

SOURCES = ("imported", "generated")


class LibraryError(AppError):
    """The library cannot do what was asked; the message says what to do instead."""


@dataclass(frozen=True)
class SearchFilters:
    tempo_min: float | None = None
    tempo_max: float | None = None
    key: str | None = None
    """'A minor', 'C major' (normalised by ``parse_key``)."""
    source: str | None = None

    def __post_init__(self) -> None:
        if self.tempo_min is not None and self.tempo_max is not None and self.tempo_min > self.tempo_max:
            raise LibraryError(f"the tempo range {self.tempo_min:g}-{self.tempo_max:g} bpm is empty: give the lower bound first")
        if self.source is not None and self.source not in SOURCES:
            raise LibraryError(f"source must be one of {', '.join(SOURCES)}, not {self.source!r}")

    @property
    def empty(self) -> bool:
        return self.tempo_min is None and self.tempo_max is None and self.key is None and self.source is None

    def accepts(self, payload: Mapping[str, Any]) -> bool:
        tempo = payload.get("tempo")
        if self.tempo_min is not None and (tempo is None or tempo < self.tempo_min):
            return False
        if self.tempo_max is not None and (tempo is None or tempo > self.tempo_max):
            return False
        if self.key is not None and payload.get("key") != self.key:
            return False
        if self.source is not None and payload.get("source") != self.source:
            return False
        return True


_KEY_RE = re.compile(r"^\s*([A-Ga-g][#b♯♭]?)\s*(m|min|minor|maj|major|M)?\s*$")


def parse_key(text: str) -> str:
    """'Am', 'a minor', 'F#', 'Bb major' -> 'A minor', 'F# major', 'A# major'."""
    m = _KEY_RE.match(text or "")
    if not m:
        raise LibraryError(f"{text!r} is not a key: write it like 'A minor', 'Am' or 'F# major'")
    tonic = pitch_class(m.group(1))
    suffix = m.group(2) or ""
    mode = "minor" if suffix in ("m", "min", "minor") else "major"
    return f"{pitch_name(tonic)} {mode}"


def key_parts(key: str | None) -> tuple[int, str] | None:
    if not key:
        return None
    name, _, mode = key.partition(" ")
    try:
        return pitch_class(name), mode
    except ValueError:
        return None


@dataclass(frozen=True)
class SearchResult:
    path: str
    score: float
    """0..1 overall closeness (the weighted cosine of the vectors searched)."""
    payload: Mapping[str, Any] = field(repr=False)
    reasons: tuple[str, ...] = ()
    sound_score: float | None = None
    text_score: float | None = None

    @property
    def title(self) -> str:
        return str(self.payload.get("title", ""))

    @property
    def tempo(self) -> float | None:
        return self.payload.get("tempo")

    @property
    def key(self) -> str | None:
        return self.payload.get("key")

    @property
    def source(self) -> str:
        return str(self.payload.get("source", "imported"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "title": self.title,
            "score": round(self.score, 4),
            "tempo": None if self.tempo is None else round(float(self.tempo), 2),
            "key": self.key,
            "source": self.source,
            "prompt": self.payload.get("prompt", ""),
            "tags": list(self.payload.get("tags", [])),
            "duration": self.payload.get("duration"),
            "reasons": list(self.reasons),
        }


def explain(payload: Mapping[str, Any], query_tempo: float | None, query_key: str | None,
            sound_score: float | None, text_score: float | None) -> tuple[str, ...]:
    """Why a result came up: closeness of sound and text, tempo and key against the query."""
    reasons = []
    if sound_score is not None:
        reasons.append(f"sounds {_closeness(sound_score)} ({sound_score:.2f})")
    if text_score is not None:
        reasons.append(f"description {_closeness(text_score)} to the text ({text_score:.2f})")
    tempo = payload.get("tempo")
    if query_tempo and tempo:
        ratio = float(tempo) / float(query_tempo)
        diff = abs(ratio - 1.0)
        if diff <= 0.04:
            reasons.append(f"same tempo ({float(tempo):.0f} vs {query_tempo:.0f} bpm)")
        elif abs(ratio - 2.0) <= 0.08 or abs(ratio - 0.5) <= 0.04:
            reasons.append(f"double/half tempo ({float(tempo):.0f} vs {query_tempo:.0f} bpm)")
        else:
            reasons.append(f"tempo {float(tempo):.0f} bpm, {diff:.0%} from {query_tempo:.0f}")
    a, b = key_parts(payload.get("key")), key_parts(query_key)
    if a and b:
        rel = relation(a[0], a[1], b[0], b[1])
        words = {"same": "same key", "relative": "relative key", "parallel": "parallel key",
                 "fifth": "key a fifth away", "other": "different key"}
        reasons.append(f"{words[rel]} ({payload.get('key')})")
    return tuple(reasons)


def _closeness(score: float) -> str:
    if score >= 0.9:
        return "very close"
    if score >= 0.75:
        return "close"
    if score >= 0.5:
        return "somewhat close"
    return "distant"
