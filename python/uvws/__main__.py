"""The ``uvws`` command-line tool: a WebSocket server and an interactive
client for debugging services (``python -m uvws``, or ``uvws`` once
installed). The Node package installs the same tool (``npx uvws``,
node/bin/uvws.js): same commands, options, output and exit codes; see
docs/cli.md.

    uvws listen PORT [--echo] [--host H] [--tls-cert C --tls-key K]
                     [--subprotocol P ...]
    uvws connect URL [--header "Name: value" ...] [--subprotocol P ...]
                     [--ca FILE] [--insecure] [--wait SECONDS]

Events go to stdout, one line each; errors to stderr, prefixed ``uvws: ``.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional, Tuple

USAGE = """\
usage: uvws listen PORT [--echo] [--host H] [--tls-cert C --tls-key K] [--subprotocol P ...]
       uvws connect URL [--header "Name: value" ...] [--subprotocol P ...] [--ca FILE] [--insecure] [--wait S]

listen   run a WebSocket server on PORT (0: any free port); prints
         "listening on <port>", then each connection, message and close
         (--echo: send every message back)
connect  connect to URL (ws:// or wss://); each line of stdin is sent as a
         text message, received messages are printed as "< text" or
         "< binary N bytes: <hex>"; end of input closes with 1000 (after
         --wait seconds, default 0, for late replies)
"""

# Options of each command: name -> takes a value ("many": repeatable).
OPTIONS: Dict[str, Dict[str, str]] = {
    "listen": {"--echo": "flag", "--host": "one", "--tls-cert": "one", "--tls-key": "one", "--subprotocol": "many"},
    "connect": {"--header": "many", "--subprotocol": "many", "--ca": "one", "--insecure": "flag", "--wait": "one"},
}

HEX_BYTES = 64  # binary messages: hex of the first 64 bytes, then "..."

CLOSE_NAMES = {
    1000: "normal",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1004: "reserved",
    1005: "no status",
    1006: "abnormal",
    1007: "invalid data",
    1008: "policy violation",
    1009: "message too big",
    1010: "extension required",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
    1015: "TLS handshake",
}


# libuv's getaddrinfo errors (negated) as Node names them in err.code.
EAI_NAMES = {
    3000: "EAI_ADDRFAMILY",
    3001: "EAI_AGAIN",
    3002: "EAI_BADFLAGS",
    3003: "EAI_CANCELED",
    3004: "EAI_FAIL",
    3005: "EAI_FAMILY",
    3006: "EAI_MEMORY",
    3007: "ENOTFOUND",  # EAI_NODATA
    3008: "ENOTFOUND",  # EAI_NONAME
    3009: "EAI_OVERFLOW",
    3010: "EAI_SERVICE",
    3011: "EAI_SOCKTYPE",
    3013: "EAI_BADHINTS",
    3014: "EAI_PROTOCOL",
}


class UsageError(Exception):
    pass


# -- output formats (identical in node/bin/uvws.js) ----------------------


def close_name(code: int) -> str:
    name = CLOSE_NAMES.get(code)
    if name is not None:
        return name
    if 3000 <= code <= 3999:
        return "registered"
    if 4000 <= code <= 4999:
        return "private"
    return "unknown"


def format_close(code: Optional[int], reason: Optional[str]) -> str:
    code = 1006 if code is None else code
    line = f"closed {code} ({close_name(code)})"
    if reason:
        line += " " + json.dumps(reason, ensure_ascii=False)
    return line


def format_message(data: Any, is_binary: bool) -> str:
    if not is_binary:
        return f"< {data}"
    b = bytes(data)
    tail = "..." if len(b) > HEX_BYTES else ""
    return f"< binary {len(b)} bytes: {b[:HEX_BYTES].hex()}{tail}"


def format_address(addr: Optional[Tuple[str, int]]) -> str:
    if not addr:
        return "?"
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def error_text(exc: BaseException) -> str:
    """errno name for socket errors (as Node's err.code), else the message."""
    import uvws

    if isinstance(exc, uvws.InvalidStatus):
        return f"handshake failed: HTTP {exc.status}"
    if isinstance(exc, OSError) and not isinstance(exc, uvws.WebSocketError) and exc.errno:
        if exc.errno in errno.errorcode:
            return errno.errorcode[exc.errno]
        if exc.errno in EAI_NAMES:
            return EAI_NAMES[exc.errno]
        if exc.strerror:
            return lower_first(exc.strerror)
    text = exc.message if isinstance(exc, uvws.WebSocketError) and exc.message else str(exc)
    if text.startswith("uvws: "):
        text = text[6:]
    return lower_first(text or type(exc).__name__)


def lower_first(text: str) -> str:
    """"Server sent ..." -> "server sent ..." (not "TLS ..." -> "tLS ...")."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def out(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(1)


def err(line: str) -> None:
    try:
        sys.stderr.write("uvws: " + line + "\n")
        sys.stderr.flush()
    except BrokenPipeError:
        pass


# -- arguments ------------------------------------------------------------


def parse(argv: List[str]) -> Tuple[str, str, Dict[str, Any]]:
    if not argv or argv[0] in ("-h", "--help", "help"):
        raise SystemExit(0 if argv else 2)
    command = argv[0]
    if command not in OPTIONS:
        raise UsageError(f"unknown command {command!r}")
    spec = OPTIONS[command]
    opts: Dict[str, Any] = {}
    positional: List[str] = []
    i = 1
    while i < len(argv):
        a = argv[i]
        i += 1
        if a in ("-h", "--help"):
            raise SystemExit(0)
        if a == "--":
            positional.extend(argv[i:])
            break
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            kind = spec.get(name)
            if kind is None:
                raise UsageError(f"unknown option {name} for {command}")
            if kind == "flag":
                if eq:
                    raise UsageError(f"{name} takes no value")
                opts[name] = True
                continue
            if not eq:
                if i >= len(argv):
                    raise UsageError(f"{name} needs a value")
                value = argv[i]
                i += 1
            if kind == "many":
                opts.setdefault(name, []).append(value)
            else:
                opts[name] = value
            continue
        positional.append(a)
    if len(positional) != 1:
        what = "PORT" if command == "listen" else "URL"
        raise UsageError(f"{command} needs one {what}" + (f", got {len(positional)} arguments" if positional else ""))
    return command, positional[0], opts


def check_readable(option: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path}: {errno.errorcode.get(exc.errno or 0, exc.strerror)}") from None


# -- listen ----------------------------------------------------------------


def listen(port_arg: str, opts: Dict[str, Any]) -> int:
    import uvws

    if not re.fullmatch(r"[0-9]+", port_arg) or int(port_arg) > 65535:
        raise UsageError(f"invalid port {port_arg!r}")
    port = int(port_arg)
    host = opts.get("--host", "0.0.0.0")
    cert, key = opts.get("--tls-cert"), opts.get("--tls-key")
    if bool(cert) != bool(key):
        raise UsageError("--tls-cert and --tls-key go together")
    if cert:
        check_readable("--tls-cert", cert)
        check_readable("--tls-key", key)
    echo = bool(opts.get("--echo"))
    supported: Optional[List[str]] = opts.get("--subprotocol")

    def handle_protocols(offered: List[str], request: Any) -> Optional[str]:
        # The first of the client's offers that we support (any, without
        # --subprotocol); none: the client fails the handshake.
        for p in offered:
            if supported is None or p in supported:
                return p
        return None

    tls = uvws.TLSOptions(certfile=cert, keyfile=key) if cert else None
    try:
        # Created before uvws.run(): the engine loop starts with run().
        server = uvws.Server(port=port, host=host, tls=tls, handle_protocols=handle_protocols)
    except (OSError, ValueError, uvws.WebSocketError) as exc:
        err(f"cannot listen on {host}:{port}: {error_text(exc)}")
        return 1
    server.on("error", lambda exc: err(f"server error: {error_text(exc)}"))
    ids = [0]

    @server.on("connection")
    def on_connection(ws: uvws.WebSocket, request: uvws.Request) -> None:
        ids[0] += 1
        tag = f"[{ids[0]}]"
        line = f"{tag} connection from {format_address(request.remote_address)} {request.url}"
        if ws.protocol:
            line += f" subprotocol {ws.protocol}"
        out(line)

        def on_message(data: Any, is_binary: bool) -> None:
            out(f"{tag} {format_message(data, is_binary)}")
            if echo:
                try:
                    ws.send(data, is_binary)
                except uvws.InvalidStateError:
                    pass

        ws.on("message", on_message)
        ws.on("error", lambda exc: err(f"{tag} error: {error_text(exc)}"))
        ws.on("close", lambda code, reason: out(f"{tag} {format_close(code, reason)}"))

    out(f"listening on {server.port}")
    # Runs until SIGINT / SIGTERM, then closes every connection with 1001.
    uvws.run()
    return 0


# -- connect ---------------------------------------------------------------


def connect(url: str, opts: Dict[str, Any]) -> int:
    import uvws

    headers: List[Tuple[str, str]] = []
    for h in opts.get("--header", []):
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise UsageError(f'invalid header {h!r} (expected "Name: value")')
        headers.append((name.strip(), value.strip()))
    engine_url, auth = engine_url_of(url)
    if auth is not None and not any(name.lower() == "authorization" for name, _ in headers):
        headers.append(("Authorization", auth))
    ca, insecure = opts.get("--ca"), bool(opts.get("--insecure"))
    if ca is not None:
        check_readable("--ca", ca)
    tls = uvws.TLSOptions(cafile=ca, verify=not insecure) if (ca or insecure) else None
    wait = opts.get("--wait", "0")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", wait):
        raise UsageError(f"invalid --wait {wait!r} (seconds)")
    return asyncio.run(_connect(url, engine_url, headers, opts.get("--subprotocol"), tls, float(wait)))


def engine_url_of(url: str) -> Tuple[str, Optional[str]]:
    """As the Node tool (ws) takes URLs: http(s):// means ws(s)://, and user
    info becomes an "Authorization: Basic" header. Returns the URL for the
    engine and that header's value (or None)."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    try:
        u = urlsplit(url)
        scheme = {"http": "ws", "https": "wss"}.get(u.scheme.lower(), u.scheme)
        auth = None
        netloc = u.netloc
        if "@" in netloc:
            userinfo, _, netloc = netloc.rpartition("@")
            user, _, password = userinfo.partition(":")
            auth = "Basic " + base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        return urlunsplit((scheme, netloc, u.path, u.query, u.fragment)), auth
    except ValueError:
        return url, None


async def _connect(url: str, engine_url: str, headers: List[Tuple[str, str]], protocols: Optional[List[str]], tls: Any, wait: float) -> int:
    import signal

    import uvws

    loop = asyncio.get_running_loop()
    done: "asyncio.Future[int]" = loop.create_future()
    st: Dict[str, Any] = {"open": False, "error": None, "reading": False, "eof": False}
    buf = bytearray()

    try:
        ws = uvws.WebSocket(engine_url, protocols, headers=headers, tls=tls)
    except (OSError, ValueError, uvws.WebSocketError) as exc:
        err(f"cannot connect to {url}: {error_text(exc)}")
        return 1

    # stdin: read only while the connection is open; each line is one text
    # message (without its "\n" or "\r\n").
    def send_line(line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            if ws.send(line.decode("utf-8", "replace")) == uvws.SEND_QUEUED:
                pause()  # resumed by 'drain'
        except uvws.InvalidStateError:
            pass

    def on_readable() -> None:
        try:
            chunk = os.read(0, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            pause()
            if buf:
                send_line(bytes(buf))
                buf.clear()
            end_of_input()
            return
        buf.extend(chunk)
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            line = bytes(buf[:i])
            del buf[: i + 1]
            send_line(line)

    def resume() -> None:
        if st["reading"] or st["eof"] or ws.ready_state != uvws.OPEN:
            return
        st["reading"] = True
        try:
            loop.add_reader(0, on_readable)
        except (PermissionError, OSError, ValueError):
            # A regular file or /dev/null (epoll cannot watch them): they
            # never block, read them at once.
            st["reading"] = False
            while not st["eof"] and ws.ready_state == uvws.OPEN:
                on_readable()

    def pause() -> None:
        if st["reading"]:
            st["reading"] = False
            loop.remove_reader(0)

    def end_of_input() -> None:
        if st["eof"]:
            return
        st["eof"] = True
        pause()
        if wait > 0:
            loop.call_later(wait, close)
        else:
            close()

    def close() -> None:
        try:
            ws.close(1000)
        except uvws.WebSocketError:
            pass

    def on_open() -> None:
        st["open"] = True
        line = f"connected to {url}"
        if ws.protocol:
            line += f" subprotocol {ws.protocol}"
        out(line)
        resume()

    def on_error(exc: BaseException) -> None:
        if st["error"] is None:
            st["error"] = exc
        if st["open"]:
            err(f"error: {error_text(exc)}")

    def on_close(code: int, reason: str) -> None:
        pause()
        if not st["open"]:
            exc = st["error"]
            err(f"cannot connect to {url}: {error_text(exc) if exc else 'closed during the handshake'}")
            result = 1
        else:
            out(format_close(code, reason))
            result = 0 if code in (1000, 1001, 1005) else 1
        if not done.done():
            done.set_result(result)

    ws.on("open", on_open)
    ws.on("message", lambda data, is_binary: out(format_message(data, is_binary)))
    ws.on("drain", resume)
    ws.on("error", on_error)
    ws.on("close", on_close)

    def interrupted() -> None:
        # Ctrl-C / SIGTERM: as end of input (close with 1000); a second one
        # drops the connection.
        if st["eof"] or not st["open"]:
            ws.terminate()
        else:
            end_of_input()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, interrupted)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        return await done
    finally:
        pause()


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    try:
        command, arg, opts = parse(argv)
        if command == "listen":
            return listen(arg, opts)
        return connect(arg, opts)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
        (sys.stdout if code == 0 else sys.stderr).write(USAGE)
        return code
    except UsageError as exc:
        sys.stderr.write(f"uvws: {exc}\n" + "".join(USAGE.splitlines(True)[:2]))
        return 2


if __name__ == "__main__":
    sys.exit(main())
