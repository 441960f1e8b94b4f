from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_details import ErrorDetails


T = TypeVar("T", bound="ErrorBody")


@_attrs_define
class ErrorBody:
    """What went wrong.

    Attributes:
        code (str): Machine-readable error code, e.g. `FILE_NOT_IN_STORE`.
        message (str): Message for end users.
        system_message (str | Unset): Technical message.
        type_ (str | Unset): Error class, e.g. `client_error`.
        status (int | Unset): The HTTP status code.
        details (ErrorDetails | Unset): Context of the error; its keys depend on the error (e.g. `file_id`, `store_id`).
        trace_id (str | Unset): Id to quote to Aitronos support.
        timestamp (datetime.datetime | Unset): When the error happened.
    """

    code: str
    message: str
    system_message: str | Unset = UNSET
    type_: str | Unset = UNSET
    status: int | Unset = UNSET
    details: ErrorDetails | Unset = UNSET
    trace_id: str | Unset = UNSET
    timestamp: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        message = self.message

        system_message = self.system_message

        type_ = self.type_

        status = self.status

        details: dict[str, Any] | Unset = UNSET
        if not isinstance(self.details, Unset):
            details = self.details.to_dict()

        trace_id = self.trace_id

        timestamp: str | Unset = UNSET
        if not isinstance(self.timestamp, Unset):
            timestamp = self.timestamp.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )
        if system_message is not UNSET:
            field_dict["system_message"] = system_message
        if type_ is not UNSET:
            field_dict["type"] = type_
        if status is not UNSET:
            field_dict["status"] = status
        if details is not UNSET:
            field_dict["details"] = details
        if trace_id is not UNSET:
            field_dict["trace_id"] = trace_id
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_details import ErrorDetails  # noqa: PLC0415

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        code = d.pop("code")

        message = d.pop("message")

        system_message = d.pop("system_message", UNSET)

        type_ = d.pop("type", UNSET)

        status = d.pop("status", UNSET)

        _details = d.pop("details", UNSET)
        details: ErrorDetails | Unset
        if isinstance(_details, Unset):
            details = UNSET
        else:
            details = ErrorDetails.from_dict(_details)

        trace_id = d.pop("trace_id", UNSET)

        _timestamp = d.pop("timestamp", UNSET)
        timestamp: datetime.datetime | Unset
        if isinstance(_timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = datetime.datetime.fromisoformat(_timestamp)

        error_body = cls(
            code=code,
            message=message,
            system_message=system_message,
            type_=type_,
            status=status,
            details=details,
            trace_id=trace_id,
            timestamp=timestamp,
        )

        error_body.additional_properties = d
        return error_body

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
