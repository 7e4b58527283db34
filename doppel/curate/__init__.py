"""Faceset curation: sort, filter by identity, cluster, trash/restore and faceset tools.

Library first: the CLI (`doppel/curate/cli.py`) and the studio call these same functions.
"""

from doppel.curate.methods import Ranking, sort_methods
from doppel.curate.people import cluster_faceset, filter_faceset
from doppel.curate.sort import SortResult, recover_names, sort_faceset
from doppel.core.trash import restore, trash_files

__all__ = [
    "Ranking",
    "SortResult",
    "cluster_faceset",
    "filter_faceset",
    "recover_names",
    "restore",
    "sort_faceset",
    "sort_methods",
    "trash_files",
]
