"""Shared vocabulary that every stage imports: face metadata, face types, workspace paths, errors."""
