"""TLS options: the Python shapes and their translation for the engine."""

import os
import ssl

import pytest

import uvws
from uvws._tls import to_engine


def test_tls_options_translation():
    d = to_engine(uvws.TLSOptions(certfile="c.pem", keyfile="k.pem", cafile="ca.pem", verify_client="require", minimum_version="TLSv1.3"))
    assert d == {"cert_file": b"c.pem", "key_file": b"k.pem", "ca_file": b"ca.pem", "verify_client": 2, "insecure_skip_verify": 0, "min_version": 0x0304}
    d = to_engine({"cafile": "ca.pem", "verify": False, "server_hostname": "example.com"})
    assert d["insecure_skip_verify"] == 1 and d["server_name"] == "example.com" and d["ca_file"] == b"ca.pem"
    assert to_engine(None) is None
    assert to_engine(True) == {}
    d = to_engine(uvws.TLSOptions(sni={"a.example": ("a.pem", "a.key")}, cadata="PEM"))
    assert d["sni"] == [{"server_name": "a.example", "cert_file": b"a.pem", "key_file": b"a.key"}] and d["ca_pem"] == "PEM"


def test_tls_context_like_ssl():
    server = uvws.TLSContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain("c.pem", "k.pem")
    server.load_verify_locations(cafile="clients.pem")
    server.verify_mode = ssl.CERT_REQUIRED
    server.minimum_version = ssl.TLSVersion.TLSv1_2
    assert to_engine(server) == {"cert_file": b"c.pem", "key_file": b"k.pem", "ca_file": b"clients.pem", "verify_client": 2, "insecure_skip_verify": 0, "min_version": 0x0303}
    client = uvws.TLSContext()
    client.load_verify_locations(cafile=os.path.join("x", "ca.pem"))
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    assert to_engine(client)["insecure_skip_verify"] == 1
    with pytest.raises(NotImplementedError):
        server.load_cert_chain("c.pem", password="secret")


def test_real_ssl_context_is_refused_with_guidance():
    with pytest.raises(TypeError, match="TLSContext"):
        to_engine(ssl.create_default_context())
    with pytest.raises(TypeError):
        to_engine(42)
    with pytest.raises(TypeError):
        uvws.TLSOptions(bogus=1)  # type: ignore[call-arg]


def test_server_with_missing_certificate_fails_at_once(tmp_path):
    try:
        with pytest.raises(uvws.TLSError) as ei:
            uvws.Server(port=0, host="127.0.0.1", tls=uvws.TLSOptions(certfile=str(tmp_path / "nope.pem"), keyfile=str(tmp_path / "nope.key")))
        assert "nope.pem" in str(ei.value) or "certificate" in str(ei.value)
    except uvws.NotSupportedError:
        pytest.skip("the engine was built without TLS")


def test_wss_echo_both_apis(tls_files):
    import asyncio

    from conftest import arun, engine_has_tls

    if not engine_has_tls(tls_files):
        pytest.skip("the engine was built without TLS")
    cert, key = tls_files

    async def main():
        server = uvws.Server(port=0, host="127.0.0.1", tls=uvws.TLSOptions(certfile=cert, keyfile=key))
        server.on("connection", lambda ws, req: ws.on("message", ws.send))
        async with uvws.connect(f"wss://127.0.0.1:{server.port}/", tls=uvws.TLSOptions(cafile=cert)) as ws:
            await ws.send("secure")
            assert await ws.recv() == "secure"
        async with uvws.connect(f"wss://127.0.0.1:{server.port}/", tls={"verify": False}) as ws:
            await ws.send(b"insecure ok")
            assert await ws.recv() == b"insecure ok"
        with pytest.raises(uvws.TLSError):
            await uvws.connect(f"wss://127.0.0.1:{server.port}/", tls=uvws.TLSOptions(cafile=cert, server_hostname="wrong.example"))
        done = asyncio.get_running_loop().create_future()
        server.close(lambda: done.set_result(None))
        await done

    arun(main())
