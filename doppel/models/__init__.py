"""Face-swap models: a registry of models and presets, each with one options dataclass.

    from doppel.models import create_model, load_model, save_model
    model = create_model("saehd", resolution=128, archi="liae-ud")

The names below load on first use (PEP 562): importing the options modules, as the CLI does, stays free of torch.
"""

import importlib

_EXPORTS = {
    "FaceSwapModel": "doppel.models.base", "ModelOutput": "doppel.models.base",
    "load_model": "doppel.models.io", "read_model_info": "doppel.models.io", "save_model": "doppel.models.io",
    "available_models": "doppel.models.registry", "create_model": "doppel.models.registry",
    "get_entry": "doppel.models.registry", "model_options": "doppel.models.registry",
    "register_model": "doppel.models.registry", "register_preset": "doppel.models.registry",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'doppel.models' has no attribute {name!r}")
