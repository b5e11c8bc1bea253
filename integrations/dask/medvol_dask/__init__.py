"""Convert a DICOM archive indexed by `medvol index` on a Dask distributed cluster."""
from .driver import ArchiveRun, StackTask, convert_archive, plan_tasks, read_stacks, run_medvol_task

__all__ = ["ArchiveRun", "StackTask", "convert_archive", "plan_tasks", "read_stacks", "run_medvol_task"]
