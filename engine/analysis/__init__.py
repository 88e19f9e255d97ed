"""Audio analysis for "Like This Song": tempo and beats, key, loudness, sound embedding.

Import is cheap: librosa loads only when an analysis runs.
"""

from engine.analysis.analyze import analyze_audio, analyze_file
from engine.analysis.audio_io import MAX_ANALYSIS_SECONDS
from engine.analysis.describe import style_words
from engine.analysis.errors import AnalysisError
from engine.analysis.key import KeyEstimate, estimate_key, relation
from engine.analysis.result import AudioAnalysis, ReferenceAnalysis
from engine.analysis.sound_vector import SOUND_DIM

__all__ = [
    "AnalysisError",
    "AudioAnalysis",
    "KeyEstimate",
    "MAX_ANALYSIS_SECONDS",
    "ReferenceAnalysis",
    "SOUND_DIM",
    "analyze_audio",
    "analyze_file",
    "estimate_key",
    "relation",
    "style_words",
]
