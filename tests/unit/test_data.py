"""TaskData and MultiTaskData keep the original Lightflow's semantics."""

from __future__ import annotations

import copy

import cloudpickle
import pytest

from lightflow._data import DataError
from lightflow._errors import LightflowError
from lightflow.models import MultiTaskData, TaskData


def two_inputs() -> MultiTaskData:
    data = MultiTaskData()
    data.add_dataset("put_task", TaskData({"value": 5}), aliases=["first"])
    data.add_dataset("multiply_task", TaskData({"value": 125}), aliases=["second"])
    return data


# --- TaskData --------------------------------------------------------------------------


def test_task_data_behaves_like_a_dict() -> None:
    data = TaskData()
    assert data.data == {}
    assert data.task_history == []
    data["a"] = 1
    data.set("b", 2)
    assert data["a"] == 1
    assert data.get("b") == 2
    assert data.get("missing") is None
    assert data.get("missing", 7) == 7
    assert "a" in data
    assert "missing" not in data
    del data["a"]
    assert "a" not in data
    with pytest.raises(KeyError):
        data["a"]
    assert str(data) == "{'b': 2}"
    assert repr(data) == "TaskData({'b': 2})"


def test_task_data_history() -> None:
    data = TaskData({"x": 1}, ["put_task"])
    data.add_task_history("square_task")
    assert data.task_history == ["put_task", "square_task"]
    assert TaskData(task_history=["a"]).task_history == ["a"]


def test_task_data_merge_is_deep_and_appends_new_history() -> None:
    base = TaskData({"a": 1, "nested": {"x": 1, "y": 2}, "scalar": 3}, ["t1", "t2"])
    other = TaskData(
        {"a": 10, "nested": {"y": 20, "z": 30}, "scalar": {"now": "dict"}}, ["t2", "t3"]
    )
    base.merge(other)
    assert base.data == {"a": 10, "nested": {"x": 1, "y": 20, "z": 30}, "scalar": {"now": "dict"}}
    assert base.task_history == ["t1", "t2", "t3"]


def test_task_data_copy_is_deep() -> None:
    data = TaskData({"list": [1, 2]}, ["t1"])
    clone = data.copy()
    clone["list"].append(3)
    clone.add_task_history("t2")
    assert data["list"] == [1, 2]
    assert data.task_history == ["t1"]
    assert copy.deepcopy(data).data == {"list": [1, 2]}


# --- MultiTaskData ---------------------------------------------------------------------


def test_empty_multi_task_data() -> None:
    data = MultiTaskData()
    assert len(data) == 0
    assert list(data) == []
    assert "value" not in data
    assert data.default_index == 0
    with pytest.raises(DataError, match="no dataset has the index 0; there are 0 dataset"):
        data.default_dataset  # noqa: B018


def test_constructor_with_dataset_and_aliases() -> None:
    first = TaskData({"value": 1})
    data = MultiTaskData(dataset=first, aliases=["a", "b"])
    assert len(data) == 1
    assert data.get_by_alias("a") is first
    assert data("b") is first
    assert data.default_dataset is first
    with pytest.raises(DataError, match="without a dataset"):
        MultiTaskData(aliases=["a"])
    assert len(MultiTaskData(aliases=[])) == 0


def test_item_access_goes_to_the_default_dataset() -> None:
    data = two_inputs()
    assert data.default_index == 0
    assert data["value"] == 5
    assert "value" in data
    data["value"] = 6
    assert data.get_by_index(0)["value"] == 6
    assert data.get_by_index(1)["value"] == 125
    del data["value"]
    assert "value" not in data
    assert "value" in data.get_by_index(1)


def test_get_by_index_alias_and_call_form() -> None:
    data = two_inputs()
    assert data.get_by_index(1)["value"] == 125
    assert data.get_by_alias("first")["value"] == 5
    assert data("second")["value"] == 125
    # the name of the task a dataset came from is an alias too
    assert data.get_by_alias("put_task") is data.get_by_index(0)
    assert data("multiply_task") is data.get_by_index(1)
    # the data_flow example's subtraction
    assert data.get_by_alias("first")["value"] - data("second")["value"] == -120


def test_unknown_alias_names_it_and_the_known_ones() -> None:
    data = two_inputs()
    with pytest.raises(DataError) as info:
        data.get_by_alias("third")
    message = str(info.value)
    assert "'third'" in message
    for known in ("put_task", "first", "multiply_task", "second"):
        assert repr(known) in message
    with pytest.raises(DataError, match="'third'"):
        data("third")
    with pytest.raises(DataError, match="'third'"):
        data.set_default_by_alias("third")
    assert issubclass(DataError, LightflowError)


def test_unknown_index() -> None:
    data = two_inputs()
    with pytest.raises(DataError, match="index 2; there are 2 dataset"):
        data.get_by_index(2)
    with pytest.raises(DataError, match="index -1"):
        data.get_by_index(-1)
    with pytest.raises(DataError, match="index 5"):
        data.set_default_by_index(5)
    with pytest.raises(DataError, match="index 9"):
        data.add_alias("nine", 9)


def test_changing_the_default_dataset() -> None:
    data = two_inputs()
    data.set_default_by_index(1)
    assert data.default_index == 1
    assert data["value"] == 125
    data.set_default_by_alias("first")
    assert data.default_index == 0
    assert data["value"] == 5
    data.add_alias("other", 1)
    data.set_default_by_alias("other")
    assert data["value"] == 125


def test_add_dataset_defaults_and_ignores_empty_aliases() -> None:
    data = MultiTaskData()
    data.add_dataset("t1")
    data.add_dataset("t2", aliases=[None, ""])
    assert len(data) == 2
    assert data.get_by_index(0).data == {}
    assert data.aliases == {"t1": 0, "t2": 1}


def test_iteration_is_over_datasets() -> None:
    data = two_inputs()
    assert [d["value"] for d in data] == [5, 125]


def test_flatten_in_place_lets_the_default_dataset_win() -> None:
    data = MultiTaskData()
    data.add_dataset("a", TaskData({"value": 1, "only_a": True}, ["a"]))
    data.add_dataset("b", TaskData({"value": 2, "only_b": True}, ["b"]))
    data.set_default_by_index(0)
    assert data.flatten() is None
    assert len(data) == 1
    assert data.default_index == 0
    assert data.default_dataset.data == {"value": 1, "only_a": True, "only_b": True}
    assert data.default_dataset.task_history == ["b", "a"]
    # every alias now points at the merged dataset
    assert data("a") is data("b") is data.get_by_index(0)


def test_flatten_not_in_place_returns_a_new_object() -> None:
    data = two_inputs()
    data.set_default_by_alias("second")
    flat = data.flatten(in_place=False)
    assert flat is not None
    assert len(data) == 2
    assert len(flat) == 1
    assert flat["value"] == 125
    assert flat("first") is flat("second")


def test_add_task_history_goes_to_every_dataset() -> None:
    data = two_inputs()
    data.add_task_history("subtract_task")
    assert [d.task_history for d in data] == [["subtract_task"], ["subtract_task"]]


def test_copy_and_pickle() -> None:
    data = two_inputs()
    clone = data.copy()
    clone["value"] = 0
    assert data["value"] == 5
    restored = cloudpickle.loads(cloudpickle.dumps(data))
    assert restored("second")["value"] == 125
    assert restored.aliases == data.aliases
