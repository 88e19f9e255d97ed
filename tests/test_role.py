"""Role proposals on the composer's own stems (an exported stem dragged back in): synth kits
whose kick is a long sine, and basses with nothing above 2 kHz. Material rendered outside the
app is in test_locked_fit.py."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.chords import chroma_cqt
from engine.analysis.drum_onsets import detect_drums
from engine.analysis.onsets import mono_at_rate, spectrogram
from engine.analysis.role import propose_role
from engine.backends.base import GenerationRequest, PartSpec
from engine.composer.backend import ComposerBackend
from engine.context import MusicalContext
from engine.genres import GENRE_BY_NAME
from engine.theory import diatonic_chord

SR = 44100
ROLES = ("drums", "bass", "harmony", "melody")


def _stems(genre: str, seed: int = 3):
    g = GENRE_BY_NAME[genre]
    chords = tuple(diatonic_chord(9, "minor", d) for d in (1, 6, 3, 7))
    ctx = MusicalContext(tempo=g.tempo, tonic=9, mode="minor", bars=4, chords=chords, genre=genre, energy=0.6)
    request = GenerationRequest(ctx, tuple(PartSpec(r.title(), r) for r in ROLES), seed, SR)
    return ComposerBackend().generate(request)


def _role(audio: np.ndarray) -> str:
    y = mono_at_rate(audio, SR)
    spec = spectrogram(y)
    chroma, _ = chroma_cqt(y)
    return propose_role(spec, chroma, detect_drums(None, 22050, spec, y).all).role


@pytest.mark.slow
@pytest.mark.parametrize("genre, seed", [("rock", 3), ("funk", 3), ("blues", 3), ("jazz", 11), ("trip hop", 11),
                                         ("trap", 3), ("house", 3)])
def test_the_composers_stems_are_proposed_their_own_roles(genre, seed):
    # The basses of the first five read "drums": above 2 kHz their attacks are silent, and the
    # flatness of a silent band is the noise floor's, as flat as a snare's.
    got = {part.role: _role(part.audio) for part in _stems(genre, seed)}
    assert got["drums"] == "drums" and got["bass"] == "bass", got
    assert got["harmony"] in ("harmony", "melody") and got["melody"] in ("harmony", "melody"), got
