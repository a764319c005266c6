"""The data that flows between tasks: one `TaskData` per input, gathered in a `MultiTaskData`.

Names and behaviour follow the original Lightflow (`lightflow/models/task_data.py`), so
workflow files written for it run unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from copy import deepcopy
from typing import Any

from lightflow._errors import LightflowError

__all__ = ["DataError", "MultiTaskData", "TaskData"]


class DataError(LightflowError):
    """A dataset was asked for by an alias or an index that does not exist."""


class TaskData:
    """One dataset passed between tasks.

    It behaves like a dictionary and also records the names of the tasks that contributed
    to it, in order.
    """

    def __init__(
        self, data: dict[str, Any] | None = None, task_history: list[str] | None = None
    ) -> None:
        """Create a dataset.

        Args:
            data: The initial key/value pairs; the dict is used as is, not copied.
            task_history: The names of the tasks that contributed to this data so far.
        """
        self._data: dict[str, Any] = data if data is not None else {}
        self._task_history: list[str] = task_history if task_history is not None else []

    @property
    def data(self) -> dict[str, Any]:
        """The key/value pairs of this dataset."""
        return self._data

    @property
    def task_history(self) -> list[str]:
        """The names of the tasks that contributed to this dataset, oldest first."""
        return self._task_history

    def add_task_history(self, task_name: str) -> None:
        """Record that the task `task_name` contributed to this dataset."""
        self._task_history.append(task_name)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value under `key`, or `default` when there is none."""
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store `value` under `key`."""
        self._data[key] = value

    def merge(self, dataset: TaskData) -> None:
        """Merge `dataset` on top of this one.

        Nested dicts are merged key by key; any other value of `dataset` replaces the value
        here. Task names of `dataset`'s history that are new are appended to this history.
        """

        def merge_data(source: dict[str, Any], dest: dict[str, Any]) -> None:
            for key, value in source.items():
                if isinstance(value, dict):
                    nested = dest.get(key)
                    if not isinstance(nested, dict):
                        # a dict replaces a scalar, as a scalar would replace a dict
                        nested = dest[key] = {}
                    merge_data(value, nested)
                else:
                    dest[key] = value

        merge_data(dataset.data, self._data)
        for name in dataset.task_history:
            if name not in self._task_history:
                self._task_history.append(name)

    def copy(self) -> TaskData:
        """Return a deep copy of this dataset (values and history)."""
        return deepcopy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> TaskData:
        return TaskData(deepcopy(self._data, memo), list(self._task_history))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def __str__(self) -> str:
        return str(self._data)


class MultiTaskData:
    """The data object a task receives: one or more `TaskData` datasets, one per input.

    Each dataset can be reached by its index (the order in which it was added) or by an
    alias; the name of the task a dataset came from is always one of its aliases. Item
    access (`data['key']`) goes to the default dataset, which is the first one unless
    changed with `set_default_by_alias` / `set_default_by_index`.
    """

    def __init__(
        self, *, dataset: TaskData | None = None, aliases: Iterable[str] | None = None
    ) -> None:
        """Create the data object, optionally with a first dataset.

        Args:
            dataset: The first dataset (index 0).
            aliases: Aliases of the first dataset.
        """
        self._datasets: list[TaskData] = [] if dataset is None else [dataset]
        alias_list = list(aliases) if aliases is not None else []
        if alias_list and dataset is None:
            raise DataError(f"aliases {alias_list!r} were given without a dataset to point to")
        self._aliases: dict[str, int] = dict.fromkeys(alias_list, 0)
        self._default_index = 0

    @property
    def default_index(self) -> int:
        """The index of the default dataset."""
        return self._default_index

    @property
    def default_dataset(self) -> TaskData:
        """The dataset that item access (`data['key']`) reads and writes."""
        return self.get_by_index(self._default_index)

    @property
    def aliases(self) -> dict[str, int]:
        """A copy of the alias → index mapping."""
        return dict(self._aliases)

    def add_dataset(
        self,
        task_name: str,
        dataset: TaskData | None = None,
        *,
        aliases: Iterable[str | None] | None = None,
    ) -> None:
        """Append a dataset received from the task `task_name`.

        Args:
            task_name: The name of the task that produced the dataset; it becomes an alias.
            dataset: The dataset; an empty one when None.
            aliases: More aliases for the dataset; None and '' entries are ignored.
        """
        self._datasets.append(dataset if dataset is not None else TaskData())
        index = len(self._datasets) - 1
        self._aliases[task_name] = index
        for alias in aliases or ():
            # the scheduler passes "no alias" through as None or "", as the original did
            if alias:
                self._aliases[alias] = index

    def add_alias(self, alias: str, index: int) -> None:
        """Make `alias` point to the dataset at `index`."""
        self._check_index(index)
        self._aliases[alias] = index

    def flatten(self, in_place: bool = True) -> MultiTaskData | None:
        """Merge all datasets into one.

        The default dataset is merged last, so its values win over those of the others.
        Every alias then points to the merged dataset.

        Args:
            in_place: True: replace the datasets of this object and return None. False:
                leave this object unchanged and return a new `MultiTaskData`.
        """
        merged = TaskData()
        for index, dataset in enumerate(self._datasets):
            if index != self._default_index:
                merged.merge(dataset)
        if self._datasets:
            merged.merge(self.default_dataset)

        if not in_place:
            return MultiTaskData(dataset=merged, aliases=list(self._aliases))
        self._datasets = [merged]
        self._aliases = dict.fromkeys(self._aliases, 0)
        self._default_index = 0
        return None

    def set_default_by_alias(self, alias: str) -> None:
        """Make the dataset with `alias` the default dataset."""
        self._default_index = self._index_of(alias)

    def set_default_by_index(self, index: int) -> None:
        """Make the dataset at `index` the default dataset."""
        self._check_index(index)
        self._default_index = index

    def get_by_alias(self, alias: str) -> TaskData:
        """Return the dataset with `alias`; `data(alias)` is the short form."""
        return self._datasets[self._index_of(alias)]

    def get_by_index(self, index: int) -> TaskData:
        """Return the dataset at `index` (0 is the first dataset added)."""
        self._check_index(index)
        return self._datasets[index]

    def add_task_history(self, task_name: str) -> None:
        """Record in every dataset that the task `task_name` contributed to it."""
        for dataset in self._datasets:
            dataset.add_task_history(task_name)

    def copy(self) -> MultiTaskData:
        """Return a deep copy (datasets, aliases and default)."""
        return deepcopy(self)

    def _index_of(self, alias: str) -> int:
        try:
            return self._aliases[alias]
        except KeyError:
            known = ", ".join(repr(a) for a in self._aliases) or "none"
            raise DataError(f"no dataset has the alias {alias!r}; known aliases: {known}") from None

    def _check_index(self, index: int) -> None:
        # negative indexes are refused: the original did not support them either
        if not 0 <= index < len(self._datasets):
            raise DataError(
                f"no dataset has the index {index}; there are {len(self._datasets)} dataset(s)"
            )

    def __call__(self, alias: str) -> TaskData:
        return self.get_by_alias(alias)

    def __getitem__(self, key: str) -> Any:
        return self.default_dataset[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.default_dataset[key] = value

    def __delitem__(self, key: str) -> None:
        del self.default_dataset[key]

    def __contains__(self, key: object) -> bool:
        # `'value' in data` asks about the default dataset, like item access does
        return bool(self._datasets) and key in self.default_dataset

    def __len__(self) -> int:
        return len(self._datasets)

    def __iter__(self) -> Iterator[TaskData]:
        return iter(self._datasets)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(datasets={self._datasets!r}, aliases={self._aliases!r}, "
            f"default_index={self._default_index})"
        )
