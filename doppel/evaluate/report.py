"""Write evaluate reports: report.json (machine), report.md (human) and PNG plots, all atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from doppel.core.atomic import write_bytes, write_json, write_text
from doppel.evaluate.evaluate import EvaluateReport


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _series(frames, key):
    xs = [f.index for f in frames if getattr(f, key) is not None]
    ys = [getattr(f, key) for f in frames if getattr(f, key) is not None]
    return xs, ys


def _plots(report: EvaluateReport) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = report.frames
    out = {}
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(*_series(frames, "src_distance"), marker=".", label="result to source identity")
    ax.axhline(report.summary["source_distance"]["threshold"], color="grey", linestyle="--", label="same-person threshold")
    ax.set(xlabel="frame", ylabel="Euclidean distance (dlib)", title="Identity: lower is more the source")
    ax.legend()
    out["identity.png"] = figure_png(fig)

    fig, ax = plt.subplots(figsize=(8, 3))
    for key in ("yaw_error", "pitch_error", "roll_error"):
        ax.plot(*_series(frames, key), marker=".", label=key.split("_")[0])
    ax.set(xlabel="frame", ylabel="degrees", title="Pose error against the destination")
    ax.legend()
    out["pose.png"] = figure_png(fig)

    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(14, 3))
    a0.plot(*_series(frames, "detail"), marker=".")
    a0.axhline(1.0, color="grey", linestyle="--")
    a0.set(xlabel="frame", ylabel="result / destination", title="Detail (eyes, brows, lips)")
    a1.plot(*_series(frames, "expression_error"), marker=".")
    a1.set(xlabel="frame", ylabel="inter-ocular units", title="Expression error (eyes, mouth)")
    xs, ys = _series(frames, "psnr_outside")
    a2.plot(xs, ys, marker=".")
    a2.set(xlabel="frame", ylabel="dB (capped)", title="PSNR outside the face")
    out["fidelity.png"] = figure_png(fig)

    t = report.summary["temporal"]
    fig, ax = plt.subplots(figsize=(6, 3))
    names = ["landmark jitter", "colour flicker"]
    res = [t["landmark_jitter"] or 0.0, t["colour_flicker"] or 0.0]
    dst = [t["landmark_jitter_dst"] or 0.0, t["colour_flicker_dst"] or 0.0]
    # normalise each pair to the destination so both fit one axis
    res_n = [r / d if d else 0.0 for r, d in zip(res, dst)]
    ax.bar(np.arange(2) - 0.2, [1.0, 1.0], 0.4, label="destination")
    ax.bar(np.arange(2) + 0.2, res_n, 0.4, label="result")
    ax.set_xticks(range(2), names)
    ax.set(ylabel="relative to destination", title="Temporal stability")
    ax.legend()
    out["temporal.png"] = figure_png(fig)
    return out


def _fmt(v, spec=".3f", unit=""):
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def markdown(report: EvaluateReport) -> str:
    s = report.summary
    ident, pose, t, out = s["identity"], s["pose_error_deg"], s["temporal"], s["outside_face"]
    dist = s["source_distance"]
    psnr = out["psnr_db"]
    psnr_text = "identical (cap)" if psnr is not None and psnr >= out["psnr_cap_db"] else _fmt(psnr, ".2f", " dB")
    lines = [
        "# doppel evaluate",
        "",
        f"- source faceset: `{report.src}`",
        f"- destination: `{report.dst}`",
        f"- result: `{report.result}`",
        f"- frames analysed: {s['frames']} (one in {report.options.every_n}); with a destination face: {s['dst_frames_with_face']}",
        "",
        "| measure | value | meaning |",
        "|---|---|---|",
        f"| distance to the source | {_fmt(dist['mean'])} | dlib Euclidean distance to the source's mean embedding (the source's own frames: about 0.2-0.3) |",
        f"| under {dist['threshold']} | {_fmt(dist['under_threshold'], '.1%')} | share of faces dlib calls the source's person (a face not found counts as not) |",
        f"| detail | {_fmt(s['detail'], '.2f')} | fine texture of eyes, brows, lips against the destination's (1 = as sharp; blur is far below) |",
        f"| identity retrieval | {_fmt(ident['retrieval_rate'], '.1%')} | share of faces closer to the source than to the destination (dlib) |",
        f"| similarity to source | {_fmt(ident['src_similarity'])} | cosine, mean embedding of the source faceset |",
        f"| similarity to destination | {_fmt(ident['dst_similarity'])} | cosine, the destination's own face in the same frame |",
        f"| pose error yaw / pitch / roll | {_fmt(pose['yaw'], '.1f')} / {_fmt(pose['pitch'], '.1f')} / {_fmt(pose['roll'], '.1f')} ° | result head pose against the destination |",
        f"| expression error | {_fmt(s['expression_error'])} | eye and mouth points, inter-ocular units |",
        f"| landmark jitter | {_fmt(t['landmark_jitter'])} (destination {_fmt(t['landmark_jitter_dst'])}) | frame-to-frame shake |",
        f"| colour flicker | {_fmt(t['colour_flicker'], '.2f')} (destination {_fmt(t['colour_flicker_dst'], '.2f')}) | face colour changes, 0-255 levels |",
        f"| PSNR outside the face | {psnr_text} | everything but the face against the destination |",
        f"| SSIM outside the face | {_fmt(out['ssim'])} | 1 = unchanged |",
        f"| detection | {_fmt(s['detection_rate'], '.1%')} | destination frames whose result has a face |",
        "",
    ]
    if report.warnings:
        lines += ["Warnings:", ""] + [f"- {w}" for w in report.warnings] + [""]
    lines += [f"![{name}]({name})" for name in ("identity.png", "pose.png", "fidelity.png", "temporal.png")]
    return "\n".join(lines) + "\n"


def write_report(report: EvaluateReport, folder: str | Path) -> Path:
    """Write report.json, report.md and the plots into `folder`; returns the markdown path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "report.json", report.to_dict())
    for name, data in _plots(report).items():
        write_bytes(folder / name, data)
    write_text(folder / "report.md", markdown(report))
    return folder / "report.md"
