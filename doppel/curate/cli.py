"""`doppel sort`, `filter`, `cluster`, `trash ...` and `faceset ...`: parse, call the library, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from doppel.core.errors import DoppelError
from doppel.identity.embed import SAME_PERSON_DISTANCE

_out = Console(highlight=False, soft_wrap=True)


def _report_skipped(skipped) -> None:
    if not skipped:
        return
    _out.print(f"[yellow]{len(skipped)} files skipped:[/]")
    for path, why in list(skipped)[:20]:
        _out.print(f"  {Path(path).name}: {why}")
    if len(skipped) > 20:
        _out.print(f"  ... and {len(skipped) - 20} more")


def _warn_destination(folder: Path, trashed) -> None:
    from doppel.core.index_sync import INDEX_NAME

    if trashed and (folder / INDEX_NAME).is_file():
        _out.print("[yellow]this is a destination set: frames whose faces were trashed will not be swapped "
                   "(restore them with 'doppel trash restore')[/]")


def _beside(folder: Path, suffix: str) -> Path:
    """Default output next to the faceset folder: DIR_sheet.png, DIR_debug, ... (works for '.')."""
    folder = folder.resolve()
    return folder.parent / f"{folder.name}{suffix}"


def _methods_help() -> str:
    from doppel.curate.methods import sort_methods

    return "; ".join(f"{name}: {help}" for name, help in sort_methods())


def register(app: typer.Typer) -> None:
    @app.command("sort")
    def sort_command(
        folder: Path = typer.Argument(..., help="Folder of aligned faces."),
        by: Optional[str] = typer.Option(None, "--by", help="Sort method: " + _methods_help()),
        target: Optional[int] = typer.Option(None, "--target", min=1, help="For --by final: how many faces to keep."),
        recover_names_: bool = typer.Option(False, "--recover-names", help="Rename every face back to its original name."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; move and rename nothing."),
    ) -> None:
        """Sort a faceset: files get a rank prefix (original names stay in the metadata); rejects go to DIR/_trash."""
        from doppel.curate.sort import recover_names, sort_faceset

        if recover_names_:
            n = recover_names(folder)
            _out.print(f"{n} faces renamed back to their original names in {folder}")
            return
        if by is None:
            raise DoppelError("say how to sort with --by METHOD, or pass --recover-names", folder)
        options = {"target": target} if by == "final" else {}
        result = sort_faceset(folder, by, dry_run=dry_run, **options)
        verb = "would keep" if dry_run else "kept"
        _out.print(f"sorted by {by}: {verb} {len(result.kept)} faces, {'would trash' if dry_run else 'trashed'} {len(result.trashed)}"
                   + ("" if dry_run or not result.trashed else f" (in {folder / '_trash'}; 'doppel trash restore {folder}' brings them back)"))
        _warn_destination(folder, result.trashed)
        _report_skipped(result.skipped)

    @app.command("filter")
    def filter_command(
        folder: Path = typer.Argument(..., help="Folder of aligned faces."),
        like: List[Path] = typer.Option(..., "--like", help="Photos or aligned faces of the person to keep (files or folders; repeat the flag)."),
        threshold: float = typer.Option(SAME_PERSON_DISTANCE, "--threshold", min=0.1, max=1.5, help="Largest embedding distance still counted as the same person."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Report only; move nothing."),
    ) -> None:
        """Keep the faces of the reference person; move the others to DIR/_trash."""
        from doppel.curate.people import filter_faceset

        r = filter_faceset(folder, like, threshold, dry_run=dry_run)
        _out.print(f"{len(r.kept)} faces match the {r.references} reference faces; {len(r.trashed)} "
                   + ("would go to the trash" if dry_run else f"moved to {folder / '_trash'}"))
        _warn_destination(folder, r.trashed)
        _report_skipped(r.skipped)

    @app.command("cluster")
    def cluster_command(
        folder: Path = typer.Argument(..., help="Folder of aligned faces of several people."),
        threshold: float = typer.Option(SAME_PERSON_DISTANCE, "--threshold", min=0.1, max=1.5, help="Faces closer than this (on average) are one person."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Report only; move nothing."),
    ) -> None:
        """Group a mixed faceset by person: faces move into DIR/person_01, person_02, ... (largest first)."""
        from doppel.curate.people import cluster_faceset

        r = cluster_faceset(folder, threshold, dry_run=dry_run)
        for folder_path, group in zip(r.folders, r.groups):
            _out.print(f"{folder_path.name}: {len(group)} faces")
        _report_skipped(r.skipped)

    _register_trash(app)
    _register_faceset(app)


def _register_trash(app: typer.Typer) -> None:
    trash_app = typer.Typer(help="The faceset trash (DIR/_trash): list and restore.", no_args_is_help=True)

    @trash_app.command("list")
    def trash_list(folder: Path = typer.Argument(..., help="Faceset folder.")) -> None:
        """List trashed faces with when and why."""
        from doppel.core.trash import read_journal, trashed_untracked

        entries = read_journal(folder)
        table = Table("in trash", "from", "when", "why")
        for e in entries:
            table.add_row(e.trashed, e.original, e.time, e.reason)
        _out.print(table)
        extra = trashed_untracked(folder)
        if extra:
            _out.print(f"{len(extra)} files in the trash have no journal entry (restore them by hand)")

    @trash_app.command("restore")
    def trash_restore(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        names: Optional[List[str]] = typer.Argument(None, help="Only these (trash or original names); default all."),
    ) -> None:
        """Move trashed faces back to where they were."""
        from doppel.core.trash import restore

        r = restore(folder, names or None)
        _out.print(f"{len(r.restored)} faces restored into {folder}")
        renamed = [(a, b) for a, b in r.restored if Path(b).name != a]
        for a, b in renamed[:10]:
            _out.print(f"  {a} -> {b}")
        if r.missing:
            _out.print(f"[yellow]{len(r.missing)} journal entries had no file in the trash any more[/]")

    app.add_typer(trash_app, name="trash")


def _register_faceset(app: typer.Typer) -> None:
    fs = typer.Typer(help="Faceset tools: info, sheet, resize, pack/unpack, meta save/restore, debug, to-jpg.", no_args_is_help=True)

    @fs.command("info")
    def info(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        blur: bool = typer.Option(True, "--blur/--no-blur", help="Measure sharpness (reads every image)."),
    ) -> None:
        """Counts, face types, pose histogram, blur distribution and files without metadata."""
        from doppel.curate.info import faceset_info

        i = faceset_info(folder, blur=blur)
        if as_json:
            print(json.dumps(i.to_dict(), indent=2))
            return
        _out.print(f"[bold]{i.folder}[/]: {i.faces} faces, {len(i.no_meta)} without metadata, {len(i.unreadable)} unreadable, "
                   f"{len(i.other_files)} other files, {i.trashed} in the trash")
        _out.print(f"face types: {i.face_types}  sizes: {i.sizes}  sources: {i.sources}")
        _out.print(f"embeddings cached: {i.with_embedding}  with xseg: {i.with_xseg}")
        if i.subfolders:
            _out.print("subfolders: " + "  ".join(f"{name} ({n})" for name, n in i.subfolders.items()))
        if i.sharpness:
            _out.print("sharpness: " + "  ".join(f"{k} {v}" for k, v in i.sharpness.items()))
        for title, hist in (("yaw", i.yaw_histogram), ("pitch", i.pitch_histogram)):
            top = max((c for _, _, c in hist), default=1) or 1
            _out.print(f"{title}:")
            for lo, hi, c in hist:
                _out.print(f"  {lo:+4d}..{hi:+4d} {'#' * max(0, round(40 * c / top)):<40} {c}")
        for name in i.no_meta[:10]:
            _out.print(f"  no metadata: {name}")
        for name, why in i.unreadable[:10]:
            _out.print(f"  unreadable: {name}: {why}")

    @fs.command("sheet")
    def sheet(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        out: Optional[Path] = typer.Option(None, "--out", help="PNG to write (default: DIR_sheet.png beside DIR)."),
        thumb: int = typer.Option(96, "--thumb", min=32, max=512, help="Thumbnail side, pixels."),
        columns: Optional[int] = typer.Option(None, "--columns", min=1, help="Thumbnails per row."),
        max_faces: int = typer.Option(600, "--max", min=1, help="At most this many faces (an even sample)."),
    ) -> None:
        """A contact sheet: every face as a labelled thumbnail in one PNG."""
        from doppel.curate.sheet import contact_sheet

        path, n = contact_sheet(folder, out or _beside(folder, "_sheet.png"), thumb, columns, max_faces)
        _out.print(f"{n} faces on {path}")

    @fs.command("resize")
    def resize(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        size: int = typer.Option(..., "--size", min=32, max=4096, help="New side, pixels."),
        face_type: Optional[str] = typer.Option(None, "--face-type", help="New face type (half, mid-full, full, whole-face, head); default unchanged."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: DIR_SIZE beside DIR)."),
    ) -> None:
        """Re-cut every face to a new size and/or face type, into a new folder (resumable)."""
        from doppel.core.facetype import FaceType
        from doppel.curate.resize import resize_faceset

        ft = FaceType.parse(face_type).value if face_type else None
        dest = out or _beside(folder, f"_{size}" + (f"_{FaceType.parse(ft).short}" if ft else ""))
        r = resize_faceset(folder, dest, size, ft)
        _out.print(f"{r.written} faces written to {r.out_dir}" + (f", {r.skipped_existing} already there" if r.skipped_existing else ""))
        _report_skipped(r.problems)

    @fs.command("pack")
    def pack(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        out: Optional[Path] = typer.Option(None, "--out", help="Archive (default: DIR.faceset.zip beside DIR)."),
    ) -> None:
        """Pack a faceset into one archive file (uncompressed zip + manifest; no pickle)."""
        from doppel.curate.pack import pack_faceset

        r = pack_faceset(folder, out or _beside(folder, ".faceset.zip"))
        _out.print(f"{r.files} files ({r.bytes / 1e6:.1f} MB) packed into {r.path}")

    @fs.command("unpack")
    def unpack(
        archive: Path = typer.Argument(..., help="Archive made by 'doppel faceset pack'."),
        out: Path = typer.Argument(..., help="Folder to unpack into (new files only)."),
    ) -> None:
        """Unpack a faceset archive, checking every file's checksum and refusing unsafe names."""
        from doppel.curate.pack import unpack_faceset

        r = unpack_faceset(archive, out)
        _out.print(f"{r.files} files unpacked into {r.path}")

    meta_app = typer.Typer(help="Keep metadata while editing faces in an outside image editor.", no_args_is_help=True)

    @meta_app.command("save")
    def meta_save(folder: Path = typer.Argument(..., help="Faceset folder.")) -> None:
        """Copy every face's metadata into DIR/doppel_meta.json."""
        from doppel.curate.metastore import save_meta

        path, n = save_meta(folder)
        _out.print(f"metadata of {n} faces saved to {path}")

    @meta_app.command("restore")
    def meta_restore(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Also replace metadata that is still there."),
    ) -> None:
        """Put saved metadata back into edited faces (matched by file name stem)."""
        from doppel.curate.metastore import restore_meta

        r = restore_meta(folder, overwrite)
        _out.print(f"metadata restored into {len(r.restored)} faces ({len(r.rescaled)} rescaled to a new size)")
        for name in r.not_in_store[:10]:
            _out.print(f"  [yellow]not in the saved metadata:[/] {name}")
        for name, why in r.problems[:10]:
            _out.print(f"  [yellow]{name}[/]: {why}")

    fs.add_typer(meta_app, name="meta")

    @fs.command("debug")
    def debug(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder for the copies (default: DIR_debug beside DIR)."),
    ) -> None:
        """Copies of the faces with landmarks, hull and pose drawn on."""
        from doppel.curate.debug import draw_debug

        dest = out or _beside(folder, "_debug")
        n, problems = draw_debug(folder, dest)
        _out.print(f"{n} debug images written to {dest}")
        _report_skipped(problems)

    @fs.command("to-jpg")
    def to_jpg_command(
        folder: Path = typer.Argument(..., help="Faceset folder."),
        quality: int = typer.Option(95, "--quality", min=1, max=100, help="JPEG quality."),
    ) -> None:
        """Convert PNG faces to JPEG with the same metadata (the PNGs go to the trash)."""
        from doppel.curate.convert import to_jpg

        n, problems = to_jpg(folder, quality)
        _out.print(f"{n} faces converted to JPEG")
        _report_skipped(problems)

    app.add_typer(fs, name="faceset")
