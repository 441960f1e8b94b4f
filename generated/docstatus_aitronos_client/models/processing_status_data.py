from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.file_processing_state import FileProcessingState
from ..types import UNSET, Unset

T = TypeVar("T", bound="ProcessingStatusData")


@_attrs_define
class ProcessingStatusData:
    """The status inside the envelope of aitronos-sdk 5.0.0 (its ProcessingStatusResponse,
    aitronos/types/processing_status_response.py:10-63). Not on the page; see NOTES.md row 16.

        Attributes:
            status (FileProcessingState): Processing state of the file. The page's examples show `processing` and
                `completed`; `pending`, `queued` and `failed` are assumed.
            vector_store_file_id (str | Unset): VectorStoreFile ID (vsf_ prefix).
            file_id (str | Unset): File ID (file_ prefix).
            vector_store_id (str | Unset): Vector store ID.
            chunk_count (int | None | Unset): Number of chunks created.
            embedding_model (None | str | Unset): Embedding model used.
            error_message (None | str | Unset): Error details if failed.
            processing_started_at (datetime.datetime | None | Unset): When processing started.
            processing_completed_at (datetime.datetime | None | Unset): When processing completed.
            added_at (datetime.datetime | None | Unset): When the file was added to the vector store.
    """

    status: FileProcessingState
    vector_store_file_id: str | Unset = UNSET
    file_id: str | Unset = UNSET
    vector_store_id: str | Unset = UNSET
    chunk_count: int | None | Unset = UNSET
    embedding_model: None | str | Unset = UNSET
    error_message: None | str | Unset = UNSET
    processing_started_at: datetime.datetime | None | Unset = UNSET
    processing_completed_at: datetime.datetime | None | Unset = UNSET
    added_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        vector_store_file_id = self.vector_store_file_id

        file_id = self.file_id

        vector_store_id = self.vector_store_id

        chunk_count: int | None | Unset
        if isinstance(self.chunk_count, Unset):
            chunk_count = UNSET
        else:
            chunk_count = self.chunk_count

        embedding_model: None | str | Unset
        if isinstance(self.embedding_model, Unset):
            embedding_model = UNSET
        else:
            embedding_model = self.embedding_model

        error_message: None | str | Unset
        if isinstance(self.error_message, Unset):
            error_message = UNSET
        else:
            error_message = self.error_message

        processing_started_at: None | str | Unset
        if isinstance(self.processing_started_at, Unset):
            processing_started_at = UNSET
        elif isinstance(self.processing_started_at, datetime.datetime):
            processing_started_at = self.processing_started_at.isoformat()
        else:
            processing_started_at = self.processing_started_at

        processing_completed_at: None | str | Unset
        if isinstance(self.processing_completed_at, Unset):
            processing_completed_at = UNSET
        elif isinstance(self.processing_completed_at, datetime.datetime):
            processing_completed_at = self.processing_completed_at.isoformat()
        else:
            processing_completed_at = self.processing_completed_at

        added_at: None | str | Unset
        if isinstance(self.added_at, Unset):
            added_at = UNSET
        elif isinstance(self.added_at, datetime.datetime):
            added_at = self.added_at.isoformat()
        else:
            added_at = self.added_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
            }
        )
        if vector_store_file_id is not UNSET:
            field_dict["vector_store_file_id"] = vector_store_file_id
        if file_id is not UNSET:
            field_dict["file_id"] = file_id
        if vector_store_id is not UNSET:
            field_dict["vector_store_id"] = vector_store_id
        if chunk_count is not UNSET:
            field_dict["chunk_count"] = chunk_count
        if embedding_model is not UNSET:
            field_dict["embedding_model"] = embedding_model
        if error_message is not UNSET:
            field_dict["error_message"] = error_message
        if processing_started_at is not UNSET:
            field_dict["processing_started_at"] = processing_started_at
        if processing_completed_at is not UNSET:
            field_dict["processing_completed_at"] = processing_completed_at
        if added_at is not UNSET:
            field_dict["added_at"] = added_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        status = FileProcessingState(d.pop("status"))

        vector_store_file_id = d.pop("vector_store_file_id", UNSET)

        file_id = d.pop("file_id", UNSET)

        vector_store_id = d.pop("vector_store_id", UNSET)

        def _parse_chunk_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        chunk_count = _parse_chunk_count(d.pop("chunk_count", UNSET))

        def _parse_embedding_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        embedding_model = _parse_embedding_model(d.pop("embedding_model", UNSET))

        def _parse_error_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_message = _parse_error_message(d.pop("error_message", UNSET))

        def _parse_processing_started_at(
            data: object,
        ) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                processing_started_at_type_0 = datetime.datetime.fromisoformat(data)

                return processing_started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            raise TypeError(f"{data!r} is not a valid datetime.datetime | None | Unset")

        processing_started_at = _parse_processing_started_at(
            d.pop("processing_started_at", UNSET)
        )

        def _parse_processing_completed_at(
            data: object,
        ) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                processing_completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return processing_completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            raise TypeError(f"{data!r} is not a valid datetime.datetime | None | Unset")

        processing_completed_at = _parse_processing_completed_at(
            d.pop("processing_completed_at", UNSET)
        )

        def _parse_added_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                added_at_type_0 = datetime.datetime.fromisoformat(data)

                return added_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            raise TypeError(f"{data!r} is not a valid datetime.datetime | None | Unset")

        added_at = _parse_added_at(d.pop("added_at", UNSET))

        processing_status_data = cls(
            status=status,
            vector_store_file_id=vector_store_file_id,
            file_id=file_id,
            vector_store_id=vector_store_id,
            chunk_count=chunk_count,
            embedding_model=embedding_model,
            error_message=error_message,
            processing_started_at=processing_started_at,
            processing_completed_at=processing_completed_at,
            added_at=added_at,
        )

        processing_status_data.additional_properties = d
        return processing_status_data

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
