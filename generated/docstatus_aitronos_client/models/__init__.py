"""Contains all the data models used in inputs/outputs"""

from .error_body import ErrorBody
from .error_details import ErrorDetails
from .error_envelope import ErrorEnvelope
from .file_processing_state import FileProcessingState
from .file_processing_status import FileProcessingStatus
from .processing_status_data import ProcessingStatusData
from .processing_status_envelope import ProcessingStatusEnvelope

__all__ = (
    "ErrorBody",
    "ErrorDetails",
    "ErrorEnvelope",
    "FileProcessingState",
    "FileProcessingStatus",
    "ProcessingStatusData",
    "ProcessingStatusEnvelope",
)
