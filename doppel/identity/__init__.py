"""Identity embeddings (dlib ResNet 128-d) for grouping and filtering the user's own facesets."""

from doppel.identity.embed import (
    SAME_PERSON_DISTANCE,
    distances,
    embed_face,
    embed_faces,
    embed_image,
)

__all__ = ["SAME_PERSON_DISTANCE", "distances", "embed_face", "embed_faces", "embed_image"]
