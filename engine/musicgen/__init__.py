"""Meta's MusicGen (small, medium, large, melody, stereo) in MLX, loaded from Hugging Face checkpoint folders.

``pipeline.MusicGenPipeline`` runs prompts to audio; ``backend.MusicGenBackend`` is the
``musicgen`` engine of the app. Parts: ``t5`` (text encoder), ``decoder`` (the language model
over EnCodec codes), ``encodec`` (the 32 kHz codec), ``pattern`` (delay codebook pattern, mono
or stereo-interleaved), ``chroma`` (melody conditioning), ``sampling`` (validated parameters
and the compiled sampler), ``generate`` (the decoding loop), ``checkpoint`` / ``model``
(loading and conversion), ``precision`` (dtype per platform and tier), ``continuation``
(audio to continue), ``resident`` (one loaded model at a time).
"""
