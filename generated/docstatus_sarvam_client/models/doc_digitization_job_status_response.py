from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.doc_digitization_job_state import DocDigitizationJobState
from ..models.storage_container_type import StorageContainerType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.doc_digitization_job_detail import DocDigitizationJobDetail


T = TypeVar("T", bound="DocDigitizationJobStatusResponse")


@_attrs_define
class DocDigitizationJobStatusResponse:
    """Response model for job status endpoint.

    Attributes:
        job_id (str): Job identifier (UUID)
        job_state (DocDigitizationJobState): Current state of the document intelligence job
        created_at (datetime.datetime): Job creation timestamp (ISO 8601)
        updated_at (datetime.datetime): Last update timestamp (ISO 8601)
        storage_container_type (StorageContainerType):
        total_files (int | Unset): Total input files (always 1) Default: 0.
        successful_files_count (int | Unset): Files that completed successfully Default: 0.
        failed_files_count (int | Unset): Files that failed Default: 0.
        error_message (str | Unset): Job-level error message Default: ''.
        job_details (list[DocDigitizationJobDetail] | Unset): Per-file processing details with page metrics
    """

    job_id: str
    job_state: DocDigitizationJobState
    created_at: datetime.datetime
    updated_at: datetime.datetime
    storage_container_type: StorageContainerType
    total_files: int | Unset = 0
    successful_files_count: int | Unset = 0
    failed_files_count: int | Unset = 0
    error_message: str | Unset = ""
    job_details: list[DocDigitizationJobDetail] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        job_id = self.job_id

        job_state = self.job_state.value

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        storage_container_type = self.storage_container_type.value

        total_files = self.total_files

        successful_files_count = self.successful_files_count

        failed_files_count = self.failed_files_count

        error_message = self.error_message

        job_details: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.job_details, Unset):
            job_details = []
            for job_details_item_data in self.job_details:
                job_details_item = job_details_item_data.to_dict()
                job_details.append(job_details_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "job_id": job_id,
                "job_state": job_state,
                "created_at": created_at,
                "updated_at": updated_at,
                "storage_container_type": storage_container_type,
            }
        )
        if total_files is not UNSET:
            field_dict["total_files"] = total_files
        if successful_files_count is not UNSET:
            field_dict["successful_files_count"] = successful_files_count
        if failed_files_count is not UNSET:
            field_dict["failed_files_count"] = failed_files_count
        if error_message is not UNSET:
            field_dict["error_message"] = error_message
        if job_details is not UNSET:
            field_dict["job_details"] = job_details

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.doc_digitization_job_detail import (
            DocDigitizationJobDetail,  # noqa: PLC0415
        )

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        job_id = d.pop("job_id")

        job_state = DocDigitizationJobState(d.pop("job_state"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        storage_container_type = StorageContainerType(d.pop("storage_container_type"))

        total_files = d.pop("total_files", UNSET)

        successful_files_count = d.pop("successful_files_count", UNSET)

        failed_files_count = d.pop("failed_files_count", UNSET)

        error_message = d.pop("error_message", UNSET)

        _job_details = d.pop("job_details", UNSET)
        job_details: list[DocDigitizationJobDetail] | Unset = UNSET
        if _job_details is not UNSET:
            job_details = []
            for job_details_item_data in _job_details:
                job_details_item = DocDigitizationJobDetail.from_dict(
                    job_details_item_data
                )

                job_details.append(job_details_item)

        doc_digitization_job_status_response = cls(
            job_id=job_id,
            job_state=job_state,
            created_at=created_at,
            updated_at=updated_at,
            storage_container_type=storage_container_type,
            total_files=total_files,
            successful_files_count=successful_files_count,
            failed_files_count=failed_files_count,
            error_message=error_message,
            job_details=job_details,
        )

        doc_digitization_job_status_response.additional_properties = d
        return doc_digitization_job_status_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
