"""Face masks: landmark hulls (always available) and the trainable XSeg segmenter."""
