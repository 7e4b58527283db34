"""doppel: a face-replacement studio for video, for consenting subjects, VFX and research.

The public API of the model family is re-exported here, lazily, so `import doppel` stays light:
`doppel.available_models()`, `doppel.create_model(name, **options)`, `doppel.load_model(folder)`.
"""

__version__ = "0.1.0"

_MODEL_API = ("available_models", "create_model", "load_model", "save_model")


def __getattr__(name: str):
    if name in _MODEL_API:
        import doppel.models

        return getattr(doppel.models, name)
    raise AttributeError(f"module 'doppel' has no attribute {name!r}")
