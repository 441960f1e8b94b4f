"""Contains all the data models used in inputs/outputs"""

from .http_validation_error import HTTPValidationError
from .job_status import JobStatus
from .status import Status
from .validation_error import ValidationError

__all__ = (
    "HTTPValidationError",
    "JobStatus",
    "Status",
    "ValidationError",
)
