"""Data layer: sources, tasks and id-disjoint splits."""

from crossling.data.build import load_data_dir, run_data
from crossling.data.config import ColumnMap, DataConfig
from crossling.data.rows import SourceRow
from crossling.data.sources import load_builtin, load_source
from crossling.data.splits import split_ids
from crossling.data.tasks import TASKS, get_task

__all__ = [
    "TASKS",
    "ColumnMap",
    "DataConfig",
    "SourceRow",
    "get_task",
    "load_builtin",
    "load_data_dir",
    "load_source",
    "run_data",
    "split_ids",
]
