"""Parameters converted without pydantic when there is nothing to convert: start-up.

Typer converts every parameter through a pydantic ``TypeAdapter`` built the first time
a value is converted; importing pydantic for that costs ~0.1 s (more on a busy machine),
as much as the rest of a counter read's own work. Command-line values are text already:
a text parameter needs nothing (a repeated one without a parser: the list of its texts),
a flag is a bool already, a number not given is its default, and a parameter with a
parser (a member id's validation) needs only its parser. Those are answered here;
whatever else (a number given, a choice, a date, a file) and every value the parser
refuses go to Typer's own conversion, which gives its usual message.
tests/cli/test_startup.py fails if `points balance`, `member find`, `coupon check` or
`quote` import pydantic again (a new Typer that changed what is patched here, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from typer import core
from typer._coercion import RuntimeParam, build_runtime_param

# the annotation Typer resolved (without the ``| None`` of an optional one)
_TEXT, _FLAG, _NUMBER = (str, str | None), (bool, bool | None), (int, int | None)
_TEXTS = (list[str], list[str] | None)  # a repeated text option: a tuple of text given


@dataclass(frozen=True)
class Direct(RuntimeParam):
    """A value that needs no conversion, or only its parameter's parser; anything else
    goes to Typer's conversion (``typer``: built when first needed)."""

    descriptor: Any = None
    typer: list = field(default_factory=list)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        parser = self.parameter_info.parser
        if parser is not None and isinstance(value, str):
            try:
                return parser(value)
            except Exception:  # noqa: BLE001 - Typer's conversion words the refusal
                pass
        elif _as_given(value, self.annotation):
            return value
        elif parser is None and self.annotation in _TEXTS and _all_text(value):
            return list(value)  # what Typer's conversion makes of it (a parser: its items)
        if not self.typer:
            self.typer.append(build_runtime_param(self.descriptor))
        return self.typer[0]._coerce_value(value, param=param, ctx=ctx)


def _as_given(value: Any, annotation: Any) -> bool:
    """Text for a text parameter, a bool for a flag, and a number's default (an int
    already, not text from the command line): nothing to convert."""
    if isinstance(value, bool):
        return annotation in _FLAG
    if isinstance(value, int):
        return annotation in _NUMBER
    return isinstance(value, str) and annotation in _TEXT


def _all_text(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)


def _direct(descriptor) -> bool:
    info = descriptor.parameter_info
    return (
        descriptor.annotation in (*_TEXT, *_FLAG, *_NUMBER, *_TEXTS)
        and descriptor.file_annotation is None
        and getattr(info, "click_type", None) is None
    )


def install() -> None:
    """Give text and flag parameters `Direct` (once per process)."""
    original = core._TyperParameter.get_runtime_param
    if getattr(original, "direct", False):
        return

    def get_runtime_param(self):
        if self._runtime_param is None and _direct(self.type_descriptor):
            desc = self.type_descriptor
            self._runtime_param = Direct(
                parameter_info=desc.parameter_info, annotation=desc.annotation, descriptor=desc
            )
        return original(self)

    get_runtime_param.direct = True
    core._TyperParameter.get_runtime_param = get_runtime_param
