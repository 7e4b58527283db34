"""Training: sample pipeline, training loop, checkpoints (`doppel train`)."""
