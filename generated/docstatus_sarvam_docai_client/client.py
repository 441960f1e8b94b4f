import ssl
from collections.abc import Generator
from typing import Any, Final, Self

import httpx
from attrs import define, evolve, field


@define(frozen=True)
class AuthScheme:
    """One way the API lets a client authenticate: an entry of the spec's ``securitySchemes``
    named in its ``security``.

    Attributes:
        name: The scheme's name in the spec.
        kind: ``"bearer"`` (``Authorization: Bearer <token>``) or ``"api_key"`` (the token alone,
            in ``header``).
        header: The header that carries the credential.
        prefix: What goes before the token, with a space; empty for none.
    """

    name: str
    kind: str
    header: str
    prefix: str


#: The spec's security schemes, in the order of its ``security`` list (alternatives). The
#: first is ``AuthenticatedClient``'s default; pass ``auth_header_name=scheme.header,
#: prefix=scheme.prefix`` to use another. Empty: the API documents no authentication (use
#: ``Client``).
AUTH_SCHEMES: Final[tuple[AuthScheme, ...]] = (
    AuthScheme(
        name="ApiKeyAuth", kind="api_key", header="api-subscription-key", prefix=""
    ),
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Marks the requests of one chain (the first one and every redirect httpx builds from it, which
# copies ``extensions``) as sent with this client's credential.
_MARK = "docstatus_credential"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, with the scheme's default port filled in."""
    return (
        url.scheme,
        url.host,
        url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme),
    )


class _HeaderAuth(httpx.Auth):
    """Sets the credential header, only on requests to the origin (scheme, host, port) of
    ``home``, so it is in no client's ``headers`` (whose repr masks ``Authorization`` only) and
    in no repr.

    httpx runs an auth flow once per request, then follows redirects itself, copying every
    header to the next hop but ``Authorization`` (and keeping even that on an http->https
    upgrade of the same host). So :meth:`hop` (:meth:`ahop` for an ``AsyncClient``), installed
    by ``_guard`` as a request event hook, which httpx runs before every hop, takes the
    credential off a hop to another origin and puts it back on a hop that returns home.
    """

    def __init__(self, name: str, value: str, home: httpx.URL) -> None:
        self._name = name
        self._value = value
        self._home = _origin(home)

    def __repr__(self) -> str:
        return f"_HeaderAuth({self._name!r})"

    def _drop(self, request: httpx.Request) -> None:
        """Remove the header when it carries this credential (a caller's own value is kept)."""
        if self._value in request.headers.get_list(self._name):
            del request.headers[self._name]

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.extensions[_MARK] = self
        self.hop(request)
        yield request

    def hop(self, request: httpx.Request) -> None:
        """Request event hook: the credential on requests home, on no other."""
        if _origin(request.url) != self._home:
            self._drop(request)
        elif request.extensions.get(_MARK) is self:
            request.headers[self._name] = self._value

    async def ahop(self, request: httpx.Request) -> None:
        """:meth:`hop`, for an ``httpx.AsyncClient``'s event hooks."""
        self.hop(request)


def _guard(client: httpx.Client | httpx.AsyncClient, auth: _HeaderAuth) -> None:
    """Make ``auth`` the client's auth and its last request hook (replacing an earlier one)."""
    client.auth = auth
    hooks = [
        h
        for h in client.event_hooks["request"]
        if not isinstance(getattr(h, "__self__", None), _HeaderAuth)
    ]
    hooks.append(auth.hop if isinstance(client, httpx.Client) else auth.ahop)
    client.event_hooks = {**client.event_hooks, "request": hooks}


@define
class Client:
    """A class for keeping track of data related to the API

    The following are accepted as keyword arguments and will be used to construct httpx Clients internally:

        ``base_url``: The base URL for the API, all requests are made to a relative path to this URL

        ``cookies``: A dictionary of cookies to be sent with every request

        ``headers``: A dictionary of headers to be sent with every request

        ``timeout``: The maximum amount of a time a request can take. API functions will raise
        httpx.TimeoutException if this is exceeded. Defaults to 30 seconds (``None`` waits forever).

        ``verify_ssl``: Whether or not to verify the SSL certificate of the API server. This should be True in production,
        but can be set to False for testing purposes.

        ``follow_redirects``: Whether or not to follow redirects. Default value is False.

        ``httpx_args``: A dictionary of additional arguments to be passed to the ``httpx.Client`` and ``httpx.AsyncClient`` constructor.


    Attributes:
        raise_on_unexpected_status: Whether or not to raise an errors.UnexpectedStatus if the API returns a
            status code that was not documented in the source OpenAPI document. Can also be provided as a keyword
            argument to the constructor.
    """

    raise_on_unexpected_status: bool = field(default=False, kw_only=True)
    _base_url: str = field(alias="base_url")
    _cookies: dict[str, str] = field(factory=dict, kw_only=True, alias="cookies")
    _headers: dict[str, str] = field(factory=dict, kw_only=True, alias="headers")
    _timeout: httpx.Timeout | None = field(
        factory=lambda: httpx.Timeout(30.0), kw_only=True, alias="timeout"
    )
    _verify_ssl: str | bool | ssl.SSLContext = field(
        default=True, kw_only=True, alias="verify_ssl"
    )
    _follow_redirects: bool = field(
        default=False, kw_only=True, alias="follow_redirects"
    )
    _httpx_args: dict[str, Any] = field(factory=dict, kw_only=True, alias="httpx_args")
    _client: httpx.Client | None = field(default=None, init=False)
    _async_client: httpx.AsyncClient | None = field(default=None, init=False)

    def with_headers(self, headers: dict[str, str]) -> "Client":
        """Get a new client matching this one with additional headers"""
        if self._client is not None:
            self._client.headers.update(headers)
        if self._async_client is not None:
            self._async_client.headers.update(headers)
        return evolve(self, headers={**self._headers, **headers})

    def with_cookies(self, cookies: dict[str, str]) -> "Client":
        """Get a new client matching this one with additional cookies"""
        if self._client is not None:
            self._client.cookies.update(cookies)
        if self._async_client is not None:
            self._async_client.cookies.update(cookies)
        return evolve(self, cookies={**self._cookies, **cookies})

    def with_timeout(self, timeout: httpx.Timeout) -> "Client":
        """Get a new client matching this one with a new timeout configuration"""
        if self._client is not None:
            self._client.timeout = timeout
        if self._async_client is not None:
            self._async_client.timeout = timeout
        return evolve(self, timeout=timeout)

    def set_httpx_client(self, client: httpx.Client) -> Self:
        """Manually set the underlying httpx.Client

        **NOTE**: This will override any other settings on the client, including cookies, headers, and timeout.
        """
        self._client = client
        return self

    def get_httpx_client(self) -> httpx.Client:
        """Get the underlying httpx.Client, constructing a new one if not previously set"""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self._base_url,
                cookies=self._cookies,
                headers=self._headers,
                timeout=self._timeout,
                verify=self._verify_ssl,
                follow_redirects=self._follow_redirects,
                **self._httpx_args,
            )
        return self._client

    def __enter__(self) -> Self:
        """Enter a context manager for self.client—you cannot enter twice (see httpx docs)"""
        self.get_httpx_client().__enter__()
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        """Exit a context manager for internal httpx.Client (see httpx docs)"""
        self.get_httpx_client().__exit__(*args, **kwargs)

    def set_async_httpx_client(self, async_client: httpx.AsyncClient) -> Self:
        """Manually set the underlying httpx.AsyncClient

        **NOTE**: This will override any other settings on the client, including cookies, headers, and timeout.
        """
        self._async_client = async_client
        return self

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        """Get the underlying httpx.AsyncClient, constructing a new one if not previously set"""
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                base_url=self._base_url,
                cookies=self._cookies,
                headers=self._headers,
                timeout=self._timeout,
                verify=self._verify_ssl,
                follow_redirects=self._follow_redirects,
                **self._httpx_args,
            )
        return self._async_client

    async def __aenter__(self) -> Self:
        """Enter a context manager for underlying httpx.AsyncClient—you cannot enter twice (see httpx docs)"""
        await self.get_async_httpx_client().__aenter__()
        return self

    async def __aexit__(self, *args: Any, **kwargs: Any) -> None:
        """Exit a context manager for underlying httpx.AsyncClient (see httpx docs)"""
        await self.get_async_httpx_client().__aexit__(*args, **kwargs)


