"""`doppel video info|extract-frames|cut|denoise|from-frames`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from doppel.core.options import field_option
from doppel.media.denoise import DenoiseOptions
from doppel.media.writer import CODEC_NAMES, DEFAULT_PRESET, PRESETS


def _preset(value: str) -> str:
    if value not in PRESETS:
        raise typer.BadParameter(f"use one of {', '.join(PRESETS)}")
    return value


PRESET_HELP = "x264/x265 speed preset: slower presets make smaller files at the same quality."


def _codec(value: str) -> str:
    if value not in CODEC_NAMES:
        raise typer.BadParameter(f"use one of {', '.join(CODEC_NAMES)}")
    return value


def register(app: typer.Typer) -> None:
    video_app = typer.Typer(help="Video tools: probe, split into frames, cut, denoise, assemble with audio.",
                            no_args_is_help=True)

    @video_app.command("info")
    def info(video: Path = typer.Argument(..., help="Video file."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Streams, frame rate, frame count, duration and audio of VIDEO."""
        from doppel.media.info import video_info

        i = video_info(video)
        if as_json:
            typer.echo(json.dumps(i.to_dict(), indent=2))
            return
        duration = f"{i.duration:.3f} s" if i.duration is not None else "unknown duration"
        vfr = " (variable)" if i.variable_frame_rate else ""
        typer.echo(f"{i.path}: {i.container}, {i.width}x{i.height}, {i.fps:.3f} fps{vfr}, {i.frames} frames, {duration}")
        for s in i.streams:
            if s.kind == "video":
                detail = f"{s.width}x{s.height} {s.fps or 0:.3f} fps {s.frames or '?'} frames"
            elif s.kind == "audio":
                detail = f"{s.sample_rate} Hz {s.channels} ch"
            else:
                detail = ""
            dur = f"{s.duration:.3f} s" if s.duration is not None else "? s"
            typer.echo(f"  #{s.index} {s.kind} {s.codec} {detail} {dur}")
        if not i.has_audio:
            typer.echo("  no audio")

    @video_app.command("extract-frames")
    def extract_frames_cmd(
        video: Path = typer.Argument(..., help="Video file."),
        out: Path = typer.Argument(..., help="Folder for the frames (created)."),
        fps: float = typer.Option(None, "--fps", help="Keep about N frames per second (default: every frame)."),
        fmt: str = typer.Option("png", "--format", help="png or jpg."),
        quality: int = typer.Option(95, "--quality", min=1, max=100, help="JPEG quality."),
    ) -> None:
        """Write the frames of VIDEO to OUT as 000000.png, ... (existing files are kept: resumes)."""
        from doppel.media.frames import extract_frames

        n = extract_frames(video, out, fps=fps, fmt=fmt, quality=quality)
        typer.echo(f"{n} frames in {out}")

    @video_app.command("cut")
    def cut_cmd(
        video: Path = typer.Argument(..., help="Video file."),
        out: Path = typer.Argument(..., help="Output video."),
        start: float = typer.Option(0.0, "--from", help="Start time in seconds."),
        end: float = typer.Option(None, "--to", help="End time in seconds (default: the end)."),
        audio_track: int = typer.Option(0, "--audio-track", min=0, help="Which audio track to keep."),
        crf: int = typer.Option(18, "--crf", min=0, max=51, help="H.264/H.265 quality (lower is better)."),
        bitrate: int = typer.Option(None, "--bitrate", help="Target bitrate in bit/s (instead of --crf)."),
        codec: str = typer.Option("h264", "--codec", callback=_codec, help=f"One of {', '.join(CODEC_NAMES)}."),
        preset: str = typer.Option(DEFAULT_PRESET, "--preset", callback=_preset, help=PRESET_HELP),
    ) -> None:
        """Frame-accurate cut of VIDEO from --from to --to, with one audio track. Not marked as synthetic."""
        from doppel.media.cut import cut

        n = cut(video, out, start, end, audio_track=audio_track, codec=codec, crf=crf, bitrate=bitrate, preset=preset)
        typer.echo(f"{n} frames in {out}")

    @video_app.command("denoise")
    def denoise_cmd(
        src: Path = typer.Argument(..., help="Video file or folder of frames."),
        out: Path = typer.Argument(..., help="Output video (by extension) or folder of PNG frames."),
        strength: float = field_option(DenoiseOptions, "strength"),
        radius: int = field_option(DenoiseOptions, "radius"),
        codec: str = typer.Option("h264", "--codec", callback=_codec, help=f"One of {', '.join(CODEC_NAMES)}."),
        preset: str = typer.Option(DEFAULT_PRESET, "--preset", callback=_preset, help=PRESET_HELP),
        crf: int = typer.Option(18, "--crf", min=0, max=51, help="H.264/H.265 quality."),
        no_provenance: bool = typer.Option(False, "--no-provenance", help="Skip the watermark and the synthetic tag."),
    ) -> None:
        """Temporal-aware denoise of a video or frame sequence (streamed; audio and timestamps kept)."""
        from doppel.media.denoise import denoise

        n = denoise(src, out, DenoiseOptions(strength=strength, radius=radius), codec=codec, crf=crf,
                    provenance=False if no_provenance else None, preset=preset)
        typer.echo(f"{n} frames in {out}")

    @video_app.command("from-frames")
    def from_frames_cmd(
        frames: Path = typer.Argument(..., help="Folder of frames (name order)."),
        out: Path = typer.Argument(..., help="Output video (.mp4, .mov, .mkv)."),
        fps: float = typer.Option(None, "--fps", help="Frame rate (default: from --like, else 30)."),
        like: Path = typer.Option(None, "--like", help="Take frame rate, timestamps and audio from this video."),
        audio_from: Path = typer.Option(None, "--audio-from", help="Take the audio from this video (default: --like)."),
        codec: str = typer.Option("h264", "--codec", callback=_codec, help=f"One of {', '.join(CODEC_NAMES)}."),
        preset: str = typer.Option(DEFAULT_PRESET, "--preset", callback=_preset, help=PRESET_HELP),
        crf: int = typer.Option(18, "--crf", min=0, max=51, help="H.264/H.265 quality."),
        no_audio: bool = typer.Option(False, "--no-audio", help="Do not carry audio from --like."),
        no_provenance: bool = typer.Option(False, "--no-provenance", help="Skip the watermark and the synthetic tag."),
    ) -> None:
        """Encode FRAMES into a video; with --like the timing and audio of the original are kept in sync."""
        from doppel.media.frames import from_frames

        n = from_frames(frames, out, fps=fps, like=like, codec=codec, crf=crf,
                        audio_from=False if no_audio else audio_from, provenance=False if no_provenance else None,
                        preset=preset)
        typer.echo(f"{n} frames in {out}")

    app.add_typer(video_app, name="video")

