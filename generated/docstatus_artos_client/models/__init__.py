"""Contains all the data models used in inputs/outputs"""

from .task_status_response import TaskStatusResponse
from .task_status_response_status import TaskStatusResponseStatus

__all__ = (
    "TaskStatusResponse",
    "TaskStatusResponseStatus",
)
