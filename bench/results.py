"""bench/RESULTS.md: each benchmark owns one section (a '## ' heading) and rewrites only it."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


def replace_section(section: str, text: str, path: Path = RESULTS) -> None:
    """Put ``text`` (starting with its ``section`` heading) in place of that section of the
    file, or at its end; every other section is kept as it is."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    lines = old.splitlines()
    body = text.rstrip("\n").splitlines()
    if section in lines:
        start = lines.index(section)
        end = next(
            (n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines)
        )
        lines[start:end] = body + ([""] if end < len(lines) else [])
    else:
        lines += ["", *body]
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
