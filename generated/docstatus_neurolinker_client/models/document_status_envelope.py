from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.document_status_response import DocumentStatusResponse


T = TypeVar("T", bound="DocumentStatusEnvelope")


@_attrs_define
class DocumentStatusEnvelope:
    """The same status wrapped in `data`, as neurolinker-sdk 0.2.2 also accepts (extraction/helpers.py reads `status` and
    `documents` top-level or under `data`). Not on the page; see NOTES.md row 16.

        Attributes:
            data (DocumentStatusResponse): Status of the extraction of one document.
    """

    data: DocumentStatusResponse
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.document_status_response import (
            DocumentStatusResponse,  # noqa: PLC0415
        )

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        data = DocumentStatusResponse.from_dict(d.pop("data"))

        document_status_envelope = cls(
            data=data,
        )

        document_status_envelope.additional_properties = d
        return document_status_envelope

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
