"""The Redis URL docstatus.celery keeps its state at: the forms it takes, checked at ``register``.

One client (redis-py) reads every form; the rate limiter (``limits``) is built on that client's
connection pool, so whatever redis-py reaches, the limiter reaches too:

- ``redis://[[user]:password@]host[:port][/db]``: TCP;
- ``rediss://...``: TCP with TLS (redis-py's ``ssl_*`` query options, e.g. ``ssl_cert_reqs``);
- ``unix:///path/to/redis.sock[?db=N]``: a Unix socket (redis-py's form);
- ``redis+socket:///path/to/redis.sock[?virtual_host=N]``: the same socket in the form Celery's
  broker URL takes (kombu's), so that a socket broker needs no ``redis_url``;
- ``redis+unix:///path/to/redis.sock[?db=N]``: the same in ``limits``' form.

Refused with a ``ValueError`` that says why: Redis Sentinel (``sentinel://``,
``redis+sentinel://``), Redis Cluster, several ``;``-separated broker URLs (a failover list),
any other scheme, a port or database that is not a number. A password in the URL is never in
a message (it shows as ``**``).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qs, urlsplit, urlunsplit

#: The forms ``register`` takes, as its messages name them.
SUPPORTED: Final = (
    "redis://host:port/db, rediss://host:port/db (TLS), unix:///path/to/redis.sock?db=N "
    "or the broker's redis+socket:///path/to/redis.sock"
)

_SOCKET_SCHEMES: Final = ("unix", "redis+socket", "redis+unix")


def masked(url: str) -> str:
    """``url`` with its password (if any) shown as ``**``: for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:**@{host}"))
    except ValueError:  # unparsable: say nothing of what it holds after the scheme
        return url.partition("://")[0] + "://…"


def redis_url(url: str) -> str:
    """The redis-py URL for ``url`` (any form above); ``ValueError`` naming what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"docstatus.celery needs a Redis URL ({SUPPORTED}), not {url!r}")
    if ";" in url:  # not shown: each URL of the list may hold a password
        raise ValueError(
            "docstatus.celery keeps its state on one Redis, and the URL given is a list of broker URLs "
            "(separated by ';'): give register(redis_url=...) the one Redis to use"
        )
    shown = masked(url)
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when it is not a number in 0..65535
    except ValueError as exc:
        raise ValueError(f"docstatus.celery: {shown} is not a valid Redis URL ({exc}); use {SUPPORTED}") from None
    scheme = parts.scheme.lower()
    if "sentinel" in scheme or "cluster" in scheme:
        raise ValueError(
            f"docstatus.celery does not support Redis {'Sentinel' if 'sentinel' in scheme else 'Cluster'} "
            f"({shown}): it keeps its state on one Redis; give register(redis_url=...) that Redis ({SUPPORTED})"
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    if scheme in _SOCKET_SCHEMES:
        userinfo, _, host = parts.netloc.rpartition("@")
        path = f"/{host}{parts.path}" if host else parts.path
        if not path or path == "/":
            raise ValueError(f"docstatus.celery: {shown} names no socket; use unix:///path/to/redis.sock")
        db = _one(query, "db", shown) or _one(query, "virtual_host", shown) or "0"
        _db_number(db, shown)
        netloc = f"{userinfo}@" if userinfo else ""
        return f"unix://{netloc}{path}?{_without(parts.query, 'virtual_host', db)}"
    if scheme not in ("redis", "rediss"):
        raise ValueError(f"docstatus.celery needs a Redis URL ({SUPPORTED}), not {shown}")
    if port == 0:
        raise ValueError(f"docstatus.celery: {shown} has port 0; give the port Redis listens on")
    path = parts.path.strip("/")
    if path:
        _db_number(path, shown)
    if "db" in query:
        _db_number(_one(query, "db", shown) or "", shown)
    return url


def _one(query: dict[str, list[str]], name: str, shown: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"docstatus.celery: {shown} gives {name} more than once")
    return values[0]


def _db_number(text: str, shown: str) -> None:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"docstatus.celery: the database in {shown} must be a number (0, 1, ...), not {text!r}")


def _without(query: str, name: str, db: str) -> str:
    """``query`` without ``name``, with ``db`` (redis-py reads ``db`` only)."""
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0] not in (name, "db")]
    return "&".join([*kept, f"db={db}"])
