"""Layers point one way: no package of doppel imports one listed after it in the README's Development
section (module-level and lazy imports alike)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "doppel"
TOP = "cli"  # doppel/cli.py and doppel/__init__.py: the front door, above every stage


def readme_order() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    found = re.search(r"Layers, lowest first:(.*?)\.\n", text, re.S)
    assert found, "README's Development section lost its 'Layers, lowest first: ...' line"
    return [name.strip() for name in found.group(1).replace("\n", " ").split(",")]


def layer_of(module: str) -> str | None:
    """doppel.train.trainer -> train; doppel / doppel.cli -> cli; anything outside doppel (and the
    package's own __version__, which every import of doppel runs anyway) -> None."""
    parts = module.split(".")
    if parts[0] != "doppel" or module == "doppel.__version__":
        return None
    if len(parts) == 1 or not (PACKAGE / parts[1]).is_dir():
        return TOP
    return parts[1]


def imports(code: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in `code` (a module of `package`), including those inside functions."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the module's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def backward_imports(code: str, module: str, rank: dict[str, int]) -> list[str]:
    here = layer_of(module)
    package = module.rsplit(".", 1)[0]  # doppel.faces.detect and doppel.faces.__init__ -> doppel.faces
    return [f"{line}: {module} ({here}) imports {name} ({layer_of(name)})" for line, name in imports(code, package)
            if layer_of(name) is not None and rank[layer_of(name)] > rank[here]]


def test_the_readme_lists_every_package():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    order = readme_order()
    assert len(order) == len(set(order))
    assert set(order) == packages | {TOP}, "list new packages in the README's layer order"


def test_no_package_imports_a_later_one():
    rank = {name: i for i, name in enumerate(readme_order())}
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        wrong += backward_imports(path.read_text("utf-8"), module, rank)
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_a_lazy_backward_import_is_caught():
    rank = {name: i for i, name in enumerate(readme_order())}
    code = "import numpy\nfrom doppel.core import errors\n\ndef f():\n    from ..train.trainer import train\n"
    assert backward_imports(code, "doppel.media.example", rank) == [
        "5: doppel.media.example (media) imports doppel.train.trainer.train (train)"]
    assert backward_imports(code, "doppel.studio.example", rank) == []
