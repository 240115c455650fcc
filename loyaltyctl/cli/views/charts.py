"""Charts drawn with block characters."""

from __future__ import annotations

# left-aligned partial blocks, one to seven eighths of a cell (a bar grows to the right)
BLOCKS = " ▏▎▍▌▋▊▉"


def bar_chart(series: list[tuple[str, int]], *, width: int = 40) -> str:
    """Horizontal bars of block characters, one line per period (plain text: it prints
    the same on a terminal and in a file)."""
    if not series:
        return "(no data)"
    top = max(n for _, n in series) or 1
    label = max(len(p) for p, _ in series)
    lines = []
    for period, n in series:
        eighths = round(n / top * width * 8)
        bar = "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")
        lines.append(f"{period:<{label}} {bar} {n:,}")
    return "\n".join(lines)
