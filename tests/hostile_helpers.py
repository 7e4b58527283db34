"""Helpers for the hostile-input tests: making faces and model folders, damaging them, and checking that
doppel answers with one line naming the file (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.images import encode_image
from doppel.core.metadata import FaceMeta, Pose, embed_metadata, embed_metadata_bytes, extract_metadata_bytes
from cli_helpers import one_error_line, run_doppel

TINY_MODEL = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16, batch_size=2)


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def doppel(monkeypatch, capsys, *args: str | Path) -> CliResult:
    """`doppel ARGS` through the real entry point (its error handling included), in this process."""
    return CliResult(*run_doppel(monkeypatch, capsys, *args))


def assert_one_line_error(result: CliResult, name: str) -> str:
    """A refused command: exit code != 0, no traceback, one `error:` line on stderr naming the file."""
    assert result.returncode != 0, result.stdout
    line = one_error_line(result.stderr)
    assert name in line, line
    return line


def refused_or_ok(fn: Callable[[], Any], name: str | None = None) -> Any:
    """fn() or None when it raised a one-line DoppelError (naming `name` if given); anything else fails."""
    try:
        return fn()
    except DoppelError as e:
        line = e.one_line()
        assert len(line.splitlines()) == 1 and line.strip(), repr(line)
        if name is not None:
            assert name in line, line
        return None


def assert_refused_naming(fn: Callable[[], Any], name: str) -> str:
    """fn() must raise a one-line DoppelError naming `name`; returns the line."""
    try:
        fn()
    except DoppelError as e:
        line = e.one_line()
        assert name in line and len(line.splitlines()) == 1, line
        return line
    raise AssertionError(f"accepted, expected a refusal naming {name}")


def restore_rng_and_reset(rng: dict) -> None:
    """Apply a loaded checkpoint's RNG states (they must be usable), then put the test's own back."""
    import random

    from doppel.train.checkpoint import restore_rng

    saved = random.getstate(), np.random.get_state()
    try:
        restore_rng(rng)
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])


def face_meta(size: int = 64, seed: int = 0) -> FaceMeta:
    """Plausible metadata: landmarks spread over the middle of the face, an invertible transform."""
    rng = np.random.default_rng(seed)
    landmarks = rng.uniform(size * 0.2, size * 0.8, (68, 2)).astype(np.float32)
    to_source = np.array([[2.0, 0.0, 100.0], [0.0, 2.0, 50.0]])
    return FaceMeta(
        face_type=FaceType.WHOLE_FACE, size=size, landmarks=landmarks,
        source_landmarks=(landmarks @ to_source[:, :2].T + to_source[:, 2]).astype(np.float32),
        face_to_source=to_source, pose=Pose(5.0, -2.0, 1.0), detector="test", score=0.9,
        mesh=rng.uniform(0, 300, (478, 3)).astype(np.float32),
    )


def face_bytes(ext: str = ".jpg", size: int = 64, seed: int = 0, meta: FaceMeta | None = None) -> bytes:
    image = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return embed_metadata(encode_image(image, ext), meta or face_meta(size, seed))


def write_faces(folder: Path, count: int, ext: str = ".jpg", size: int = 64) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:05d}_0{ext}"
        path.write_bytes(face_bytes(ext, size, seed=i))
        paths.append(path)
    return paths


def with_record(data: bytes, change: Callable[[dict], Any]) -> bytes:
    """Face bytes whose metadata JSON was edited by `change` (the record as parsed, changed in place)."""
    record = json.loads(extract_metadata_bytes(data))
    change(record)
    return embed_metadata_bytes(data, json.dumps(record).encode())


def with_payload(data: bytes, payload: bytes) -> bytes:
    return embed_metadata_bytes(data, payload)


def app15_segments(data: bytes) -> list[int]:
    """Offsets of doppel's APP15 metadata segments in JPEG bytes."""
    from doppel.core.containers import jpeg_segments

    return [s.start for s in jpeg_segments(data) if s.marker == 0xEF and s.body.startswith(b"doppel\0")]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def tiny_checkpoint(folder: Path, iteration: int = 3) -> Path:
    """A real model folder (model.json, weights, training state) of a tiny SAEHD model, not trained."""
    import torch

    from doppel.models.registry import create_model
    from doppel.train.checkpoint import TrainState, save_checkpoint

    torch.manual_seed(0)
    model = create_model("saehd", **TINY_MODEL)
    names = [n for n, _ in model.named_parameters()]
    opt = torch.optim.Adam(model.parameters())
    save_checkpoint(folder, model, TrainState(iteration=iteration), {"model": (opt, names)})
    return folder


# ---- fuzzing --------------------------------------------------------------------------------------

from hypothesis import strategies as st  # noqa: E402

_SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
            | st.text(max_size=12) | st.sampled_from(["", "0", "NaN", "../x", "whole_face", "MT19937", "doppel-model"]))
JSON_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
                           max_leaves=12)


def mutate_json(data: st.DataObject, base: Any, values: st.SearchStrategy = JSON_VALUES) -> Any:
    """`base` with one to three nodes replaced by random JSON values or deleted (structured corruption)."""
    import copy

    doc = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        parent, key, node = None, None, doc
        while isinstance(node, (dict, list)) and node and data.draw(st.booleans(), label="deeper"):
            keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            key = data.draw(st.sampled_from(keys), label="key")
            parent, node = node, node[key]
        if parent is None:
            doc = data.draw(values, label="document")
        elif data.draw(st.booleans(), label="delete"):
            del parent[key]
        else:
            parent[key] = data.draw(values, label="value")
    return doc


def corrupt_bytes(data: st.DataObject, base: bytes, focus: tuple[int, int] | None = None) -> bytes:
    """`base` with random byte-level damage: flipped bits, overwritten or inserted bytes, cut ranges,
    truncation; positions mostly inside `focus` (where the structure under test lies)."""
    out = bytearray(base)
    lo, hi = focus or (0, len(base))
    for _ in range(data.draw(st.integers(1, 4), label="damages")):
        if not out:
            break
        n = len(out)
        inside = data.draw(st.integers(min(lo, n - 1), max(min(hi, n) - 1, min(lo, n - 1))), label="near")
        at = data.draw(st.one_of(st.just(inside), st.integers(0, n - 1)), label="at")
        kind = data.draw(st.sampled_from(["flip", "set", "insert", "cut", "truncate"]), label="kind")
        if kind == "flip":
            out[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "set":
            out[at] = data.draw(st.sampled_from([0x00, 0xFF, 0x01, 0x7F, 0x80]), label="byte")
        elif kind == "insert":
            out[at:at] = data.draw(st.binary(min_size=1, max_size=8), label="inserted")
        elif kind == "cut":
            del out[at : at + data.draw(st.integers(1, 16), label="cut")]
        else:
            del out[at:]
    return bytes(out)
