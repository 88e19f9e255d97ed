"""Meta's MusicGen-Stem (Rouard et al., ICASSP 2025) in MLX: bass, drums and other as separate
streams, so some stems can be regenerated while the others are kept, heard and never changed.

Built on ``engine.musicgen`` (decoder layers, EnCodec, T5, sampling). Parts: ``unpickle``
(torch checkpoints read without executing anything), ``config`` (``xp.cfg``), ``lm``,
``codec`` (three stem EnCodecs), ``pattern`` (per-codebook delays), ``generate`` (the decoding
loop with forced streams), ``pipeline`` (text -> stems, regeneration, windows), ``backend``
(the ``musicgen-stem`` engine), ``tool`` (the raw command).
"""
