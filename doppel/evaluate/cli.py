"""`doppel evaluate` and `doppel pair-check`: parse flags, call the library, print a summary."""

from __future__ import annotations

from pathlib import Path

import typer

from doppel.core.options import options_command
from doppel.evaluate.evaluate import EvaluateOptions
from doppel.evaluate.pair_check import PairCheckOptions


def _pct(v) -> str:
    return "n/a" if v is None else f"{v * 100:.0f} %"


def _num(v, spec=".3f") -> str:
    return "n/a" if v is None else f"{v:{spec}}"


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    @options_command(EvaluateOptions)
    def evaluate_command(
        src: Path = typer.Option(..., "--src", help="Source identity: faceset (folder of aligned faces), photos or the source clip."),
        dst: Path = typer.Option(..., "--dst", help="Destination video (or frame folder) the result was merged onto."),
        result: Path = typer.Option(..., "--result", help="The swapped video (or frame folder)."),
        report: Path | None = typer.Option(None, "--report", help="Folder for report.json, report.md and PNG plots."),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON report to this file."),
        options: EvaluateOptions = EvaluateOptions(),
    ) -> None:
        """Score a swap: distance to the source identity (dlib), face detail, pose, expression, jitter, fidelity outside the face, detection."""
        from rich.console import Console

        from doppel.core.atomic import write_json
        from doppel.evaluate.evaluate import evaluate
        from doppel.evaluate.report import write_report

        rep = evaluate(src, dst, result, options, progress=True)
        s = rep.summary
        ident, pose, t, out = s["identity"], s["pose_error_deg"], s["temporal"], s["outside_face"]
        dist = s["source_distance"]
        console = Console()
        console.print(
            f"distance to the source identity: {_num(dist['mean'])} (dlib, Euclidean), "
            f"{_pct(dist['under_threshold'])} of faces under {dist['threshold']}; "
            f"detail {_num(s['detail'], '.2f')} of the destination's (eyes, brows, lips)\n"
            f"identity: retrieval {_pct(ident['retrieval_rate'])} toward the source, similarity to source "
            f"{_num(ident['src_similarity'])}, to destination {_num(ident['dst_similarity'])}\n"
            f"pose error (yaw/pitch/roll): {_num(pose['yaw'], '.1f')}/{_num(pose['pitch'], '.1f')}/{_num(pose['roll'], '.1f')}°; "
            f"expression error: {_num(s['expression_error'])}\n"
            f"jitter: landmarks {_num(t['landmark_jitter'])} (destination {_num(t['landmark_jitter_dst'])}), "
            f"colour {_num(t['colour_flicker'], '.2f')} (destination {_num(t['colour_flicker_dst'], '.2f')})\n"
            f"outside the face: PSNR {_num(out['psnr_db'], '.2f')} dB, SSIM {_num(out['ssim'])}; "
            f"detection {_pct(s['detection_rate'])} of {s['dst_frames_with_face']} destination frames with a face",
            highlight=False,
            soft_wrap=True,
        )
        for w in rep.warnings:
            console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
        if json_out:
            write_json(json_out, rep.to_dict())
        if report:
            console.print(f"report: {write_report(rep, report)}", highlight=False)

    @app.command("pair-check")
    @options_command(PairCheckOptions)
    def pair_check_command(
        src: Path = typer.Option(..., "--src", help="Source faceset (folder of aligned faces)."),
        dst: Path = typer.Option(..., "--dst", help="Destination faceset (folder of aligned faces)."),
        report: Path | None = typer.Option(None, "--report", help="Folder for report.json, report.md, coverage.png, missing.png."),
        options: PairCheckOptions = PairCheckOptions(),
    ) -> None:
        """Does the source faceset cover the destination's poses, expressions and lighting? Are the face shapes compatible?"""
        from rich.console import Console

        from doppel.evaluate.pair_check import pair_check
        from doppel.evaluate.pair_report import write_pair_report

        rep = pair_check(src, dst, options, progress=True)
        console = Console()
        console.print(rep.summary, highlight=False, soft_wrap=True)
        for v in rep.missing[:10]:
            console.print(f"  no close source face: {v.name} (frame {v.frame_index}): {v.reason}, {v.detail}", highlight=False, soft_wrap=True)
        if len(rep.missing) > 10:
            console.print(f"  ... and {len(rep.missing) - 10} more (see the report)", highlight=False)
        if report:
            console.print(f"report: {write_pair_report(rep, report)}", highlight=False)
