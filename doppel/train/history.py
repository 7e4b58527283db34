"""Loss history: one CSV row per logged iteration (appended, so kill -9 loses at most a line) and a PNG plot."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from doppel.core.atomic import atomic_path, write_text

HISTORY_CSV = "history.csv"
HISTORY_PNG = "history.png"
BASE_COLUMNS = ("iteration", "seconds", "loss", "val_loss")


class History:
    """Rows of floats keyed by column; columns are fixed by the first row written (plus BASE_COLUMNS)."""

    def __init__(self, folder: Path, resume_at: int | None = None):
        self.path = Path(folder) / HISTORY_CSV
        self.rows: list[dict[str, float]] = []
        self.columns: list[str] = []
        if self.path.exists():
            self._read()
        if resume_at is not None:
            self.truncate(resume_at)  # iterations after the checkpoint were lost with the process

    def truncate(self, iteration: int) -> None:
        """Forget rows after `iteration` (after a rollback or a resume)."""
        if any(r["iteration"] > iteration for r in self.rows):
            self.rows = [r for r in self.rows if r["iteration"] <= iteration]
            self._rewrite()

    def _read(self) -> None:
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header:
                return
            self.columns = header
            for line in reader:
                if len(line) != len(header):
                    continue  # a line cut off by a kill
                try:
                    self.rows.append({k: (float(v) if v != "" else math.nan) for k, v in zip(header, line)})
                except ValueError:
                    continue

    def _line(self, row: dict[str, float]) -> str:
        def fmt(v):
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}" if isinstance(v, float) else str(v)

        return ",".join(fmt(row.get(c)) for c in self.columns) + "\n"

    def _rewrite(self) -> None:
        write_text(self.path, ",".join(self.columns) + "\n" + "".join(self._line(r) for r in self.rows))

    def append(self, row: dict[str, float]) -> None:
        if not self.columns:
            self.columns = list(BASE_COLUMNS) + [k for k in row if k not in BASE_COLUMNS]
            self._rewrite()
        self.rows.append(row)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(self._line(row))

    def column(self, name: str) -> tuple[list[float], list[float]]:
        pts = [(r["iteration"], r.get(name, math.nan)) for r in self.rows]
        pts = [(i, v) for i, v in pts if v is not None and not math.isnan(v)]
        return [p[0] for p in pts], [p[1] for p in pts]

    def plot(self, path: Path | None = None) -> Path:
        """Training loss (smoothed) and validation loss on a log scale, written atomically as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path or self.path.with_name(HISTORY_PNG))
        fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
        for name in [c for c in self.columns if c not in ("iteration", "seconds")]:
            x, y = self.column(name)
            if len(y) > 2000:  # keep the plot light: average into 2000 points
                step = len(y) // 2000
                x = x[::step][: len(y) // step]
                y = [sum(y[i : i + step]) / step for i in range(0, step * (len(y) // step), step)]
            if y:
                ax.plot(x, y, label=name, linewidth=1.5 if "loss" == name or name == "val_loss" else 0.8,
                        marker="o" if name == "val_loss" else None, markersize=3)
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        if any(v > 0 for r in self.rows for k, v in r.items() if k not in ("iteration", "seconds") and not math.isnan(v)):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        return path
