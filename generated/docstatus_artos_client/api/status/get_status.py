from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.task_status_response import TaskStatusResponse
from ...types import Response, status_code_of


def _segment(value: object) -> str:
    """One path segment, percent-encoded; never "." or "..", which the URL would resolve away."""
    quoted = quote(str(value), safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def _get_kwargs(
    document_id: str,
) -> dict[str, Any]:
    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/documents/status/{document_id}".format(
            document_id=_segment(document_id),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | TaskStatusResponse | None:
    if response.status_code == 200:
        response_200 = TaskStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 404:
        response_404 = cast(Any, None)
        return response_404

    if response.status_code == 500:
        response_500 = cast(Any, None)
        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | TaskStatusResponse]:
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
    document_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | TaskStatusResponse]:
    """Get Document Status

     Poll the status of a document being generated. Returns current processing state from the database.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | TaskStatusResponse]
    """

    kwargs = _get_kwargs(
        document_id=document_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    document_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | TaskStatusResponse | None:
    """Get Document Status

     Poll the status of a document being generated. Returns current processing state from the database.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | TaskStatusResponse
    """

    return sync_detailed(
        document_id=document_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    document_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | TaskStatusResponse]:
    """Get Document Status

     Poll the status of a document being generated. Returns current processing state from the database.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | TaskStatusResponse]
    """

    kwargs = _get_kwargs(
        document_id=document_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    document_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | TaskStatusResponse | None:
    """Get Document Status

     Poll the status of a document being generated. Returns current processing state from the database.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | TaskStatusResponse
    """

    return (
        await asyncio_detailed(
            document_id=document_id,
            client=client,
        )
    ).parsed
