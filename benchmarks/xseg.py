"""XSeg speed on real faces: training iterations/s, prediction faces/s, and `apply_xseg` (read,
predict, rewrite every face file) against prediction alone, measured in the same run.

    .venv/bin/python -m benchmarks.xseg [--faces DIR] [--iterations 60] [--device auto]

Without --faces it extracts 40 faces of clips/src_woman_a.mp4 at 128 px into a temp folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doppel.core.images import list_images, read_image  # noqa: E402
from doppel.masks.xseg import (  # noqa: E402
    XSegConfig, XSegTrainOptions, apply_xseg, hull_labels, load_xseg, predict_masks, train_xseg,
)

CLIP = ROOT.parent / "shared" / "data" / "clips" / "src_woman_a.mp4"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces", type=Path)
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--device", default=None)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        faces = tmp / "faces"
        if a.faces:
            shutil.copytree(a.faces, faces)
        else:
            from doppel.faces.extract import ExtractOptions, extract

            extract(CLIP, faces, ExtractOptions(size=128, max_frames=40, every_n=10), progress=False)
        hull_labels(faces, every=5)
        t = time.perf_counter()
        train_xseg(faces, tmp / "m", XSegTrainOptions(iterations=a.iterations, device=a.device),
                   XSegConfig(a.resolution, a.channels, 3), progress=False)
        train_its = a.iterations / (time.perf_counter() - t)
        model = load_xseg(tmp / "m", a.device)
        images = [read_image(f) for f in list_images(faces)]
        predict_masks(model, images[:4])  # warm-up
        t = time.perf_counter()
        predict_masks(model, images)
        predict_fps = len(images) / (time.perf_counter() - t)
        t = time.perf_counter()
        apply_xseg(tmp / "m", faces, device=a.device, progress=False)
        apply_fps = len(images) / (time.perf_counter() - t)
    print(f"device {model.device}, {len(images)} faces, model {a.resolution} px / {a.channels} channels")
    print(f"train    {train_its:8.2f} it/s (batch 8)")
    print(f"predict  {predict_fps:8.1f} faces/s")
    print(f"apply    {apply_fps:8.1f} faces/s  = {apply_fps / predict_fps:.2f} x predict alone (file I/O share)")


if __name__ == "__main__":
    main()
