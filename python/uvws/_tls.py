"""TLS options for wss://, in the shape the engine takes them.

Two equivalent spellings are accepted wherever ``tls=`` (or ``ssl=`` in the
asyncio API) is:

* :class:`TLSOptions` (or a plain dict with the same keys): simple paths,
  ``certfile``, ``keyfile``, ``cafile``, ``verify`` ...
* :class:`TLSContext`: the subset of :class:`ssl.SSLContext`'s interface the
  engine can honour (``load_cert_chain``, ``load_verify_locations``,
  ``verify_mode``, ``check_hostname``, ``minimum_version``, ``set_ciphers``),
  so code written for ``ssl`` ports by changing one constructor.

A real :class:`ssl.SSLContext` cannot be used: the engine runs its own
OpenSSL and cannot read the certificates loaded into Python's.

The engine's TLS support is optional: in a build without it, using TLS
raises :class:`uvws.NotSupportedError`.
"""

from __future__ import annotations

import enum
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union

__all__ = ["TLSOptions", "TLSContext", "to_engine"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304, "1.2": 0x0303, "1.3": 0x0304}


def _path(p: Optional[PathLike]) -> Optional[bytes]:
    return None if p is None else os.fsencode(p)


def _min_version(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, ssl.TLSVersion):
        if v in (ssl.TLSVersion.MINIMUM_SUPPORTED, ssl.TLSVersion.MAXIMUM_SUPPORTED):
            return 0
        if v == ssl.TLSVersion.TLSv1_2:
            return 0x0303
        if v == ssl.TLSVersion.TLSv1_3:
            return 0x0304
        raise ValueError(f"the engine supports TLS 1.2 and 1.3 only, not {v.name}")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v in _VERSIONS:
        return _VERSIONS[v]
    raise ValueError(f"invalid minimum TLS version {v!r}")


@dataclass
class TLSOptions:
    """TLS settings for a server or a client (wss://).

    Server: ``certfile`` and ``keyfile`` (PEM) are required; ``cafile`` /
    ``capath`` / ``cadata`` name the CAs client certificates must chain to
    when ``verify_client`` is ``True`` (request and verify if sent) or
    ``"require"``.

    Client: ``verify=True`` (default) checks the server's certificate against
    ``cafile`` / ``capath`` / ``cadata`` or, if none is given, the system
    store, and its name against ``server_hostname`` (default: the URL's
    host). ``verify=False`` accepts anything (tests only). ``certfile`` /
    ``keyfile`` present a client certificate (mutual TLS).

    ``cert_pem`` / ``key_pem`` / ``cadata`` give PEM text instead of files.
    ``sni`` maps server names (exact or ``"*.example.com"``) to extra
    ``(certfile, keyfile)`` pairs a server picks by the client's SNI.
    ``minimum_version`` is ``"TLSv1.2"`` (default) or ``"TLSv1.3"`` (or an
    :class:`ssl.TLSVersion`).
    """

    certfile: Optional[PathLike] = None
    keyfile: Optional[PathLike] = None
    cafile: Optional[PathLike] = None
    capath: Optional[PathLike] = None
    cadata: Optional[str] = None
    cert_pem: Optional[str] = None
    key_pem: Optional[str] = None
    verify: bool = True
    verify_client: Union[bool, str] = False
    server_hostname: Optional[str] = None
    ciphers: Optional[str] = None
    ciphersuites: Optional[str] = None
    minimum_version: Any = None
    sni: Optional[Mapping[str, Tuple[PathLike, PathLike]]] = field(default=None)

    def to_engine(self) -> Dict[str, Any]:
        """The dict the extension turns into ``uvws_tls_options_t``."""
        vc = self.verify_client
        if vc in (False, None, 0):
            vc_i = 0
        elif vc in (True, 1, "optional"):
            vc_i = 1
        elif vc in ("require", "required", 2):
            vc_i = 2
        else:
            raise ValueError(f"verify_client must be a bool or 'require', not {vc!r}")
        d: Dict[str, Any] = {
            "cert_file": _path(self.certfile),
            "key_file": _path(self.keyfile),
            "cert_pem": self.cert_pem,
            "key_pem": self.key_pem,
            "ca_file": _path(self.cafile),
            "ca_dir": _path(self.capath),
            "ca_pem": self.cadata,
            "verify_client": vc_i,
            "insecure_skip_verify": 0 if self.verify else 1,
            "server_name": self.server_hostname,
            "ciphers": self.ciphers,
            "ciphersuites": self.ciphersuites,
            "min_version": _min_version(self.minimum_version),
        }
        if self.sni:
            d["sni"] = [
                {"server_name": name, "cert_file": _path(cert), "key_file": _path(key)}
                for name, (cert, key) in self.sni.items()
            ]
        return {k: v for k, v in d.items() if v is not None}


