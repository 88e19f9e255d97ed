"""Frame-level features with librosa, summarised per file.

librosa is imported inside ``measure`` (never at module import): its first import compiles
with numba for tens of seconds, which must not happen on the UI thread or at start-up.
Everything here is plain computation and safe to call from a worker thread.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from engine.analysis.librosa_lock import serialized

HOP = 512
N_FFT = 2048
N_MFCC = 20
MIN_TEMPO_SECONDS = 3.0
"""Shorter audio has too few beats for a tempo."""
MIN_KEY_SECONDS = 0.5
SILENCE_RMS = 1e-4


@dataclass(frozen=True)
class Features:
    """Summaries of one mono signal at ``sample_rate``."""

    seconds: float
    silent: bool
    tempo: float | None
    beats: np.ndarray
    """Beat times in seconds."""
    pulse_clarity: float
    """Mean onset strength on beats over the overall mean (1 = no pulse)."""
    onset_rate: float
    onset_mean: float
    onset_cv: float
    chroma: np.ndarray
    """[T, 12] frames, each summing to 1 (zero frames stay zero)."""
    chroma_mean: np.ndarray
    """[12] summing to 1."""
    mfcc_mean: np.ndarray
    mfcc_std: np.ndarray
    contrast_mean: np.ndarray
    contrast_std: np.ndarray
    centroid_hz: float
    log_centroid_std: float
    log_bandwidth: float
    log_rolloff: float
    log_flatness: float
    zcr: float
    rms_db_std: float
    frame_rate: float


@serialized
def measure(y: np.ndarray, sample_rate: int) -> Features:
    """All summaries of mono float32 ``y``. Very short input is zero-padded so every
    feature has at least a few frames; tempo needs ``MIN_TEMPO_SECONDS`` of audio."""
    import librosa

    seconds = len(y) / sample_rate
    rms_all = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
    silent = rms_all < SILENCE_RMS
    min_len = max(N_FFT * 4, int(3.0 * sample_rate))  # the CQT's lowest octaves need seconds of signal
    if silent:  # nothing to hear: a few seconds describe it as well as five minutes (8 s -> 0.1 s)
        y = y[:min_len]
    if len(y) < min_len:
        y = np.pad(y, (0, min_len - len(y)))

    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = S**2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sample_rate), ref=1.0, top_db=None)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sample_rate, hop_length=HOP)
    frame_rate = sample_rate / HOP

    tempo: float | None = None
    beats = np.zeros(0)
    pulse = 1.0
    if not silent and seconds >= MIN_TEMPO_SECONDS:
        raw_tempo, beat_frames = librosa.beat.beat_track(
            onset_envelope=onset_env, sr=sample_rate, hop_length=HOP, units="frames"
        )
        raw = float(np.atleast_1d(raw_tempo)[0])
        if raw > 0 and len(beat_frames) >= 4:
            beats = librosa.frames_to_time(beat_frames, sr=sample_rate, hop_length=HOP)
            tempo = refine_tempo(raw, beats)
            on_beats = onset_env[np.clip(beat_frames, 0, len(onset_env) - 1)]
            pulse = float(np.mean(on_beats) / max(1e-9, np.mean(onset_env)))
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sample_rate, hop_length=HOP) if not silent else []

    if silent:
        chroma = np.zeros((S.shape[1], 12), dtype=np.float32)
    else:
        # Short audio padded with silence can leave no pitched bin for librosa's tuning estimate,
        # which then warns on stderr ("empty frequency set") and assumes a tuning of 0 anyway.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Trying to estimate tuning", category=UserWarning)
            chroma = librosa.feature.chroma_cqt(y=y, sr=sample_rate, hop_length=HOP).T  # [T, 12]
    sums = chroma.sum(axis=1, keepdims=True)
    chroma = np.divide(chroma, sums, out=np.zeros_like(chroma), where=sums > 1e-9).astype(np.float32)
    total = chroma.sum(axis=0)
    chroma_mean = total / total.sum() if total.sum() > 0 else np.full(12, 1.0 / 12)

    eps = 1e-10
    contrast = librosa.feature.spectral_contrast(S=S, sr=sample_rate)
    centroids = librosa.feature.spectral_centroid(S=S, sr=sample_rate)  # [1, T]
    centroid = centroids[0]
    # The bandwidth is measured around the centroid: hand it over rather than have librosa
    # normalise S and compute it again (0.7 of 3.8 s for 5 minutes of audio; the same figures).
    bandwidth = librosa.feature.spectral_bandwidth(S=S, sr=sample_rate, centroid=centroids)[0]
    rolloff = librosa.feature.spectral_rolloff(S=S, sr=sample_rate)[0]
    flatness = librosa.feature.spectral_flatness(S=S)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)[0]
    rms = librosa.feature.rms(S=S, frame_length=N_FFT)[0]
    loud = rms > max(SILENCE_RMS, 1e-3 * float(rms.max(initial=0.0)))  # ignore digital silence in summaries
    if not np.any(loud):
        loud = np.ones_like(rms, dtype=bool)

    def frames(a: np.ndarray) -> np.ndarray:
        return a[..., loud[: a.shape[-1]]] if a.shape[-1] == len(loud) else a

    onset_mean = float(np.mean(onset_env))
    return Features(
        seconds=seconds,
        silent=silent,
        tempo=tempo,
        beats=np.asarray(beats, dtype=np.float64),
        pulse_clarity=pulse,
        onset_rate=len(onsets) / max(seconds, 1e-3),
        onset_mean=onset_mean,
        onset_cv=float(np.std(onset_env) / max(onset_mean, 1e-9)),
        chroma=chroma,
        chroma_mean=chroma_mean.astype(np.float32),
        mfcc_mean=frames(mfcc).mean(axis=1),
        mfcc_std=frames(mfcc).std(axis=1),
        contrast_mean=frames(contrast).mean(axis=1),
        contrast_std=frames(contrast).std(axis=1),
        centroid_hz=float(np.mean(frames(centroid))),
        log_centroid_std=float(np.std(np.log(frames(centroid) + 1.0))),
        log_bandwidth=float(np.mean(np.log(frames(bandwidth) + 1.0))),
        log_rolloff=float(np.mean(np.log(frames(rolloff) + 1.0))),
        log_flatness=float(np.mean(np.log(frames(flatness) + eps))),
        zcr=float(np.mean(frames(zcr))),
        rms_db_std=float(np.std(20 * np.log10(frames(rms) + 1e-6))),
        frame_rate=frame_rate,
    )


def refine_tempo(autocorrelation_tempo: float, beats: np.ndarray) -> float:
    """A finer tempo from the beat grid.

    librosa's tempogram peak is quantised to whole frame lags (steps of ~4% near 170 bpm);
    a least-squares line through the tracked beat times is not. The refined value is kept
    only when it agrees with the tempogram within 6% (otherwise the tracker drifted).
    """
    if len(beats) < 8:
        return autocorrelation_tempo
    intervals = np.diff(beats)
    median = float(np.median(intervals))
    # The longest run of steady beats (each interval within 15% of the median).
    steady = np.abs(intervals - median) < 0.15 * median
    best_start, best_len, start = 0, 0, None
    for i, ok in enumerate(np.append(steady, False)):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = None
    if best_len < 6:
        return autocorrelation_tempo
    run = beats[best_start : best_start + best_len + 1]
    slope = float(np.polyfit(np.arange(len(run)), run, 1)[0])
    if slope <= 0:
        return autocorrelation_tempo
    refined = 60.0 / slope
    if abs(refined - autocorrelation_tempo) / autocorrelation_tempo > 0.06:
        return autocorrelation_tempo
    return refined
