"""Contains all the data models used in inputs/outputs"""

from .doc_ai_error_detail import DocAiErrorDetail
from .doc_ai_error_model import DocAiErrorModel
from .doc_ai_job_status import DocAiJobStatus
from .doc_ai_job_status_response import DocAiJobStatusResponse
from .doc_ai_usage import DocAiUsage

__all__ = (
    "DocAiErrorDetail",
    "DocAiErrorModel",
    "DocAiJobStatus",
    "DocAiJobStatusResponse",
    "DocAiUsage",
)
