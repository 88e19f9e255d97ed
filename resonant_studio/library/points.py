"""What one library item is made of: its id, its payload and the text its text vector describes."""

from __future__ import annotations

import time
import uuid
from typing import Sequence

from engine.analysis import AudioAnalysis, style_words


def point_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def payload_for(analysis: AudioAnalysis, *, source: str, title: str, tags: Sequence[str], prompt: str = "",
                path: str | None = None, mtime: float | None = None, size: int | None = None) -> dict:
    return {
        "path": analysis.path if path is None else path,
        "title": title,
        "duration": round(analysis.duration, 3),
        "tempo": None if analysis.tempo is None else round(analysis.tempo, 2),
        "key": analysis.key_name,
        "energy": analysis.energy,
        "loudness": analysis.loudness_lufs,
        "tags": list(tags),
        "source": source,
        "prompt": prompt,
        "created": time.time(),
        "mtime": mtime,
        "size": size,
    }


def generation_point(analysis: AudioAnalysis, *, prompt: str, take_id: str, title: str = "", path: str = "",
                     tags: Sequence[str] = (), stems: Sequence[str] = ()) -> tuple[str, object, str, dict]:
    """(point id, sound vector, text, payload) of a generation (its mix); ``stems``: the ids of
    the takes it made. One place, for the store and for the helper process that indexes."""
    all_tags = list(dict.fromkeys([*tags, *style_words(analysis)]))
    payload = payload_for(analysis, source="generated", title=title or prompt[:60] or "take",
                          tags=all_tags, prompt=prompt, path=path)
    payload["take_id"] = take_id
    payload["stems"] = list(stems)
    return point_id(f"take:{take_id}"), analysis.sound_vector, text_for(payload), payload


def text_for(payload: dict) -> str:
    """What the text vector describes: the prompt (if any), the title and the tags."""
    parts = [payload.get("prompt") or "", payload.get("title") or "", ", ".join(payload.get("tags") or [])]
    return ". ".join(p for p in parts if p)
