from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.document_status import DocumentStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.document_results import DocumentResults


T = TypeVar("T", bound="DocumentStatusResponse")


@_attrs_define
class DocumentStatusResponse:
    """Status of the extraction of one document.

    Attributes:
        success (bool):
        document_id (str):
        status (DocumentStatus): Overall status: 'processing', 'completed', 'failed', or 'pending'.
        request_id (str | Unset): Id of the request the document was sent in.
        file_name (str | Unset):
        file_type (str | Unset): Media type of the file, e.g. application/pdf.
        file_size_bytes (int | Unset):
        total_pages (int | Unset):
        user_uid (str | Unset): Id of the user who sent the request.
        started_at (datetime.datetime | None | Unset): When extraction started, or null while it has not.
        completed_at (datetime.datetime | None | Unset): When extraction ended, or null while it has not.
        results (DocumentResults | None | Unset): Extraction results, or null (e.g. while the document is pending or
            processing).
        document_page_url (str | Unset): Page of this document in the Neurolinker web app.
    """

    success: bool
    document_id: str
    status: DocumentStatus
    request_id: str | Unset = UNSET
    file_name: str | Unset = UNSET
    file_type: str | Unset = UNSET
    file_size_bytes: int | Unset = UNSET
    total_pages: int | Unset = UNSET
    user_uid: str | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    completed_at: datetime.datetime | None | Unset = UNSET
    results: DocumentResults | None | Unset = UNSET
    document_page_url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.document_results import DocumentResults  # noqa: PLC0415

        success = self.success

        document_id = self.document_id

        status = self.status.value

        request_id = self.request_id

        file_name = self.file_name

        file_type = self.file_type

        file_size_bytes = self.file_size_bytes

        total_pages = self.total_pages

        user_uid = self.user_uid

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        results: dict[str, Any] | None | Unset
        if isinstance(self.results, Unset):
            results = UNSET
        elif isinstance(self.results, DocumentResults):
            results = self.results.to_dict()
        else:
            results = self.results

        document_page_url = self.document_page_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "success": success,
                "document_id": document_id,
                "status": status,
            }
        )
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if file_name is not UNSET:
            field_dict["file_name"] = file_name
        if file_type is not UNSET:
            field_dict["file_type"] = file_type
        if file_size_bytes is not UNSET:
            field_dict["file_size_bytes"] = file_size_bytes
        if total_pages is not UNSET:
            field_dict["total_pages"] = total_pages
        if user_uid is not UNSET:
            field_dict["user_uid"] = user_uid
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if results is not UNSET:
            field_dict["results"] = results
        if document_page_url is not UNSET:
            field_dict["document_page_url"] = document_page_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.document_results import DocumentResults  # noqa: PLC0415

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        success = d.pop("success")

        document_id = d.pop("document_id")

        status = DocumentStatus(d.pop("status"))

        request_id = d.pop("request_id", UNSET)

        file_name = d.pop("file_name", UNSET)

        file_type = d.pop("file_type", UNSET)

        file_size_bytes = d.pop("file_size_bytes", UNSET)

        total_pages = d.pop("total_pages", UNSET)

        user_uid = d.pop("user_uid", UNSET)

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            raise TypeError(f"{data!r} is not a valid datetime.datetime | None | Unset")

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            raise TypeError(f"{data!r} is not a valid datetime.datetime | None | Unset")

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        def _parse_results(data: object) -> DocumentResults | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                results_type_0 = DocumentResults.from_dict(data)

                return results_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            raise TypeError(f"{data!r} is not a valid DocumentResults | None | Unset")

        results = _parse_results(d.pop("results", UNSET))

        document_page_url = d.pop("document_page_url", UNSET)

        document_status_response = cls(
            success=success,
            document_id=document_id,
            status=status,
            request_id=request_id,
            file_name=file_name,
            file_type=file_type,
            file_size_bytes=file_size_bytes,
            total_pages=total_pages,
            user_uid=user_uid,
            started_at=started_at,
            completed_at=completed_at,
            results=results,
            document_page_url=document_page_url,
        )

        document_status_response.additional_properties = d
        return document_status_response

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
