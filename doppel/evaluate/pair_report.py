"""Write pair-check reports: report.json, report.md, coverage.png (yaw x pitch) and missing.png
(each uncovered destination face beside its nearest source face)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from doppel.core.atomic import write_bytes, write_json, write_text
from doppel.core.images import encode_image, read_image
from doppel.evaluate.pair_check import PairCheckReport
from doppel.evaluate.report import figure_png

THUMB = 96
MAX_THUMB_ROWS = 60


def coverage_grid(poses: np.ndarray, step: float, yaw_range=(-90, 90), pitch_range=(-60, 60)) -> np.ndarray:
    """Counts of faces per (pitch, yaw) cell; poses beyond the range land in the edge cells."""
    ny = int((yaw_range[1] - yaw_range[0]) / step)
    npi = int((pitch_range[1] - pitch_range[0]) / step)
    grid = np.zeros((npi, ny), np.int32)
    for yaw, pitch in np.asarray(poses).reshape(-1, 2):
        x = int(np.clip((yaw - yaw_range[0]) // step, 0, ny - 1))
        y = int(np.clip((pitch - pitch_range[0]) // step, 0, npi - 1))
        grid[y, x] += 1
    return grid


def coverage_png(report: PairCheckReport) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step = report.options.grid_step
    src = coverage_grid(report.src_poses, step)
    dst = coverage_grid(report.dst_poses, step)
    extent = (-90, 90, -60, 60)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, grid, title in ((axes[0], src, "source faces"), (axes[1], dst, "destination faces")):
        im = ax.imshow(grid, origin="lower", extent=extent, cmap="viridis", aspect="auto")
        ax.set(title=title, xlabel="yaw (°, + = nose to image right)", ylabel="pitch (°, + = up)")
        fig.colorbar(im, ax=ax)
    # red where the destination needs faces the source lacks
    need = (dst > 0) & (src == 0)
    rgb = np.ones(dst.shape + (3,))
    rgb[dst > 0] = (0.6, 0.8, 0.6)
    rgb[need] = (0.9, 0.2, 0.2)
    axes[2].imshow(rgb, origin="lower", extent=extent, aspect="auto")
    miss = np.array([[v.yaw, v.pitch] for v in report.missing]).reshape(-1, 2)
    if len(miss):
        axes[2].scatter(miss[:, 0], miss[:, 1], s=10, c="black", label="uncovered frames")
        axes[2].legend(loc="lower right")
    axes[2].set(title="destination cells: green = source faces there too, red = none", xlabel="yaw (°)", ylabel="pitch (°)")
    fig.suptitle(report.summary, fontsize=9)
    return figure_png(fig)


def _thumb(path: Path) -> np.ndarray:
    try:
        return cv2.resize(read_image(path), (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    except Exception:  # a file moved since the check: leave a grey square rather than fail the report
        return np.full((THUMB, THUMB, 3), 128, np.uint8)


def missing_sheet(report: PairCheckReport) -> np.ndarray | None:
    """Rows of [destination face | nearest source face | label]."""
    rows = []
    for v in report.missing[:MAX_THUMB_ROWS]:
        label = np.full((THUMB, THUMB * 3, 3), 255, np.uint8)
        for k, text in enumerate((f"frame {v.frame_index}", f"{v.reason}: {v.detail}", f"yaw {v.yaw:.0f} pitch {v.pitch:.0f}")):
            cv2.putText(label, text[:34], (4, 24 + 28 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        src = _thumb(report.src_dir / v.nearest_src) if v.nearest_src else np.zeros((THUMB, THUMB, 3), np.uint8)
        rows.append(np.hstack([_thumb(report.dst_dir / v.name), src, label]))
    return np.vstack(rows) if rows else None


def markdown(report: PairCheckReport) -> str:
    lines = [
        "# doppel pair-check",
        "",
        f"**{report.summary}**",
        "",
        f"- source: `{report.src_dir}` ({report.src_count} faces)",
        f"- destination: `{report.dst_dir}` ({report.dst_count} faces)",
        f"- face shape: width/height source {report.shape['src_width_to_height']:.3f}, destination "
        f"{report.shape['dst_width_to_height']:.3f}; jaw/cheek source {report.shape['src_jaw_to_cheek']:.3f}, "
        f"destination {report.shape['dst_jaw_to_cheek']:.3f}",
        "",
        "![coverage](coverage.png)",
        "",
    ]
    if report.missing:
        lines += [
            "## Destination frames with no close source face",
            "",
            "Add source footage like these, or trim them from the destination. Left: destination; right: nearest source.",
            "",
            "![missing](missing.png)",
            "",
            "| destination face | frame | reason | detail | nearest source |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {v.name} | {v.frame_index} | {v.reason} | {v.detail} | {v.nearest_src} |" for v in report.missing]
    if report.skipped:
        lines += ["", f"Skipped {len(report.skipped)} images without face metadata."]
    return "\n".join(lines) + "\n"


def write_pair_report(report: PairCheckReport, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "report.json", report.to_dict())
    write_bytes(folder / "coverage.png", coverage_png(report))
    sheet = missing_sheet(report)
    if sheet is not None:
        write_bytes(folder / "missing.png", encode_image(sheet, ".png"))
    write_text(folder / "report.md", markdown(report))
    return folder / "report.md"
