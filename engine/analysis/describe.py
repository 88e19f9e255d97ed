"""Plain words for an analysis: tags for the library and style words for a prompt."""

from __future__ import annotations

from engine.analysis.result import AudioAnalysis


def style_words(a: AudioAnalysis) -> tuple[str, ...]:
    """A few words a prompt understands, e.g. ('slow', 'dark', 'calm', 'minor')."""
    words: list[str] = []
    if a.tempo is not None:
        if a.tempo < 85:
            words.append("slow")
        elif a.tempo < 110:
            words.append("laid-back")
        elif a.tempo < 135:
            words.append("upbeat")
        else:
            words.append("fast")
    if a.brightness:
        if a.brightness < 1400:
            words.append("dark")
        elif a.brightness > 3200:
            words.append("bright")
    if a.energy < 0.35:
        words.append("calm")
    elif a.energy > 0.7:
        words.append("energetic")
    if a.onset_rate > 5.0:
        words.append("busy")
    elif a.onset_rate < 1.0 and a.tempo is None:
        words.append("ambient")
    if a.mode is not None:
        words.append(a.mode)
    return tuple(words)
