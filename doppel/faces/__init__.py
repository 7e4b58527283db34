"""Face extraction: detect, landmark (478-point mesh mapped to 68 points), pose, align, write faces."""
