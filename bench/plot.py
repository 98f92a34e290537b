"""bench/latency.png: latency percentiles of the app and the bare endpoint."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"app": "#c0392b", "bare": "#2c7fb8"}


def latency_png(load: dict, path: Path, target_ms: float) -> Path:
    """Two panels: at the fixed rate, and saturated (the throughput runs)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    titles = {"fixed_rate": f"at {load['rate']} requests/s",
              "throughput": "saturated (as fast as it answers)"}
    for ax, mode in zip(axes, ("fixed_rate", "throughput")):
        for kind in ("bare", "app"):
            summary = load["summary"][kind][mode]
            points = summary["percentiles_ms"]
            labels = list(points)
            ax.plot(range(len(labels)), [points[p] for p in labels], marker="o",
                    color=COLOURS[kind],
                    label=f"{kind} ({summary['req_per_s']:.0f} req/s)")
        ax.set_xticks(range(len(labels)), [f"p{p}" for p in labels])
        ax.set_yscale("log")
        ax.set_title(titles[mode])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].axhline(target_ms, color="grey", linestyle="--", linewidth=1)
    axes[0].annotate(f"target p99 {target_ms:g} ms", (0, target_ms), xytext=(0, 4),
                     textcoords="offset points", color="grey", fontsize=8)
    axes[0].set_ylabel("latency (ms, log scale)")
    fig.suptitle(f"POST /sms latency, median of {load['runs']} runs "
                 f"(gunicorn, {load['workers']} sync workers; wrk, 1 thread)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
