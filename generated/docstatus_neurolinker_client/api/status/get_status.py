from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.document_status_envelope import DocumentStatusEnvelope
from ...models.document_status_response import DocumentStatusResponse
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
        "url": "/v1/document-status/{document_id}".format(
            document_id=_segment(document_id),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DocumentStatusEnvelope | DocumentStatusResponse | None:
    if response.status_code == 200:

        def _parse_response_200(
            data: object,
        ) -> DocumentStatusEnvelope | DocumentStatusResponse:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = DocumentStatusEnvelope.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = DocumentStatusResponse.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DocumentStatusEnvelope | DocumentStatusResponse]:
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
) -> Response[DocumentStatusEnvelope | DocumentStatusResponse]:
    """Get the extraction status of one document

     Returns the status of the extraction of a specific document from a request sent to Neurolinker
    through the Request endpoint.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentStatusEnvelope | DocumentStatusResponse]
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
) -> DocumentStatusEnvelope | DocumentStatusResponse | None:
    """Get the extraction status of one document

     Returns the status of the extraction of a specific document from a request sent to Neurolinker
    through the Request endpoint.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentStatusEnvelope | DocumentStatusResponse
    """

    return sync_detailed(
        document_id=document_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    document_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[DocumentStatusEnvelope | DocumentStatusResponse]:
    """Get the extraction status of one document

     Returns the status of the extraction of a specific document from a request sent to Neurolinker
    through the Request endpoint.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentStatusEnvelope | DocumentStatusResponse]
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
) -> DocumentStatusEnvelope | DocumentStatusResponse | None:
    """Get the extraction status of one document

     Returns the status of the extraction of a specific document from a request sent to Neurolinker
    through the Request endpoint.

    Args:
        document_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        errors.MalformedResponse: If the response body cannot be parsed into the documented model.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentStatusEnvelope | DocumentStatusResponse
    """

    return (
        await asyncio_detailed(
            document_id=document_id,
            client=client,
        )
    ).parsed
