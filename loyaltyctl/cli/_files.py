"""Input files named on the command line, where `-` is standard input.

Standard input is copied to a temporary file first (with the suffix the readers
expect): a reader may go through it twice (a transaction that lost a race starts
again) and messages name it `<stdin>`.
"""

from __future__ import annotations

from pathlib import Path

STDIN = "-"
STDIN_NAME = "<stdin>"


class input_file:
    """``with input_file(text, ".csv") as path``: the file, or standard input copied to a
    temporary one (removed at the end). A missing file is a usage error."""

    def __init__(self, given: str | Path, suffix: str = "") -> None:
        self.given = str(given)
        self.suffix = suffix
        self.temporary: Path | None = None

    @property
    def name(self) -> str:
        """How messages name it."""
        return STDIN_NAME if self.given == STDIN else self.given

    def __enter__(self) -> Path:
        if self.given != STDIN:
            path = Path(self.given)
            if not path.exists():
                from loyaltyctl.domain.errors import UsageProblem

                raise UsageProblem(f"There is no file {self.given!r}.")
            if path.is_dir():
                from loyaltyctl.domain.errors import UsageProblem

                raise UsageProblem(f"{self.given!r} is a folder; give a file.")
            return path
        import shutil
        import sys
        import tempfile

        with tempfile.NamedTemporaryFile("wb", suffix=self.suffix, delete=False) as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        self.temporary = Path(handle.name)
        return self.temporary

    def __exit__(self, *_exc) -> None:
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
