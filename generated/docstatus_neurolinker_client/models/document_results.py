from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DocumentResults")


@_attrs_define
class DocumentResults:
    """Extraction results, an open object: `storage_path` and `cropped_images` are the keys the documented example shows;
    any other key is kept as it is.

        Attributes:
            storage_path (str | Unset): Storage folder of the document's extraction output.
            cropped_images (list[str] | Unset): File names of the images cropped from the document.
    """

    storage_path: str | Unset = UNSET
    cropped_images: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        storage_path = self.storage_path

        cropped_images: list[str] | Unset = UNSET
        if not isinstance(self.cropped_images, Unset):
            cropped_images = self.cropped_images

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if storage_path is not UNSET:
            field_dict["storage_path"] = storage_path
        if cropped_images is not UNSET:
            field_dict["cropped_images"] = cropped_images

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        storage_path = d.pop("storage_path", UNSET)

        cropped_images = cast(list[str], d.pop("cropped_images", UNSET))

        document_results = cls(
            storage_path=storage_path,
            cropped_images=cropped_images,
        )

        document_results.additional_properties = d
        return document_results

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
