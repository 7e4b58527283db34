"""doppel: a face-replacement studio for video, for consenting subjects, VFX and research."""

__version__ = "0.1.0"
