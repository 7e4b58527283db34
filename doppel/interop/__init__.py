"""Interchange with other face-swap tools: DeepFaceLab facesets (and Faceswap's PNG headers)."""
