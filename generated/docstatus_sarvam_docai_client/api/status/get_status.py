from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.doc_ai_error_model import DocAiErrorModel
from ...models.doc_ai_job_status_response import DocAiJobStatusResponse
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
        "url": "/doc-ai/v1/job/{job_id}/status".format(
            job_id=_segment(job_id),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DocAiErrorModel | DocAiJobStatusResponse | None:
    if response.status_code == 200:
        response_200 = DocAiJobStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = DocAiErrorModel.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = DocAiErrorModel.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = DocAiErrorModel.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = DocAiErrorModel.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = DocAiErrorModel.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DocAiErrorModel | DocAiJobStatusResponse]:
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
) -> Response[DocAiErrorModel | DocAiJobStatusResponse]:
    """Get Document AI Job Status

     Returns a job's status and page-level usage.

    **Terminal statuses:** `completed`, `partially_completed`, `failed`, `rejected`. Results and
    download URLs are only available after the job reaches a terminal status.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocAiErrorModel | DocAiJobStatusResponse]
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
) -> DocAiErrorModel | DocAiJobStatusResponse | None:
    """Get Document AI Job Status

     Returns a job's status and page-level usage.

    **Terminal statuses:** `completed`, `partially_completed`, `failed`, `rejected`. Results and
    download URLs are only available after the job reaches a terminal status.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocAiErrorModel | DocAiJobStatusResponse
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[DocAiErrorModel | DocAiJobStatusResponse]:
    """Get Document AI Job Status

     Returns a job's status and page-level usage.

    **Terminal statuses:** `completed`, `partially_completed`, `failed`, `rejected`. Results and
    download URLs are only available after the job reaches a terminal status.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocAiErrorModel | DocAiJobStatusResponse]
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
) -> DocAiErrorModel | DocAiJobStatusResponse | None:
    """Get Document AI Job Status

     Returns a job's status and page-level usage.

    **Terminal statuses:** `completed`, `partially_completed`, `failed`, `rejected`. Results and
    download URLs are only available after the job reaches a terminal status.

    Args:
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocAiErrorModel | DocAiJobStatusResponse
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
        )
    ).parsed