@define
class AuthenticatedClient:
    """A Client which has been authenticated for use on secured endpoints

    By default the token is sent alone in the ``api-subscription-key`` header
    (the spec's ``ApiKeyAuth`` scheme). See ``AUTH_SCHEMES``.

    The following are accepted as keyword arguments and will be used to construct httpx Clients internally:

        ``base_url``: The base URL for the API, all requests are made to a relative path to this URL

        ``cookies``: A dictionary of cookies to be sent with every request

        ``headers``: A dictionary of headers to be sent with every request

        ``timeout``: The maximum amount of a time a request can take. API functions will raise
        httpx.TimeoutException if this is exceeded. Defaults to 30 seconds (``None`` waits forever).

        ``verify_ssl``: Whether or not to verify the SSL certificate of the API server. This should be True in production,
        but can be set to False for testing purposes.

        ``follow_redirects``: Whether or not to follow redirects. Default value is False.

        ``httpx_args``: A dictionary of additional arguments to be passed to the ``httpx.Client`` and ``httpx.AsyncClient`` constructor.


    Attributes:
        raise_on_unexpected_status: Whether or not to raise an errors.UnexpectedStatus if the API returns a
            status code that was not documented in the source OpenAPI document. Can also be provided as a keyword
            argument to the constructor.
        token: The token to use for authentication (never shown in repr)
        prefix: The prefix put before the token, with a space (empty: the token alone). Default: from the spec's ApiKeyAuth scheme
        auth_header_name: The header the credential is sent in. Default: from the spec's ApiKeyAuth scheme
    """

    raise_on_unexpected_status: bool = field(default=False, kw_only=True)
    _base_url: str = field(alias="base_url")
    _cookies: dict[str, str] = field(factory=dict, kw_only=True, alias="cookies")
    _headers: dict[str, str] = field(factory=dict, kw_only=True, alias="headers")
    _timeout: httpx.Timeout | None = field(
        factory=lambda: httpx.Timeout(30.0), kw_only=True, alias="timeout"
    )
    _verify_ssl: str | bool | ssl.SSLContext = field(
        default=True, kw_only=True, alias="verify_ssl"
    )
    _follow_redirects: bool = field(
        default=False, kw_only=True, alias="follow_redirects"
    )
    _httpx_args: dict[str, Any] = field(factory=dict, kw_only=True, alias="httpx_args")
    _client: httpx.Client | None = field(default=None, init=False)
    _async_client: httpx.AsyncClient | None = field(default=None, init=False)

    token: str = field(repr=False)
    prefix: str = ""
    auth_header_name: str = "api-subscription-key"

    def with_headers(self, headers: dict[str, str]) -> "AuthenticatedClient":
        """Get a new client matching this one with additional headers"""
        if self._client is not None:
            self._client.headers.update(headers)
        if self._async_client is not None:
            self._async_client.headers.update(headers)
        return evolve(self, headers={**self._headers, **headers})

    def with_cookies(self, cookies: dict[str, str]) -> "AuthenticatedClient":
        """Get a new client matching this one with additional cookies"""
        if self._client is not None:
            self._client.cookies.update(cookies)
        if self._async_client is not None:
            self._async_client.cookies.update(cookies)
        return evolve(self, cookies={**self._cookies, **cookies})

    def with_timeout(self, timeout: httpx.Timeout) -> "AuthenticatedClient":
        """Get a new client matching this one with a new timeout configuration"""
        if self._client is not None:
            self._client.timeout = timeout
        if self._async_client is not None:
            self._async_client.timeout = timeout
        return evolve(self, timeout=timeout)

    def _auth(self, base_url: httpx.URL) -> _HeaderAuth:
        """The credential, for the origin of ``base_url`` (the httpx client's, which the endpoints'
        relative paths resolve against), or of this client's ``base_url`` when that has no host."""
        home = base_url if base_url.host else httpx.URL(self._base_url)
        return _HeaderAuth(
            self.auth_header_name,
            f"{self.prefix} {self.token}" if self.prefix else self.token,
            home,
        )

    def set_httpx_client(self, client: httpx.Client) -> Self:
        """Manually set the underlying httpx.Client

        **NOTE**: This will override any other settings on the client, including cookies, headers, and timeout.
        """
        _guard(client, self._auth(client.base_url))
        self._client = client
        return self

    def get_httpx_client(self) -> httpx.Client:
        """Get the underlying httpx.Client, constructing a new one if not previously set"""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self._base_url,
                cookies=self._cookies,
                headers=self._headers,
                timeout=self._timeout,
                verify=self._verify_ssl,
                follow_redirects=self._follow_redirects,
                **self._httpx_args,
            )
            _guard(self._client, self._auth(self._client.base_url))
        return self._client

    def __enter__(self) -> Self:
        """Enter a context manager for self.client—you cannot enter twice (see httpx docs)"""
        self.get_httpx_client().__enter__()
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        """Exit a context manager for internal httpx.Client (see httpx docs)"""
        self.get_httpx_client().__exit__(*args, **kwargs)

    def set_async_httpx_client(self, async_client: httpx.AsyncClient) -> Self:
        """Manually set the underlying httpx.AsyncClient

        **NOTE**: This will override any other settings on the client, including cookies, headers, and timeout.
        """
        _guard(async_client, self._auth(async_client.base_url))
        self._async_client = async_client
        return self

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        """Get the underlying httpx.AsyncClient, constructing a new one if not previously set"""
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                base_url=self._base_url,
                cookies=self._cookies,
                headers=self._headers,
                timeout=self._timeout,
                verify=self._verify_ssl,
                follow_redirects=self._follow_redirects,
                **self._httpx_args,
            )
            _guard(self._async_client, self._auth(self._async_client.base_url))
        return self._async_client

    async def __aenter__(self) -> Self:
        """Enter a context manager for underlying httpx.AsyncClient—you cannot enter twice (see httpx docs)"""
        await self.get_async_httpx_client().__aenter__()
        return self

    async def __aexit__(self, *args: Any, **kwargs: Any) -> None:
        """Exit a context manager for underlying httpx.AsyncClient (see httpx docs)"""
        await self.get_async_httpx_client().__aexit__(*args, **kwargs)
