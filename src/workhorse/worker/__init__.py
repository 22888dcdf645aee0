from workhorse.worker.config import DispatchMode, WorkerConfig
from workhorse.worker.runtime import Worker

__all__ = ["DispatchMode", "Worker", "WorkerConfig"]
