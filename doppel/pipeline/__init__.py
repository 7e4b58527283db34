"""The one-command swap: extract, train, merge, resumable (see docs/merge.md)."""
