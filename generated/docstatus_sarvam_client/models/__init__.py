"""Contains all the data models used in inputs/outputs"""

from .doc_digitization_error_code import DocDigitizationErrorCode
from .doc_digitization_error_details import DocDigitizationErrorDetails
from .doc_digitization_error_message import DocDigitizationErrorMessage
from .doc_digitization_job_detail import DocDigitizationJobDetail
from .doc_digitization_job_detail_state import DocDigitizationJobDetailState
from .doc_digitization_job_state import DocDigitizationJobState
from .doc_digitization_job_status_response import DocDigitizationJobStatusResponse
from .doc_digitization_page_error import DocDigitizationPageError
from .storage_container_type import StorageContainerType
from .task_file_details import TaskFileDetails

__all__ = (
    "DocDigitizationErrorCode",
    "DocDigitizationErrorDetails",
    "DocDigitizationErrorMessage",
    "DocDigitizationJobDetail",
    "DocDigitizationJobDetailState",
    "DocDigitizationJobState",
    "DocDigitizationJobStatusResponse",
    "DocDigitizationPageError",
    "StorageContainerType",
    "TaskFileDetails",
)
