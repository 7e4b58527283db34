"""Merge: put a trained model's faces back into the destination video (see docs/merge.md)."""
