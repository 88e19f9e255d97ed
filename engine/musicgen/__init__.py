"""Meta's MusicGen (small, medium, large, melody) in MLX, loaded from Hugging Face checkpoint folders.

``pipeline.MusicGenPipeline`` runs prompts to audio; ``backend.MusicGenBackend`` is the
``musicgen`` engine of the app. Parts: ``t5`` (text encoder), ``decoder`` (the language model
over EnCodec codes), ``encodec`` (the 32 kHz codec), ``pattern`` (delay codebook pattern),
``chroma`` (melody conditioning), ``checkpoint`` / ``model`` (loading and conversion).
"""
