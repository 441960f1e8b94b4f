from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.doc_digitization_job_detail_state import DocDigitizationJobDetailState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.doc_digitization_page_error import DocDigitizationPageError
    from ..models.task_file_details import TaskFileDetails


T = TypeVar("T", bound="DocDigitizationJobDetail")


@_attrs_define
class DocDigitizationJobDetail:
    """Processing details for a single input file with page-level metrics.

    Attributes:
        inputs (list[TaskFileDetails]): Input file(s) for this task
        outputs (list[TaskFileDetails]): Output file(s) produced
        state (DocDigitizationJobDetailState): Processing state for individual file
        total_pages (int | Unset): Total pages/images in the input file Default: 0.
        pages_processed (int | Unset): Number of pages processed so far Default: 0.
        pages_succeeded (int | Unset): Number of pages successfully processed Default: 0.
        pages_failed (int | Unset): Number of pages that failed processing Default: 0.
        error_message (str | Unset): Error message if processing failed Default: ''.
        error_code (None | str | Unset): Standardized error code if failed
        page_errors (list[DocDigitizationPageError] | Unset): Detailed errors for each failed page
    """

    inputs: list[TaskFileDetails]
    outputs: list[TaskFileDetails]
    state: DocDigitizationJobDetailState
    total_pages: int | Unset = 0
    pages_processed: int | Unset = 0
    pages_succeeded: int | Unset = 0
    pages_failed: int | Unset = 0
    error_message: str | Unset = ""
    error_code: None | str | Unset = UNSET
    page_errors: list[DocDigitizationPageError] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        inputs = []
        for inputs_item_data in self.inputs:
            inputs_item = inputs_item_data.to_dict()
            inputs.append(inputs_item)

        outputs = []
        for outputs_item_data in self.outputs:
            outputs_item = outputs_item_data.to_dict()
            outputs.append(outputs_item)

        state = self.state.value

        total_pages = self.total_pages

        pages_processed = self.pages_processed

        pages_succeeded = self.pages_succeeded

        pages_failed = self.pages_failed

        error_message = self.error_message

        error_code: None | str | Unset
        if isinstance(self.error_code, Unset):
            error_code = UNSET
        else:
            error_code = self.error_code

        page_errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.page_errors, Unset):
            page_errors = []
            for page_errors_item_data in self.page_errors:
                page_errors_item = page_errors_item_data.to_dict()
                page_errors.append(page_errors_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "inputs": inputs,
                "outputs": outputs,
                "state": state,
            }
        )
        if total_pages is not UNSET:
            field_dict["total_pages"] = total_pages
        if pages_processed is not UNSET:
            field_dict["pages_processed"] = pages_processed
        if pages_succeeded is not UNSET:
            field_dict["pages_succeeded"] = pages_succeeded
        if pages_failed is not UNSET:
            field_dict["pages_failed"] = pages_failed
        if error_message is not UNSET:
            field_dict["error_message"] = error_message
        if error_code is not UNSET:
            field_dict["error_code"] = error_code
        if page_errors is not UNSET:
            field_dict["page_errors"] = page_errors

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.doc_digitization_page_error import (
            DocDigitizationPageError,  # noqa: PLC0415
        )
        from ..models.task_file_details import TaskFileDetails  # noqa: PLC0415

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        inputs = []
        _inputs = d.pop("inputs")
        for inputs_item_data in _inputs:
            inputs_item = TaskFileDetails.from_dict(inputs_item_data)

            inputs.append(inputs_item)

        outputs = []
        _outputs = d.pop("outputs")
        for outputs_item_data in _outputs:
            outputs_item = TaskFileDetails.from_dict(outputs_item_data)

            outputs.append(outputs_item)

        state = DocDigitizationJobDetailState(d.pop("state"))

        total_pages = d.pop("total_pages", UNSET)

        pages_processed = d.pop("pages_processed", UNSET)

        pages_succeeded = d.pop("pages_succeeded", UNSET)

        pages_failed = d.pop("pages_failed", UNSET)

        error_message = d.pop("error_message", UNSET)

        def _parse_error_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_code = _parse_error_code(d.pop("error_code", UNSET))

        _page_errors = d.pop("page_errors", UNSET)
        page_errors: list[DocDigitizationPageError] | Unset = UNSET
        if _page_errors is not UNSET:
            page_errors = []
            for page_errors_item_data in _page_errors:
                page_errors_item = DocDigitizationPageError.from_dict(
                    page_errors_item_data
                )

                page_errors.append(page_errors_item)

        doc_digitization_job_detail = cls(
            inputs=inputs,
            outputs=outputs,
            state=state,
            total_pages=total_pages,
            pages_processed=pages_processed,
            pages_succeeded=pages_succeeded,
            pages_failed=pages_failed,
            error_message=error_message,
            error_code=error_code,
            page_errors=page_errors,
        )

        doc_digitization_job_detail.additional_properties = d
        return doc_digitization_job_detail

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
