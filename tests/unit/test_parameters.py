"""Run arguments (Option, Parameters), their protocol form, and TaskParameters."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from lightflow._errors import LightflowError
from lightflow._parameters import (
    ArgumentError,
    option_from_proto,
    option_to_proto,
    options_to_proto,
)
from lightflow._workflow import WorkflowDefinitionError, load_workflow
from lightflow.models import Option, Parameters, TaskParameters
from lightflow.v1 import workflow_pb2

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# --- conversion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (str, "abc", "abc"),
        (str, "", ""),
        (str, "  spaced  ", "  spaced  "),
        (str, "42", "42"),
        (int, "42", 42),
        (int, "-7", -7),
        (int, "+7", 7),
        (int, "007", 7),
        (int, " 12\n", 12),
        (float, "1.5", 1.5),
        (float, "-2", -2.0),
        (float, ".5", 0.5),
        (float, "1.", 1.0),
        (float, "1e3", 1000.0),
        (float, "2.5E-1", 0.25),
        (float, " 3.25 ", 3.25),
        (bool, "true", True),
        (bool, "True", True),
        (bool, "TRUE", True),
        (bool, "1", True),
        (bool, "yes", True),
        (bool, "Yes", True),
        (bool, "y", True),
        (bool, "Y", True),
        (bool, "false", False),
        (bool, "False", False),
        (bool, "0", False),
        (bool, "no", False),
        (bool, "NO", False),
        (bool, "n", False),
        (bool, " yes ", True),
    ],
)
def test_text_converts_by_type(kind: type, text: str, expected: object) -> None:
    value = Option("opt", type=kind).convert(text)
    assert value == expected
    assert type(value) is kind


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (int, "abc"),
        (int, ""),
        (int, "1.5"),
        (int, "1_000"),
        (int, "1e3"),
        (int, "٣"),  # an Arabic-Indic digit: int() would take it, the rules do not
        (float, "abc"),
        (float, ""),
        (float, "inf"),
        (float, "nan"),
        (float, "1_0.0"),
        (float, "."),
        (float, "1e"),
        (bool, "maybe"),
        (bool, ""),
        (bool, "2"),
        (bool, "on"),
    ],
)
def test_text_that_does_not_convert_is_refused(kind: type, text: str) -> None:
    with pytest.raises(ArgumentError, match=f"option 'opt' expects {kind.__name__}, got"):
        Option("opt", type=kind).convert(text)


def test_values_of_the_type_are_kept() -> None:
    assert Option("n", type=int).convert(3) == 3
    assert Option("f", type=float).convert(3) == 3.0
    assert type(Option("f", type=float).convert(3)) is float
    assert Option("b", type=bool).convert(False) is False
    with pytest.raises(ArgumentError, match="option 'n' expects int, got True"):
        Option("n", type=int).convert(True)
    with pytest.raises(ArgumentError, match="option 's' expects str, got 5"):
        Option("s").convert(5)


def test_option_attributes() -> None:
    option = Option("count", default=2, help="How many", type=int)
    assert (option.name, option.default, option.help, option.type) == ("count", 2, "How many", int)
    assert option.type_name == "int"
    assert option.required is False
    required = Option("name")
    assert (required.default, required.help, required.type, required.required) == (
        None,
        None,
        str,
        True,
    )
    assert Option("loud", default=False, type=bool).required is False
    # a default given as text is converted like an argument, as in the original
    assert Option("count", default="3", type=int).default == 3


def test_bad_option_declarations() -> None:
    with pytest.raises(TypeError, match="unsupported type"):
        Option("x", type=list)
    with pytest.raises(TypeError, match="non-empty str"):
        Option("")
    with pytest.raises(ArgumentError, match="option 'x' expects int, got 'many'"):
        Option("x", default="many", type=int)


# --- Parameters.consolidate --------------------------------------------------------------


def declared() -> Parameters:
    return Parameters(
        [
            Option("name", help="Who to greet"),
            Option("count", default=2, type=int),
            Option("ratio", default=0.5, type=float),
            Option("loud", default=False, type=bool),
        ]
    )


def test_consolidate_converts_and_fills_defaults() -> None:
    assert declared().consolidate({"name": "Ada"}) == {
        "name": "Ada",
        "count": 2,
        "ratio": 0.5,
        "loud": False,
    }
    assert declared().consolidate({"name": "Ada", "count": "5", "loud": "yes", "ratio": "2"}) == {
        "name": "Ada",
        "count": 5,
        "ratio": 2.0,
        "loud": True,
    }


def test_missing_required_option_is_named() -> None:
    with pytest.raises(ArgumentError, match="required option 'name' not given"):
        declared().consolidate({"count": "1"})
    assert declared().check_missing({}) == ["name"]
    assert declared().check_missing({"name": "x"}) == []


def test_bad_value_is_named() -> None:
    with pytest.raises(ArgumentError, match="option 'count' expects int, got 'abc'"):
        declared().consolidate({"name": "Ada", "count": "abc"})


def test_unknown_argument_lists_the_declared_options() -> None:
    with pytest.raises(ArgumentError) as info:
        declared().consolidate({"name": "Ada", "colour": "red"})
    assert str(info.value) == (
        "unknown argument 'colour'; the declared options: 'name', 'count', 'ratio', 'loud'"
    )
    with pytest.raises(ArgumentError, match="unknown argument 'x'; the declared options: none"):
        Parameters([]).consolidate({"x": "1"})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ArgumentError) as info:
        declared().consolidate({"colour": "red", "loud": "perhaps"})
    message = str(info.value)
    assert "unknown argument 'colour'" in message
    assert "required option 'name' not given" in message
    assert "option 'loud' expects bool, got 'perhaps'" in message


def test_argument_error_is_a_lightflow_error() -> None:
    assert issubclass(ArgumentError, LightflowError)


def test_parameters_is_a_list_of_options() -> None:
    parameters = declared()
    assert isinstance(parameters, list)
    assert [option.name for option in parameters] == ["name", "count", "ratio", "loud"]
    assert Parameters().consolidate({}) == {}
    with pytest.raises(TypeError, match="holds Option objects"):
        Parameters(["name"])  # type: ignore[list-item]
    with pytest.raises(ArgumentError, match="two options are named 'name'"):
        Parameters([Option("name"), Option("name")])


def test_parameters_pickle() -> None:
    copy = cloudpickle.loads(cloudpickle.dumps(declared()))
    assert isinstance(copy, Parameters)
    assert copy.consolidate({"name": "x"})["count"] == 2


# --- protocol ----------------------------------------------------------------------------


def test_option_to_proto() -> None:
    message = option_to_proto(Option("name", help="Who"))
    assert (message.name, message.type, message.help) == ("name", "str", "Who")
    assert not message.HasField("default")
    assert [(m.name, m.type, m.default, m.help) for m in options_to_proto(declared())[1:]] == [
        ("count", "int", "2", ""),
        ("ratio", "float", "0.5", ""),
        ("loud", "bool", "false", ""),
    ]
    assert option_to_proto(Option("s", default="")).default == ""
    assert option_to_proto(Option("f", default=1e100, type=float)).default == "1e+100"
    assert option_to_proto(Option("b", default="yes", type=bool)).default == "true"


def test_proto_round_trip_gives_the_same_conversion() -> None:
    rebuilt = Parameters.from_proto(options_to_proto(declared()))
    assert [repr(option) for option in rebuilt] == [
        "Option(name='name', default=None, help='Who to greet', type=str)",
        "Option(name='count', default=2, help=None, type=int)",
        "Option(name='ratio', default=0.5, help=None, type=float)",
        "Option(name='loud', default=False, help=None, type=bool)",
    ]
    args = {"name": "Ada", "count": "4"}
    assert rebuilt.consolidate(args) == declared().consolidate(args)


def test_option_from_proto_refuses_unknown_types_and_bad_defaults() -> None:
    with pytest.raises(ArgumentError, match="option 'x' has the unknown type 'list'"):
        option_from_proto(workflow_pb2.OptionDefinition(name="x", type="list"))
    with pytest.raises(ArgumentError, match="option 'x' expects int, got 'two'"):
        option_from_proto(workflow_pb2.OptionDefinition(name="x", type="int", default="two"))


# --- the loader --------------------------------------------------------------------------


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source)
    return path


WORKFLOW = textwrap.dedent(
    """
    from lightflow.models import Dag, Option, Parameters
    from lightflow.tasks import PythonTask

    def cb(data, store, signal, context):
        pass

    {parameters}

    d = Dag('main')
    d.define({{PythonTask('a', cb): None}})
    """
)


def test_loader_collects_the_parameters(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "args.py",
        WORKFLOW.format(
            parameters="params = Parameters([Option('name'), Option('n', default=1, type=int)])"
        ),
    )
    workflow = load_workflow(path)
    assert workflow.parameters is workflow.module.params
    proto = workflow.to_proto()
    assert [(o.name, o.type, o.HasField("default")) for o in proto.options] == [
        ("name", "str", False),
        ("n", "int", True),
    ]


def test_loader_without_parameters(tmp_path: Path) -> None:
    workflow = load_workflow(write(tmp_path, "plain.py", WORKFLOW.format(parameters="")))
    assert workflow.parameters is None
    assert len(workflow.to_proto().options) == 0
    hash(workflow)


def test_the_same_parameters_under_two_names_is_one(tmp_path: Path) -> None:
    source = WORKFLOW.format(parameters="params = Parameters([Option('a')])\nalias = params")
    workflow = load_workflow(write(tmp_path, "alias.py", source))
    assert workflow.parameters is workflow.module.params


def test_loader_refuses_two_parameters(tmp_path: Path) -> None:
    source = WORKFLOW.format(
        parameters="first = Parameters([Option('a')])\nsecond = Parameters([Option('b')])"
    )
    path = write(tmp_path, "twice.py", source)
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflow(path)
    assert "workflow 'twice'" in str(info.value)
    assert "defines 2 Parameters (first, second)" in str(info.value)


def test_bad_option_in_a_file_is_a_definition_error(tmp_path: Path) -> None:
    source = WORKFLOW.format(parameters="params = Parameters([Option('n', type=list)])")
    with pytest.raises(WorkflowDefinitionError, match="unsupported type"):
        load_workflow(write(tmp_path, "bad.py", source))


def test_parameters_example() -> None:
    workflow = load_workflow(EXAMPLES / "parameters.py")
    assert workflow.parameters is not None
    assert [(o.name, o.type, o.default) for o in workflow.parameters] == [
        ("name", str, None),
        ("count", int, 2),
        ("loud", bool, False),
    ]
    assert workflow.parameters.consolidate({"name": "Ada", "loud": "y"}) == {
        "name": "Ada",
        "count": 2,
        "loud": True,
    }


# --- TaskParameters ----------------------------------------------------------------------


def test_task_parameters_eval_calls_callables_with_data_and_store() -> None:
    calls: list[tuple[Any, Any]] = []

    def compute(data: Any, store: Any) -> str:
        calls.append((data, store))
        return f"{data['word']}-{store['suffix']}"

    params = TaskParameters(command=compute, cwd="/tmp", env=None)
    result = params.eval({"word": "hello"}, {"suffix": "there"})
    assert isinstance(result, TaskParameters)
    assert result == {"command": "hello-there", "cwd": "/tmp", "env": None}
    assert calls == [({"word": "hello"}, {"suffix": "there"})]
    assert params["command"] is compute  # the original is left as it was
    assert result.command == "hello-there"
    assert params.eval({}, {}, exclude=["command"]) == {"cwd": "/tmp", "env": None}


def test_task_parameters_eval_single_and_attributes() -> None:
    params = TaskParameters({"a": 1}, b=lambda data, store: data + store)
    assert params.eval_single("a", 2, 3) == 1
    assert params.eval_single("b", 2, 3) == 5
    with pytest.raises(AttributeError, match="no task parameter 'c'"):
        params.eval_single("c", 2, 3)
    params.c = 4
    assert params["c"] == 4
    del params.c
    assert "c" not in params
    with pytest.raises(AttributeError):
        _ = params.missing
    with pytest.raises(AttributeError):
        del params.missing


def test_task_parameters_pickle() -> None:
    params = TaskParameters(command=lambda data, store: "echo", n=2)
    copy = cloudpickle.loads(cloudpickle.dumps(params))
    assert isinstance(copy, TaskParameters)
    assert copy.eval(None, None) == {"command": "echo", "n": 2}
