"""Contains all the data models used in inputs/outputs"""

from .document_results import DocumentResults
from .document_status import DocumentStatus
from .document_status_envelope import DocumentStatusEnvelope
from .document_status_response import DocumentStatusResponse

__all__ = (
    "DocumentResults",
    "DocumentStatus",
    "DocumentStatusEnvelope",
    "DocumentStatusResponse",
)
