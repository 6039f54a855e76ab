"""The HTTP side of the opening handshake: headers, request, response."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union, overload

__all__ = ["Headers", "Request", "Response"]

_T = Union[str, None]


class Headers:
    """Read-only, case-insensitive multi-map of HTTP header fields, in the
    order they were received.

    ``headers["Origin"]`` gives the first value (``KeyError`` if absent),
    ``headers.get(name, default)`` likewise without raising,
    ``headers.get_all(name)`` every value; iterating yields the names.
    """

    __slots__ = ("_items", "_index")

    def __init__(self, items: Sequence[Tuple[str, str]] = ()) -> None:
        self._items: Tuple[Tuple[str, str], ...] = tuple(items)
        self._index: Optional[Dict[str, List[str]]] = None

    def _idx(self) -> Dict[str, List[str]]:
        if self._index is None:
            idx: Dict[str, List[str]] = {}
            for name, value in self._items:
                idx.setdefault(name.lower(), []).append(value)
            self._index = idx
        return self._index

    def __getitem__(self, name: str) -> str:
        values = self._idx().get(name.lower())
        if not values:
            raise KeyError(name)
        value: str = values[0]
        return value

    @overload
    def get(self, name: str) -> Optional[str]: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of ``name`` (case-insensitive), or ``default``."""
        values = self._idx().get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> List[str]:
        """Every value of ``name``, in order (empty list if absent)."""
        return list(self._idx().get(name.lower(), ()))

    def items(self) -> Tuple[Tuple[str, str], ...]:
        """All (name, value) pairs as received."""
        return self._items

    def raw_items(self) -> Tuple[Tuple[str, str], ...]:
        """Alias of :meth:`items` (the name websockets uses)."""
        return self._items

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._idx()

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


class Request:
    """The client's upgrade request, as the server saw it.

    Attributes: ``path`` (without the query), ``query`` (after ``?``, or
    None), ``headers`` (:class:`Headers`), ``remote_address`` (``(host,
    port)``).
    """

    __slots__ = {
        "path": "Request path, without the query.",
        "query": "What followed '?' in the request target, or None.",
        "headers": "The request's header fields (Headers).",
        "remote_address": "(host, port) of the client, or None.",
    }

    def __init__(self, path: str, query: Optional[str], headers: Headers, remote_address: Optional[Tuple[str, int]]) -> None:
        self.path = path
        self.query = query
        self.headers = headers
        self.remote_address = remote_address

    @classmethod
    def _from_tuple(cls, t: Tuple[Any, ...]) -> "Request":
        status, path, query, headers, ip, port = t
        return cls(path or "/", query, Headers(headers), (ip, port) if ip is not None else None)

    @property
    def url(self) -> str:
        """Path and query as in the request line."""
        return self.path if self.query is None else f"{self.path}?{self.query}"

    def __repr__(self) -> str:
        return f"Request(path={self.path!r}, query={self.query!r}, remote_address={self.remote_address!r})"


class Response:
    """The server's answer to a client's upgrade: ``status`` and ``headers``."""

    __slots__ = {
        "status": "HTTP status of the response (101 when the upgrade succeeded).",
        "headers": "The response's header fields (Headers).",
    }

    def __init__(self, status: int, headers: Headers) -> None:
        self.status = status
        self.headers = headers

    @classmethod
    def _from_tuple(cls, t: Tuple[Any, ...]) -> "Response":
        return cls(t[0], Headers(t[3]))

    def __repr__(self) -> str:
        return f"Response(status={self.status!r})"
