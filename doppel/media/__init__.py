"""Video in and out through PyAV (FFmpeg): probe, stream frames, cut, denoise, assemble with audio."""
