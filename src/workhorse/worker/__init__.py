from workhorse.worker.config import WorkerConfig
from workhorse.worker.runtime import Worker

__all__ = ["Worker", "WorkerConfig"]
