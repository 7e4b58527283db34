"""Reading and writing images, aligned faces included. Images are BGR uint8 arrays (OpenCV order)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from doppel.core.atomic import write_bytes
from doppel.core.containers import ContainerError, check_image_size
from doppel.core.errors import DoppelError
from doppel.core.metadata import FaceMeta, embed_metadata, read_metadata

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
TRASH_DIR = "_trash"


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files of a folder in name order, skipping the trash and partial writes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DoppelError("not a folder", folder, hint="Pass a folder of images")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file()
        and p.suffix.lower() in IMAGE_EXTENSIONS
        and not p.name.startswith(".")
        and TRASH_DIR not in p.relative_to(folder).parts
    )


def read_image(path: str | Path) -> np.ndarray:
    path = Path(path)
    data = np.fromfile(str(path), dtype=np.uint8) if path.exists() else None
    if data is None:
        raise DoppelError("file not found", path)
    try:
        check_image_size(data.tobytes())
    except ContainerError as e:
        raise DoppelError(f"damaged image ({e.message})", path, hint="Check the file or move it out of the folder") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DoppelError("not a readable image", path, hint="Check the file or move it out of the folder")
    return image


def encode_image(image: np.ndarray, ext: str = ".jpg", jpeg_quality: int = 90) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise DoppelError(f"could not encode image as {ext}")
    return buf.tobytes()


def write_image(path: str | Path, image: np.ndarray, jpeg_quality: int = 95) -> None:
    """Write an image atomically (format from the extension)."""
    path = Path(path)
    write_bytes(path, encode_image(image, path.suffix, jpeg_quality))


@dataclass
class AlignedFace:
    path: Path
    image: np.ndarray
    meta: FaceMeta


def write_face(path: str | Path, image: np.ndarray, meta: FaceMeta, jpeg_quality: int = 90) -> None:
    """Write an aligned face with its metadata inside the file, atomically."""
    path = Path(path)
    write_bytes(path, embed_metadata(encode_image(image, path.suffix, jpeg_quality), meta))


def read_face(path: str | Path) -> AlignedFace:
    meta = read_metadata(path)
    return AlignedFace(Path(path), read_image(path), meta)
