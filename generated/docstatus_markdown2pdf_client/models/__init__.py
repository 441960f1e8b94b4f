"""Contains all the data models used in inputs/outputs"""

from .http_validation_error import HTTPValidationError
from .job_status import JobStatus
from .output_metadata import OutputMetadata
from .status import Status
from .validation_error import ValidationError

__all__ = (
    "HTTPValidationError",
    "JobStatus",
    "OutputMetadata",
    "Status",
    "ValidationError",
)