class TLSContext:
    """An :class:`ssl.SSLContext` look-alike that records settings for the
    engine's own TLS implementation.

    >>> ctx = uvws.TLSContext(ssl.PROTOCOL_TLS_SERVER)
    >>> ctx.load_cert_chain("server.pem", "server.key")
    >>> server = uvws.Server(port=8443, tls=ctx)

    Supported: ``load_cert_chain(certfile, keyfile=None)`` (no password),
    ``load_verify_locations(cafile, capath, cadata)``, ``load_default_certs()``
    (the engine's default for clients), ``set_default_verify_paths()``,
    ``set_ciphers()``, ``verify_mode``, ``check_hostname``,
    ``minimum_version``, and ``server_hostname`` (an addition: the name to
    verify instead of the URL's host).
    """

    def __init__(self, protocol: Optional[int] = None) -> None:
        server = protocol == getattr(ssl, "PROTOCOL_TLS_SERVER", object())
        self._opts = TLSOptions()
        self.server_side = bool(server)
        self.verify_mode = ssl.CERT_NONE if server else ssl.CERT_REQUIRED
        self.check_hostname = not server
        self.minimum_version: Any = None
        self.server_hostname: Optional[str] = None

    def load_cert_chain(self, certfile: PathLike, keyfile: Optional[PathLike] = None, password: Any = None) -> None:
        """Our certificate chain and key (PEM files). Encrypted keys are not
        supported."""
        if password is not None:
            raise NotImplementedError("encrypted private keys are not supported")
        self._opts.certfile = certfile
        self._opts.keyfile = keyfile if keyfile is not None else certfile

    def load_verify_locations(self, cafile: Optional[PathLike] = None, capath: Optional[PathLike] = None, cadata: Optional[Union[str, bytes]] = None) -> None:
        """Trust anchors for verifying the peer (PEM)."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            self._opts.cafile = cafile
        if capath is not None:
            self._opts.capath = capath
        if cadata is not None:
            if isinstance(cadata, bytes):
                raise NotImplementedError("DER cadata is not supported; give PEM text")
            self._opts.cadata = cadata

    def load_default_certs(self, purpose: Any = None) -> None:
        """No-op: a client without CAs uses the system trust store."""

    def set_default_verify_paths(self) -> None:
        """No-op: a client without CAs uses the system trust store."""

    def set_ciphers(self, ciphers: str) -> None:
        """OpenSSL cipher list (TLS 1.2)."""
        self._opts.ciphers = ciphers

    def set_ciphersuites(self, ciphersuites: str) -> None:
        """TLS 1.3 ciphersuites (not in :mod:`ssl`; an addition)."""
        self._opts.ciphersuites = ciphersuites

    def to_engine(self) -> Dict[str, Any]:
        """The dict the extension turns into ``uvws_tls_options_t``."""
        o = TLSOptions(**{f: getattr(self._opts, f) for f in self._opts.__dataclass_fields__})
        o.minimum_version = self.minimum_version
        o.server_hostname = self.server_hostname
        if self.server_side:
            modes: Dict[Any, Union[bool, str]] = {ssl.CERT_NONE: False, ssl.CERT_OPTIONAL: True, ssl.CERT_REQUIRED: "require"}
            o.verify_client = modes[self.verify_mode]
        else:
            o.verify = self.verify_mode != ssl.CERT_NONE
            if o.verify and not self.check_hostname:
                raise NotImplementedError("verifying the certificate without the host name is not supported")
        return o.to_engine()


TLSArg = Union[None, bool, TLSOptions, TLSContext, Mapping[str, Any]]


def to_engine(tls: Any) -> Optional[Dict[str, Any]]:
    """Translate a ``tls=`` argument into the engine's dict (None: no
    options, engine defaults)."""
    if tls is None or tls is False:
        return None
    if tls is True:
        return {}
    if isinstance(tls, (TLSOptions, TLSContext)):
        return tls.to_engine()
    if isinstance(tls, ssl.SSLContext):
        raise TypeError(
            "uvws runs its own TLS and cannot use an ssl.SSLContext: pass a uvws.TLSContext "
            "(same methods) or uvws.TLSOptions(certfile=..., keyfile=..., cafile=..., verify=...)"
        )
    if isinstance(tls, Mapping):
        return TLSOptions(**tls).to_engine()
    if isinstance(tls, enum.Enum):
        raise TypeError(f"invalid tls argument {tls!r}")
    raise TypeError(f"tls must be None, True, TLSOptions, TLSContext or a dict, not {type(tls).__name__}")
