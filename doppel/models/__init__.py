"""Face-swap models: a registry of models and presets, each with one options dataclass.

    from doppel.models import create_model, load_model, save_model
    model = create_model("saehd", resolution=128, archi="liae-ud")
"""

from doppel.models.base import FaceSwapModel, ModelOutput
from doppel.models.io import load_model, read_model_info, save_model
from doppel.models.registry import available_models, create_model, get_entry, model_options, register_model, register_preset

__all__ = [
    "FaceSwapModel", "ModelOutput", "available_models", "create_model", "get_entry", "load_model",
    "model_options", "read_model_info", "register_model", "register_preset", "save_model",
]
