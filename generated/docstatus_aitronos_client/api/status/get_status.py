from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.file_processing_status import FileProcessingStatus
from ...models.processing_status_envelope import ProcessingStatusEnvelope
from ...types import Response, status_code_of


def _segment(value: object) -> str:
    """One path segment, percent-encoded; never "." or "..", which the URL would resolve away."""
    quoted = quote(str(value), safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def _get_kwargs(
    organization_id: str,
    store_id: str,
    file_id: str,
) -> dict[str, Any]:
    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/organizations/{organization_id}/stores/{store_id}/files/{file_id}/status".format(
            organization_id=_segment(organization_id),
            store_id=_segment(store_id),
            file_id=_segment(file_id),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope | None:
    if response.status_code == 200:

        def _parse_response_200(
            data: object,
        ) -> FileProcessingStatus | ProcessingStatusEnvelope:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = ProcessingStatusEnvelope.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = FileProcessingStatus.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope]:
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
    organization_id: str,
    store_id: str,
    file_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope]:
    """Get processing status

     Get the current processing status of a file in a knowledge store: progress percentage, current step,
    and any error messages. Use this endpoint to poll for processing completion after uploading a file.

    Args:
        organization_id (str):
        store_id (str):
        file_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope]
    """

    kwargs = _get_kwargs(
        organization_id=organization_id,
        store_id=store_id,
        file_id=file_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    organization_id: str,
    store_id: str,
    file_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope | None:
    """Get processing status

     Get the current processing status of a file in a knowledge store: progress percentage, current step,
    and any error messages. Use this endpoint to poll for processing completion after uploading a file.

    Args:
        organization_id (str):
        store_id (str):
        file_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope
    """

    return sync_detailed(
        organization_id=organization_id,
        store_id=store_id,
        file_id=file_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    organization_id: str,
    store_id: str,
    file_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope]:
    """Get processing status

     Get the current processing status of a file in a knowledge store: progress percentage, current step,
    and any error messages. Use this endpoint to poll for processing completion after uploading a file.

    Args:
        organization_id (str):
        store_id (str):
        file_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope]
    """

    kwargs = _get_kwargs(
        organization_id=organization_id,
        store_id=store_id,
        file_id=file_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    organization_id: str,
    store_id: str,
    file_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope | None:
    """Get processing status

     Get the current processing status of a file in a knowledge store: progress percentage, current step,
    and any error messages. Use this endpoint to poll for processing completion after uploading a file.

    Args:
        organization_id (str):
        store_id (str):
        file_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | FileProcessingStatus | ProcessingStatusEnvelope
    """

    return (
        await asyncio_detailed(
            organization_id=organization_id,
            store_id=store_id,
            file_id=file_id,
            client=client,
        )
    ).parsed
