from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DocAiUsage")


@_attrs_define
class DocAiUsage:
    """Page-level usage of the job (every count may be absent or null).

    Attributes:
        pages_total (int | None | Unset): Total pages in the job.
        pages_processed (int | None | Unset): Pages processed so far.
        pages_succeeded (int | None | Unset): Pages processed successfully.
        pages_failed (int | None | Unset): Pages that failed processing.
        pages_source (int | None | Unset): Pages in the source document (Split and Classify jobs, per the guide).
    """

    pages_total: int | None | Unset = UNSET
    pages_processed: int | None | Unset = UNSET
    pages_succeeded: int | None | Unset = UNSET
    pages_failed: int | None | Unset = UNSET
    pages_source: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pages_total: int | None | Unset
        if isinstance(self.pages_total, Unset):
            pages_total = UNSET
        else:
            pages_total = self.pages_total

        pages_processed: int | None | Unset
        if isinstance(self.pages_processed, Unset):
            pages_processed = UNSET
        else:
            pages_processed = self.pages_processed

        pages_succeeded: int | None | Unset
        if isinstance(self.pages_succeeded, Unset):
            pages_succeeded = UNSET
        else:
            pages_succeeded = self.pages_succeeded

        pages_failed: int | None | Unset
        if isinstance(self.pages_failed, Unset):
            pages_failed = UNSET
        else:
            pages_failed = self.pages_failed

        pages_source: int | None | Unset
        if isinstance(self.pages_source, Unset):
            pages_source = UNSET
        else:
            pages_source = self.pages_source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if pages_total is not UNSET:
            field_dict["pages_total"] = pages_total
        if pages_processed is not UNSET:
            field_dict["pages_processed"] = pages_processed
        if pages_succeeded is not UNSET:
            field_dict["pages_succeeded"] = pages_succeeded
        if pages_failed is not UNSET:
            field_dict["pages_failed"] = pages_failed
        if pages_source is not UNSET:
            field_dict["pages_source"] = pages_source

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)

        def _parse_pages_total(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pages_total = _parse_pages_total(d.pop("pages_total", UNSET))

        def _parse_pages_processed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pages_processed = _parse_pages_processed(d.pop("pages_processed", UNSET))

        def _parse_pages_succeeded(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pages_succeeded = _parse_pages_succeeded(d.pop("pages_succeeded", UNSET))

        def _parse_pages_failed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pages_failed = _parse_pages_failed(d.pop("pages_failed", UNSET))

        def _parse_pages_source(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pages_source = _parse_pages_source(d.pop("pages_source", UNSET))

        doc_ai_usage = cls(
            pages_total=pages_total,
            pages_processed=pages_processed,
            pages_succeeded=pages_succeeded,
            pages_failed=pages_failed,
            pages_source=pages_source,
        )

        doc_ai_usage.additional_properties = d
        return doc_ai_usage

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
