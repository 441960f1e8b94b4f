from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.processing_status_data import ProcessingStatusData


T = TypeVar("T", bound="ProcessingStatusEnvelope")


@_attrs_define
class ProcessingStatusEnvelope:
    """The success envelope of aitronos-sdk 5.0.0 (SuccessResponseProcessingStatusResponse,
    aitronos/types/success_response_processing_status_response.py:10-24). Not on the page.

        Attributes:
            data (ProcessingStatusData): The status inside the envelope of aitronos-sdk 5.0.0 (its ProcessingStatusResponse,
                aitronos/types/processing_status_response.py:10-63). Not on the page; see NOTES.md row 16.
            success (bool | None | Unset):
            message (str | Unset): Human-readable success message.
    """

    data: ProcessingStatusData
    success: bool | None | Unset = UNSET
    message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        success: bool | None | Unset
        if isinstance(self.success, Unset):
            success = UNSET
        else:
            success = self.success

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
            }
        )
        if success is not UNSET:
            field_dict["success"] = success
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.processing_status_data import (
            ProcessingStatusData,  # noqa: PLC0415
        )

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        data = ProcessingStatusData.from_dict(d.pop("data"))

        def _parse_success(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        success = _parse_success(d.pop("success", UNSET))

        message = d.pop("message", UNSET)

        processing_status_envelope = cls(
            data=data,
            success=success,
            message=message,
        )

        processing_status_envelope.additional_properties = d
        return processing_status_envelope

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
