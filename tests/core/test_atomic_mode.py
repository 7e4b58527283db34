"""Atomic writes give outputs the mode a plain open() would: the umask's, or the replaced file's own."""

from __future__ import annotations

import os

from doppel.core.atomic import write_bytes


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        new = tmp_path / "out.json"
        write_bytes(new, b"{}")
        assert new.stat().st_mode & 0o777 == 0o640  # mkstemp alone gives 0600
        kept = tmp_path / "kept.json"
        kept.write_bytes(b"")
        kept.chmod(0o604)
        write_bytes(kept, b"{}")
        assert kept.stat().st_mode & 0o777 == 0o604 and kept.read_bytes() == b"{}"
    finally:
        os.umask(old)
