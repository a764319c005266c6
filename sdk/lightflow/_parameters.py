"""Run arguments (`Option`, `Parameters`) and task parameters that may be computed late
(`TaskParameters`).

Names and behaviour follow the original Lightflow (`lightflow/models/parameters.py`,
`lightflow/models/task_parameters.py`), so workflow files written for it run unchanged.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from lightflow._errors import LightflowError
from lightflow.v1 import workflow_pb2

__all__ = [
    "OPTION_TYPES",
    "ArgumentError",
    "Option",
    "Parameters",
    "TaskParameters",
    "option_from_proto",
    "option_to_proto",
    "options_to_proto",
]

# The types an option may have, by the name the protocol uses for them.
OPTION_TYPES: Final[dict[str, builtins.type]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
}
_TYPE_NAMES: Final[dict[builtins.type, str]] = {kind: name for name, kind in OPTION_TYPES.items()}

_INT_TEXT: Final = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE_TEXTS: Final = frozenset({"true", "1", "yes", "y"})
_FALSE_TEXTS: Final = frozenset({"false", "0", "no", "n"})
# what str.strip() would also remove (Unicode spaces) is not whitespace in the rules
_WHITESPACE: Final = " \t\n\r\f\v"


class ArgumentError(LightflowError):
    """The arguments of a run do not fit the workflow's options.

    Raised for a required option that was not given, a value that does not convert to the
    option's type, or an argument no option declares. The message names the option.
    """


class Option:
    """One run argument a workflow accepts.

    The value given when the run starts (or the default) is converted to `type` and stored in
    the run's data store under `name`, where tasks read it with `store.get(name)`.
    """

    def __init__(
        self,
        name: str,
        default: Any = None,
        help: str | None = None,
        type: builtins.type = str,
    ) -> None:
        """Declare an option.

        Args:
            name: The argument's name, also the store key its value is kept under.
            default: The value used when the argument is not given, of the option's type or
                as text (converted like an argument). None: the argument is required.
            help: A short description shown to people.
            type: One of str, int, float, bool.

        Raises:
            TypeError: The name is not a non-empty str or the type is not supported.
            ArgumentError: The default does not convert to the type.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"an option name must be a non-empty str, got {name!r}")
        if type not in _TYPE_NAMES:
            raise TypeError(
                f"option {name!r} has the unsupported type {type!r}; "
                f"supported types: {', '.join(OPTION_TYPES)}"
            )
        self._name = name
        self._help = help
        self._type = type
        self._default = None if default is None else self.convert(default)

    @property
    def name(self) -> str:
        """The argument's name and store key."""
        return self._name

    @property
    def default(self) -> Any:
        """The default value, converted to the option's type; None when required."""
        return self._default

    @property
    def help(self) -> str | None:
        """The help text, or None."""
        return self._help

    @property
    def type(self) -> builtins.type:
        """The option's type: str, int, float or bool."""
        return self._type

    @property
    def type_name(self) -> str:
        """The type's name as the protocol spells it: "str", "int", "float" or "bool"."""
        return _TYPE_NAMES[self._type]

    @property
    def required(self) -> bool:
        """Whether a run must give this argument (it has no default)."""
        return self._default is None

    def convert(self, value: Any) -> Any:
        """Convert an argument to the option's type.

        Text follows the rules of `Parameters`; a value that already has the option's type
        is kept (an int is also accepted for a float option).

        Raises:
            ArgumentError: The value does not convert; the message names the option.
        """
        name = self.type_name
        if isinstance(value, str):
            return _convert_text(self._name, name, value)
        if self._type is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, self._type) and (self._type is bool or not isinstance(value, bool)):
            return value
        raise ArgumentError(f"option {self._name!r} expects {name}, got {value!r}")

    def to_text(self, value: Any) -> str:
        """Render a value of the option's type as text that `convert` turns back into it."""
        converted = self.convert(value)
        if isinstance(converted, bool):
            return "true" if converted else "false"
        if isinstance(converted, float):
            # repr is the shortest text that reads back as the same float
            return repr(converted)
        return str(converted)

    def __repr__(self) -> str:
        return (
            f"Option(name={self._name!r}, default={self._default!r}, help={self._help!r}, "
            f"type={self.type_name})"
        )


def _convert_text(option: str, type_name: str, text: str) -> Any:
    if type_name == "str":
        return text
    stripped = text.strip(_WHITESPACE)
    if type_name == "int" and _INT_TEXT.fullmatch(stripped):
        return int(stripped, 10)
    if type_name == "float" and _FLOAT_TEXT.fullmatch(stripped):
        return float(stripped)
    if type_name == "bool":
        lowered = stripped.lower()
        if lowered in _TRUE_TEXTS:
            return True
        if lowered in _FALSE_TEXTS:
            return False
    raise ArgumentError(f"option {option!r} expects {type_name}, got {text!r}")


