"""Quality measures of a swap (`evaluate`) and a pre-training check of the source/destination pair
(`pair_check`). Identity uses the dlib embedding, an independent judge no swap model trains against."""

from doppel.evaluate.measures import identity_from_embeddings, identity_scores

__all__ = ["identity_scores", "identity_from_embeddings"]
