"""The original Lightflow's module path of the run's store document (compatibility layer,
docs/compat.md). `DataStoreDocument` is the `store` a task callback receives."""

from lightflow._store import DataStoreDocumentSection
from lightflow._store import TaskStore as DataStoreDocument

__all__ = ["DataStoreDocument", "DataStoreDocumentSection"]
