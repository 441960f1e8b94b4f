"""HTTP behind one small interface (private; the public names are re-exported by ``docstatus``).

- ``_transport``: what one request is (``Request``: a URL, headers, a ``max_body`` cap and a
  whole-request deadline) and what comes back (``Answer``: the status, the headers and the body,
  decoded under the cap and made safe where it enters), the ``Transport``/``AsyncTransport``
  protocols, and the shared TLS context. No redirect is ever followed.
- ``_httpx``: the transports over httpx (sync: the request runs in a worker thread whose
  connections are shut at the deadline; async: a cancel scope), and ``new_client``/``new_async_client``.
- ``_aiohttp``: ``FleetSession``, the transport over aiohttp that ``watch_many`` and the tracker
  use (asyncio only), and ``new_session``.
- ``_errors``: answers and failures -> ``DocstatusError`` (status codes, error envelopes, what
  went wrong on the way, ``Retry-After``), the credential scrubbed through ``_secrets``.
- ``_status``: the status request: ref -> provider module -> generated operation -> request ->
  ``FetchResult`` (the fast mapping, or the generated parser).
- ``_outputs``: ``resolve_outputs``, through the provider module's ``resolve_output`` hook.

Nothing here is imported by ``import docstatus``: ``docstatus._fetch`` loads it on first use.
"""
