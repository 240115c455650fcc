"""Help texts: an example is printed as written, never re-wrapped inside a value.

Click re-flows every paragraph of a command's help to the terminal's width, which
breaks `--out summer-codes.csv` into `summer-` and `codes.csv`. A paragraph that starts
with "Example:" (or that is marked as commands, "bash:" ...) gets Click's no-rewrap mark
(a line holding only \\b); the terminal wraps a long line itself, so it stays copyable.
"""

from __future__ import annotations

import re

NO_REWRAP = "\b"
_VERBATIM = re.compile(r"^(Example:|bash:|zsh:|fish:)", re.MULTILINE)


def verbatim_examples(text: str | None) -> str | None:
    if not text:
        return text
    paragraphs = text.split("\n\n")
    return "\n\n".join(
        f"{NO_REWRAP}\n{p.strip(chr(10))}"
        if _VERBATIM.match(p.lstrip(" ")) and not p.startswith(NO_REWRAP)
        else p
        for p in paragraphs
    )


def keep_examples(app) -> None:
    """Mark the examples of every command and group of a Typer app (once, at import:
    a few dozen strings)."""
    info = app.info
    if isinstance(info.help, str):
        info.help = verbatim_examples(info.help)
    for command in app.registered_commands:
        if command.help:
            command.help = verbatim_examples(command.help)
        elif command.callback is not None:
            keep_command_examples(command.callback)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = verbatim_examples(group.help)
        keep_examples(group.typer_instance)
    callback = getattr(app.registered_callback, "callback", None)
    if callback is not None and callback.__doc__:
        callback.__doc__ = verbatim_examples(_clean(callback.__doc__))


def keep_command_examples(function) -> None:
    """Mark the examples of a command's docstring (its help)."""
    if function.__doc__:
        function.__doc__ = verbatim_examples(_clean(function.__doc__))


def _clean(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)