class Parameters(list[Option]):
    """The options a workflow accepts: declare one module-level `Parameters` in the file.

    `Parameters([Option('name'), Option('count', default=2, type=int)])`

    Conversion of an argument given as text (the rules the schedulers apply too):

    - Leading and trailing ASCII whitespace (space, \\t, \\n, \\r, \\f, \\v) is ignored
      for int, float and bool; a str keeps its text exactly, "" included.
    - int: an optional + or - then the digits 0-9, base 10 ("007" is 7); no
      underscores, no other digits, no decimal point.
    - float: an optional + or -, then digits with an optional fraction ("1", "1.", "1.5",
      ".5"), then an optional exponent ("e" or "E", optional sign, digits); no "inf",
      "nan" or underscores. The value is the nearest float (IEEE 754 double).
    - bool, compared case-insensitively: "true", "1", "yes", "y" are True; "false",
      "0", "no", "n" are False.
    - A default is converted like an argument; it travels as text: str as is, int in
      decimal, float as Python's repr ("0.1", "1e+100"), bool as "true" or "false".

    `consolidate` checks every argument and option and reports all problems in one
    `ArgumentError`: a required option (no default) not given, a value that does not
    convert, an argument no option declares.
    """

    def __init__(self, options: Iterable[Option] = ()) -> None:
        """Create the list of options.

        Raises:
            TypeError: An entry is not an `Option`.
            ArgumentError: Two options have the same name.
        """
        super().__init__(options)
        self._check()

    def _check(self) -> None:
        seen: set[str] = set()
        for option in self:
            if not isinstance(option, Option):
                raise TypeError(f"Parameters holds Option objects, got {option!r}")
            if option.name in seen:
                raise ArgumentError(f"two options are named {option.name!r}")
            seen.add(option.name)

    def check_missing(self, args: Mapping[str, Any]) -> list[str]:
        """Return the names of the required options `args` does not give (the original's
        method)."""
        return [option.name for option in self if option.required and option.name not in args]

    def consolidate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Check and convert the arguments of a run, and add the defaults.

        Args:
            args: Argument name → value, as text (or already of the option's type).

        Returns:
            Option name → converted value, for every option.

        Raises:
            ArgumentError: Required options are missing, values do not convert, or arguments
                are not declared; the message names each.
        """
        self._check()
        problems: list[str] = []
        declared = {option.name for option in self}
        unknown = [name for name in args if name not in declared]
        if unknown:
            known = ", ".join(repr(option.name) for option in self) or "none"
            names = ", ".join(repr(name) for name in unknown)
            word = "argument" if len(unknown) == 1 else "arguments"
            problems.append(f"unknown {word} {names}; the declared options: {known}")
        missing = self.check_missing(args)
        if missing:
            word = "option" if len(missing) == 1 else "options"
            problems.append(f"required {word} {', '.join(map(repr, missing))} not given")
        result: dict[str, Any] = {}
        for option in self:
            if option.name in args:
                try:
                    result[option.name] = option.convert(args[option.name])
                except ArgumentError as err:
                    problems.append(str(err))
            elif not option.required:
                result[option.name] = option.default
        if problems:
            raise ArgumentError("; ".join(problems))
        return result

    @classmethod
    def from_proto(cls, options: Iterable[workflow_pb2.OptionDefinition]) -> Parameters:
        """Rebuild the options of a registered workflow (the inverse of `options_to_proto`).

        Raises:
            ArgumentError: A definition has an unknown type, a default that does not
                convert, or a duplicate name.
        """
        return cls(option_from_proto(option) for option in options)

    def __repr__(self) -> str:
        return f"Parameters({list.__repr__(self)})"


def option_to_proto(option: Option) -> workflow_pb2.OptionDefinition:
    """Describe an option for the protocol; the default travels as text."""
    message = workflow_pb2.OptionDefinition(
        name=option.name, type=option.type_name, help=option.help or ""
    )
    if not option.required:
        message.default = option.to_text(option.default)
    return message


def options_to_proto(options: Iterable[Option]) -> list[workflow_pb2.OptionDefinition]:
    """Describe each option for the protocol, in order."""
    return [option_to_proto(option) for option in options]


def option_from_proto(message: workflow_pb2.OptionDefinition) -> Option:
    """Rebuild an option from its protocol description.

    Raises:
        ArgumentError: Unknown type or a default that does not convert.
    """
    kind = OPTION_TYPES.get(message.type)
    if kind is None:
        raise ArgumentError(
            f"option {message.name!r} has the unknown type {message.type!r}; "
            f"known types: {', '.join(OPTION_TYPES)}"
        )
    try:
        default = message.default if message.HasField("default") else None
        return Option(message.name, default=default, help=message.help or None, type=kind)
    except TypeError as err:
        raise ArgumentError(str(err)) from err


class TaskParameters(dict[str, Any]):
    """Task settings whose values may be computed when the task runs.

    A value is either the setting itself or a callable `(data, data_store) -> value`,
    called when the task runs with the data it received and the run's store. Values are
    also reachable as attributes (`params.command`).
    """

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no task parameter {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(f"no task parameter {key!r}") from None

    def eval(
        self, data: Any, data_store: Any, *, exclude: Iterable[str] | None = None
    ) -> TaskParameters:
        """Return new parameters with each callable value replaced by its result.

        Args:
            data: The task's `MultiTaskData`.
            data_store: The run's data store.
            exclude: Keys left out of the result.
        """
        skipped = set(exclude or ())
        return TaskParameters(
            {
                key: _evaluate(value, data, data_store)
                for key, value in self.items()
                if key not in skipped
            }
        )

    def eval_single(self, key: str, data: Any, data_store: Any) -> Any:
        """Return the value of one parameter, calling it with `(data, data_store)` when it
        is callable.

        Raises:
            AttributeError: There is no parameter `key` (as in the original).
        """
        if key not in self:
            raise AttributeError(f"no task parameter {key!r}")
        return _evaluate(self[key], data, data_store)

    def __repr__(self) -> str:
        return f"TaskParameters({dict.__repr__(self)})"


def _evaluate(value: Any, data: Any, data_store: Any) -> Any:
    return value(data, data_store) if callable(value) else value
