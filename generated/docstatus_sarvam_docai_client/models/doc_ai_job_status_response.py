from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.doc_ai_job_status import DocAiJobStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.doc_ai_usage import DocAiUsage


T = TypeVar("T", bound="DocAiJobStatusResponse")


@_attrs_define
class DocAiJobStatusResponse:
    """A Document AI job's status and page-level usage.

    Attributes:
        job_id (str): The unique identifier of the job.
        status (DocAiJobStatus): Current status of the job. Terminal statuses: `completed`, `partially_completed`,
            `failed`, `rejected`. Split and Classify jobs report `accepted` when created.
        pipeline (str | Unset): Job pipeline: `digitise` or `extract` (newer documentation also says `parse`).
        usage (DocAiUsage | Unset): Page-level usage of the job (every count may be absent or null).
        created_at (str | Unset): Job creation timestamp.
        updated_at (str | Unset): Timestamp of the last job update.
        type_ (str | Unset): Split and Classify jobs: `split` or `classify`.
        phase (Any | Unset): Split and Classify jobs: the current phase (type not documented).
        progress (Any | Unset): Split and Classify jobs: progress (type and scale not documented; a number is read as a
            fraction when at most 1, else as a percentage: NOTES.md row 6).
    """

    job_id: str
    status: DocAiJobStatus
    pipeline: str | Unset = UNSET
    usage: DocAiUsage | Unset = UNSET
    created_at: str | Unset = UNSET
    updated_at: str | Unset = UNSET
    type_: str | Unset = UNSET
    phase: Any | Unset = UNSET
    progress: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        job_id = self.job_id

        status = self.status.value

        pipeline = self.pipeline

        usage: dict[str, Any] | Unset = UNSET
        if not isinstance(self.usage, Unset):
            usage = self.usage.to_dict()

        created_at = self.created_at

        updated_at = self.updated_at

        type_ = self.type_

        phase = self.phase

        progress = self.progress

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "job_id": job_id,
                "status": status,
            }
        )
        if pipeline is not UNSET:
            field_dict["pipeline"] = pipeline
        if usage is not UNSET:
            field_dict["usage"] = usage
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at
        if type_ is not UNSET:
            field_dict["type"] = type_
        if phase is not UNSET:
            field_dict["phase"] = phase
        if progress is not UNSET:
            field_dict["progress"] = progress

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.doc_ai_usage import DocAiUsage  # noqa: PLC0415

        if not isinstance(src_dict, Mapping):
            raise TypeError(f"expected a JSON object, got {type(src_dict).__name__}")
        d = dict(src_dict)
        job_id = d.pop("job_id")

        status = DocAiJobStatus(d.pop("status"))

        pipeline = d.pop("pipeline", UNSET)

        _usage = d.pop("usage", UNSET)
        usage: DocAiUsage | Unset
        if isinstance(_usage, Unset):
            usage = UNSET
        else:
            usage = DocAiUsage.from_dict(_usage)

        created_at = d.pop("created_at", UNSET)

        updated_at = d.pop("updated_at", UNSET)

        type_ = d.pop("type", UNSET)

        phase = d.pop("phase", UNSET)

        progress = d.pop("progress", UNSET)

        doc_ai_job_status_response = cls(
            job_id=job_id,
            status=status,
            pipeline=pipeline,
            usage=usage,
            created_at=created_at,
            updated_at=updated_at,
            type_=type_,
            phase=phase,
            progress=progress,
        )

        doc_ai_job_status_response.additional_properties = d
        return doc_ai_job_status_response

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
