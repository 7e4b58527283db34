"""Curate benchmark: the embedding cache (first run vs second run), identity filter accuracy on
faceapi_bbt, and sort speed per method, all measured in the same run.

    .venv/bin/python -m benchmarks.curate [--faces 80]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doppel.core.images import list_images  # noqa: E402
from doppel.curate import filter_faceset, sort_faceset, sort_methods  # noqa: E402
from doppel.core.trash import restore  # noqa: E402
from doppel.faces.extract import ExtractOptions, extract  # noqa: E402
from doppel.identity import embed_faces  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=80, help="faces to extract from the source clip")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="doppel_curate_bench_"))
    try:
        faces = work / "faces"
        extract(DATA / "clips" / "src_woman_a.mp4", faces, ExtractOptions(size=256, max_frames=args.faces, every_n=max(1, 440 // args.faces)), progress=False)
        paths = list_images(faces)
        n = len(paths)
        _, first = _timed(lambda: embed_faces(paths))
        _, second = _timed(lambda: embed_faces(paths))
        print(f"identity embedding, {n} faces: first run {first / n * 1000:.0f} ms/face, cached {second / n * 1000:.2f} ms/face "
              f"-> cache is {first / max(second, 1e-9):.0f}x faster")

        base = None
        for name, _help in sort_methods():
            opts = {"target": max(1, n // 4)} if name == "final" else {}
            _, dt = _timed(lambda: sort_faceset(faces, name, dry_run=True, progress=False, **opts))
            base = base or dt
            print(f"sort {name:<12} {n / dt:8.1f} faces/s  ({dt / base:.2f}x the time of blur)")

        # hist / absdiff / identity chains at scale: distances one row at a time, O(N^2) time, O(N) memory
        from doppel.curate import metrics

        rng = np.random.default_rng(0)
        times = {}
        for size in (2500, 5000):
            h = rng.random((size, 192), np.float32)
            h = np.sqrt(h / h.reshape(size, 3, 64).sum(2).repeat(64, 1))
            _, times[size] = _timed(lambda: metrics.nearest_chain(h, metrics.bhattacharyya))
        print(f"hist chain: 2500 faces {times[2500]:.2f} s, 5000 faces {times[5000]:.2f} s ({times[5000] / times[2500]:.1f}x for 2x the faces)")

        # identity filter on photos of 8 people, one reference photo each, padded tight crops
        padded = work / "bbt_padded"
        padded.mkdir()
        for photo in sorted((DATA / "identities" / "faceapi_bbt").glob("*/*.png")):
            cv2.imwrite(str(padded / photo.name), cv2.copyMakeBorder(cv2.imread(str(photo)), 75, 75, 75, 75, cv2.BORDER_REPLICATE))
        bbt = work / "bbt"
        extract(padded, bbt, ExtractOptions(size=160, max_faces=1, alignments="off"), progress=False)
        accuracies = []
        for person_dir in sorted((DATA / "identities" / "faceapi_bbt").iterdir()):
            person = person_dir.name
            trial = work / f"trial_{person}"
            shutil.copytree(bbt, trial)
            (trial / f"{person}1_0.jpg").unlink()
            r = filter_faceset(trial, [person_dir / f"{person}1.png"], dry_run=True, progress=False)
            who = lambda name: Path(name).stem.split("_")[0].rstrip("0123456789")  # noqa: E731
            correct = sum(who(p) == person for p in r.kept) + sum(who(t) != person for t in r.trashed)
            accuracies.append(correct / (len(r.kept) + len(r.trashed)))
            restore(trial)
        print(f"filter on faceapi_bbt (8 people, 1 reference photo): accuracy mean {np.mean(accuracies):.3f}, worst {min(accuracies):.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
