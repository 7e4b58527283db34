"""A restricted unpickler for DeepFaceLab metadata. This is the ONLY module in doppel that imports
pickle: DFL stores each face's metadata as a pickled dict, and plain `pickle.loads` on a shared
file runs whatever code the file asks for. Here only plain Python values and numpy array
reconstruction are allowed; any other global (os.system, builtins.eval, ...) is refused before
it is looked up, so nothing runs.
"""

from __future__ import annotations

import io
import pickle  # noqa: S403  (restricted below; see the module docstring)
import pickletools

import numpy as np
import numpy.core.multiarray as _multiarray

from doppel.core.errors import DoppelError


class UnsafePickleError(DoppelError):
    """The pickle asks for something other than plain values and numpy arrays."""


def _scalar(dtype, *args):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("numpy scalar of object type refused")
    return _multiarray.scalar(dtype, *args)


def _codecs_encode(text, encoding="latin1"):
    # Protocol-2 pickles write bytes as _codecs.encode(str, "latin1"); nothing else is allowed.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("only latin1 byte strings are allowed")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,  # pickles written by numpy 2
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs_encode,
}
_PLAIN = (type(None), bool, int, float, complex, str, bytes, bytearray)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refused to load {module}.{name} (only plain values and numpy arrays are allowed)") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("refused a persistent reference")


def _check(value, depth: int = 0) -> None:
    """Everything loaded must be plain data; object arrays could smuggle anything back in."""
    if depth > 50:
        raise UnsafePickleError("nesting too deep")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise UnsafePickleError("numpy array of Python objects refused")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check(k, depth + 1)
            _check(v, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            _check(v, depth + 1)
    elif not isinstance(value, _PLAIN + (np.generic, np.dtype)):
        raise UnsafePickleError(f"unexpected {type(value).__name__} in metadata")


def _check_sizes(data: bytes) -> None:
    """Walk the opcodes before unpickling: the unpickler allocates what a length field or a memo index asks
    for before it reads on (one flipped bit made MEMOIZE a BYTEARRAY8 of exabytes, another a LONG_BINPUT
    at index 1.5e9, a 12 GB memo). pickletools checks lengths against the data; memo indices are checked here."""
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and int(arg) > len(data):
            raise UnsafePickleError(f"memo index {arg} is beyond the data")


def safe_loads(data: bytes):
    """Unpickle plain data (dicts, lists, numbers, strings, numpy arrays); raise UnsafePickleError
    for anything else, before any of it is built."""
    try:
        _check_sizes(data)
        value = _RestrictedUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except Exception as e:  # truncated or garbled data
        raise UnsafePickleError(f"unreadable metadata ({type(e).__name__}: {e})") from e
    _check(value)
    return value


def plain_dumps(value) -> bytes:
    """Pickle plain data for DeepFaceLab to read (export). Refuses anything that is not plain data."""
    _check(value)
    return pickle.dumps(value, protocol=4)
