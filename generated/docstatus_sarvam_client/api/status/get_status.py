from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.doc_digitization_error_message import DocDigitizationErrorMessage
from ...models.doc_digitization_job_status_response import (
    DocDigitizationJobStatusResponse,
)
from ...types import Response, status_code_of


def _segment(value: object) -> str:
    """One path segment, percent-encoded; never "." or "..", which the URL would resolve away."""
    quoted = quote(str(value), safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def _get_kwargs(
    job_id: str,
) -> dict[str, Any]:
    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/doc-digitization/job/v1/{job_id}/status".format(
            job_id=_segment(job_id),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DocDigitizationErrorMessage | DocDigitizationJobStatusResponse | None:
    if response.status_code == 200:
        response_200 = DocDigitizationJobStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = DocDigitizationErrorMessage.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = DocDigitizationErrorMessage.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = DocDigitizationErrorMessage.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = DocDigitizationErrorMessage.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = DocDigitizationErrorMessage.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = DocDigitizationErrorMessage.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DocDigitizationErrorMessage | DocDigitizationJobStatusResponse]:
    try:
        parsed = _parse_response(client=client, response=response)
    except errors.UnexpectedStatus:
        raise
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise errors.MalformedResponse(
            response.status_code, response.content, f"{type(exc).__name__}: {exc}"
        ) from exc
    return Response(
        status_code=status_code_of(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=parsed,
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[DocDigitizationErrorMessage | DocDigitizationJobStatusResponse]:
    """Get Document Intelligence Job Status

     Returns the current status of a job with page-level metrics.

    **Job States:**
    - `Accepted`: Job created, awaiting file upload
    - `Pending`: File uploaded, waiting to start
    - `Running`: Processing in progress
    - `Completed`: All pages processed successfully
    - `PartiallyCompleted`: Some pages succeeded, some failed
    - `Failed`: All pages failed or job-level error

    **Page Metrics:**
    Response includes detailed progress: total pages, pages processed, succeeded, failed, and per-page
    errors.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocDigitizationErrorMessage | DocDigitizationJobStatusResponse]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> DocDigitizationErrorMessage | DocDigitizationJobStatusResponse | None:
    """Get Document Intelligence Job Status

     Returns the current status of a job with page-level metrics.

    **Job States:**
    - `Accepted`: Job created, awaiting file upload
    - `Pending`: File uploaded, waiting to start
    - `Running`: Processing in progress
    - `Completed`: All pages processed successfully
    - `PartiallyCompleted`: Some pages succeeded, some failed
    - `Failed`: All pages failed or job-level error

    **Page Metrics:**
    Response includes detailed progress: total pages, pages processed, succeeded, failed, and per-page
    errors.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocDigitizationErrorMessage | DocDigitizationJobStatusResponse
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[DocDigitizationErrorMessage | DocDigitizationJobStatusResponse]:
    """Get Document Intelligence Job Status

     Returns the current status of a job with page-level metrics.

    **Job States:**
    - `Accepted`: Job created, awaiting file upload
    - `Pending`: File uploaded, waiting to start
    - `Running`: Processing in progress
    - `Completed`: All pages processed successfully
    - `PartiallyCompleted`: Some pages succeeded, some failed
    - `Failed`: All pages failed or job-level error

    **Page Metrics:**
    Response includes detailed progress: total pages, pages processed, succeeded, failed, and per-page
    errors.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocDigitizationErrorMessage | DocDigitizationJobStatusResponse]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> DocDigitizationErrorMessage | DocDigitizationJobStatusResponse | None:
    """Get Document Intelligence Job Status

     Returns the current status of a job with page-level metrics.

    **Job States:**
    - `Accepted`: Job created, awaiting file upload
    - `Pending`: File uploaded, waiting to start
    - `Running`: Processing in progress
    - `Completed`: All pages processed successfully
    - `PartiallyCompleted`: Some pages succeeded, some failed
    - `Failed`: All pages failed or job-level error

    **Page Metrics:**
    Response includes detailed progress: total pages, pages processed, succeeded, failed, and per-page
    errors.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocDigitizationErrorMessage | DocDigitizationJobStatusResponse
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
        )
    ).parsed
