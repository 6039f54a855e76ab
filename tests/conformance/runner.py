#!/usr/bin/env python3
"""uvws conformance runner: a re-implementation of Autobahn|Testsuite case groups
1-7, 9 (short form), 10, and 12/13 (permessage-deflate, short form) for RFC 6455 and
RFC 7692, in Python 3 with the standard library only.

  runner.py client --url ws://127.0.0.1:PORT/ [--cases 1-7,9,10] [--report FILE.json] [--ca CAFILE]
      fuzzing client against an echo server
  runner.py server --port P [--host 127.0.0.1] [--cases ...] [--report FILE.json]
                   [--tls-cert C --tls-key K] [--exit-after-report]
      fuzzing server for Autobahn-style test clients (getCaseCount, runCase, updateReports)
  runner.py list [--cases ...]
      print the selected cases

Exit code: 0 when no case FAILED (with --strict: and none is NON-STRICT or UNIMPLEMENTED;
with --expect-ok N: and exactly N cases are OK), 1 otherwise, 2 on usage or
infrastructure errors.
"""

import argparse
import asyncio
import datetime
import json
import os
import signal
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as C  # noqa: E402
import deflate  # noqa: E402
import wsconn  # noqa: E402

TOOL = ("uvws conformance runner 1.1 (re-implementation of Autobahn|Testsuite groups 1-7, 9 short form, 10, "
        "12/13 short form)")
SHORT_FORM_NOTE = ("Group 9 is run in a short form: payload sizes are 1/4 of Autobahn's (16k..4M single messages, "
                   "1M fragmented messages starting at 16-octet fragments, 256k messages in 16..512-octet TCP "
                   "chops) and 250 instead of 1000 round trips in 9.7/9.8; the structure of the group is unchanged.")
DEFLATE_NOTE = ("Groups 12 and 13 (permessage-deflate) are run in a short form: Autobahn's 18 rows of message and "
                "auto-fragment sizes are kept, but %d..%d messages are sent per case instead of 1000, with a "
                "%d s timeout. Data sets are generated, not Autobahn's files. 13.8-13.13 are additions (windows "
                "8 and 10-14, client_max_window_bits with a value). UNIMPLEMENTED: permessage-deflate was not "
                "negotiated." % (min(r[2] for r in C.DEFLATE_ROWS), max(r[2] for r in C.DEFLATE_ROWS),
                                 C.DEFLATE_WAIT))
REPORT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports")


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def overall(behavior, behavior_close):
    both = (behavior, behavior_close)
    if C.FAILED in both:
        return C.FAILED
    if C.NON_STRICT in both:
        return C.NON_STRICT
    if C.UNIMPLEMENTED in both:
        return C.UNIMPLEMENTED
    if C.INFORMATIONAL in both:
        return C.INFORMATIONAL
    return C.OK


def case_record(spec, case, conn, was_open, is_server, duration, extra_reason=None):
    """Evaluate a finished case and turn it into a report entry."""
    if extra_reason and case.p is None:
        case.p = conn
    case.evaluate(was_open, is_server)
    close_detail = case.behavior_close
    close_verdict = C.CLOSE_DETAIL_TO_VERDICT.get(close_detail, C.FAILED)
    behavior = case.behavior
    result = case.result
    if conn is not None and conn.peer_violation:
        # a conformant peer never puts an invalid frame on the wire, not even in a case whose
        # events are INFORMATIONAL
        behavior = C.FAILED
        result = "the peer violated %s: %s" % (getattr(conn, "peer_violation_rfc", None) or "RFC 6455",
                                               conn.peer_violation)
    if conn is not None and conn.internal_error:
        behavior = C.FAILED
        result = "internal error in the runner: %s" % conn.internal_error
    if extra_reason:
        behavior = C.FAILED
        result = extra_reason
    verdict = overall(behavior, close_verdict)
    rec = {
        "id": spec.id,
        "description": spec.description,
        "expectation": spec.expectation,
        "behavior": behavior,
        "behaviorClose": close_verdict,
        "verdict": verdict,
        "duration": duration,
        "result": result,
        "resultClose": case.result_close,
    }
    if close_detail != close_verdict:
        rec["behaviorCloseDetail"] = close_detail
    if case.short_form:
        rec["shortForm"] = True
    if hasattr(case, "deflate_report"):
        rec["permessageDeflate"] = case.deflate_report()
    if conn is not None:
        rec["remoteCloseCode"] = conn.remote_close_code
    if verdict in (C.FAILED, C.NON_STRICT) or behavior == C.FAILED:
        rec["reason"] = failure_reason(case, conn, was_open, behavior, close_detail, result)
    return rec


def failure_reason(case, conn, was_open, behavior, close_detail, result):
    observed = {"received": [C.render_event(e) for e in case.received]}
    expected = {"behavior": case.expected_for_report(), "close": case.expected_close}
    if conn is not None:
        observed.update({
            "closedByMe": conn.closed_by_me,
            "failedByMe": conn.failed_by_me,
            "droppedByMe": conn.dropped_by_me,
            "wasClean": conn.was_clean,
            "wasNotCleanReason": conn.was_not_clean_reason,
            "remoteCloseCode": conn.remote_close_code,
            "remoteCloseReason": C.short(conn.remote_close_reason) if conn.remote_close_reason else None,
            "localCloseCode": conn.local_close_code,
        })
        if conn.peer_violation:
            observed["peerProtocolViolation"] = conn.peer_violation
    observed["connectionWasOpen"] = was_open
    parts = []
    if behavior in (C.FAILED, C.NON_STRICT):
        parts.append("behavior %s: %s" % (behavior, result))
    if close_detail not in (C.OK, C.INFORMATIONAL):
        parts.append("close (%s): %s" % (close_detail, case.result_close))
    if conn is not None and conn.peer_violation:
        parts.append("runner saw a protocol violation by the peer: " + conn.peer_violation)
    if conn is not None and conn.was_not_clean_reason and close_detail != C.OK:
        parts.append(conn.was_not_clean_reason)
    return {"summary": "; ".join(parts), "expected": expected, "observed": observed}


def count_verdicts(records):
    counts = {v: 0 for v in C.VERDICTS}
    for r in records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def summary_line(counts):
    return "OK %d, NON-STRICT %d, FAILED %d, INFORMATIONAL %d, UNIMPLEMENTED %d" % (
        counts[C.OK], counts[C.NON_STRICT], counts[C.FAILED], counts[C.INFORMATIONAL], counts[C.UNIMPLEMENTED])


def verdict_problems(counts, strict, expect_ok=None):
    """Why a run does not pass (an empty list when it does)."""
    problems = []
    if counts[C.FAILED]:
        problems.append("%d FAILED" % counts[C.FAILED])
    if strict and counts[C.NON_STRICT]:
        problems.append("%d NON-STRICT (--strict)" % counts[C.NON_STRICT])
    if strict and counts[C.UNIMPLEMENTED]:
        problems.append("%d UNIMPLEMENTED (--strict)" % counts[C.UNIMPLEMENTED])
    if expect_ok is not None and counts[C.OK] != expect_ok:
        problems.append("%d OK where --expect-ok says %d" % (counts[C.OK], expect_ok))
    return problems


def exit_code(counts, strict, expect_ok=None):
    return 1 if verdict_problems(counts, strict, expect_ok) else 0


def print_verdict(counts, strict, expect_ok):
    problems = verdict_problems(counts, strict, expect_ok)
    print("RUN %s%s" % ("FAILED: " if problems else "PASSED", ", ".join(problems)), flush=True)


def print_case(rec, verbose):
    v = rec["verdict"]
    if v in (C.FAILED, C.NON_STRICT) or verbose:
        line = "%-13s %-8s behavior=%s close=%s%s (%d ms)" % (
            v, rec["id"], rec["behavior"], rec["behaviorClose"],
            (" [%s]" % rec["behaviorCloseDetail"]) if "behaviorCloseDetail" in rec else "", rec["duration"])
        print(line, flush=True)
        if "reason" in rec:
            print("              " + rec["reason"]["summary"], flush=True)


def write_report(path, mode, agent, target, started, duration_s, records, strict, selection, expect_ok=None):
    counts = count_verdicts(records)
    notes = []
    if any(r.get("shortForm") and r["id"].startswith("9.") for r in records):
        notes.append(SHORT_FORM_NOTE)
    if any("permessageDeflate" in r for r in records):
        notes.append(DEFLATE_NOTE)
    notes.append("behaviorClose maps Autobahn's close outcomes onto the five verdicts: WRONG CODE and "
                 "FAILED BY CLIENT -> NON-STRICT, UNCLEAN -> FAILED, and WRONG CODE (RFC-named) -> FAILED: "
                 "the peer failed the connection with another code than the one RFC 6455 7.4.1 names for "
                 "the error (1002, 1007) (see behaviorCloseDetail).")
    rep = {
        "tool": TOOL,
        "mode": mode,
        "agent": agent,
        "target": target,
        "started": started,
        "duration_s": round(duration_s, 3),
        "strict": strict,
        "expect_ok": expect_ok,
        "cases_selected": selection,
        "notes": notes,
        "summary": counts,
        "passed": exit_code(counts, strict, expect_ok) == 0,
        "problems": verdict_problems(counts, strict, expect_ok),
        "cases": records,
    }
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rep, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)
    return counts


def default_report(mode, agent):
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in (agent or "unknown"))
    return os.path.join(REPORT_DIR, "%s-%s.json" % (mode, safe))


# ==========================================================================
# client mode (fuzzing client against an echo server)
# ==========================================================================

async def run_client_case(url, spec, ssl_ctx, args):
    case = spec.make()
    t0 = time.monotonic()
    offer = case.client_offer() if hasattr(case, "client_offer") else None
    try:
        reader, writer, headers = await wsconn.client_handshake(url, ssl_ctx, timeout=args.handshake_timeout,
                                                                extensions=offer)
    except (wsconn.HandshakeError, OSError, ssl.SSLError) as e:
        case.p = None
        rec = case_record(spec, case, _DeadConn(), False, False, int((time.monotonic() - t0) * 1000),
                          extra_reason="could not open the WebSocket connection: %s" % e)
        return rec, None, True
    pmd = None
    if offer is not None:
        answer = headers.get("sec-websocket-extensions")
        err, agreed = deflate.client_accept(case.offers, answer)
        case.negotiated(offer, answer, agreed)
        if err:
            # RFC 7692 5: the client must fail the WebSocket connection
            writer.transport.abort()
            case.p = None
            rec = case_record(spec, case, _DeadConn(), False, False, int((time.monotonic() - t0) * 1000),
                              extra_reason="invalid permessage-deflate negotiation: %s" % err)
            return rec, headers.get("server"), False
        if agreed is not None:
            pmd = deflate.PerMessageDeflate(False, agreed, max_size=wsconn.MAX_MESSAGE)
    conn = wsconn.FuzzConnection(reader, writer, is_server=False,
                                 close_timeout=args.close_timeout * C.TIME_SCALE,
                                 drop_timeout=args.close_timeout * C.TIME_SCALE)
    conn.pmd = pmd
    conn.handler = case
    conn.start()
    extra = None
    t0 = time.monotonic()
    try:
        case.start(conn)
    except Exception as e:
        conn.internal_error = "%s: %s" % (type(e).__name__, e)
        conn.drop(abort=True)
    limit = case.hard_limit * max(1.0, C.TIME_SCALE)
    if not await conn.wait_closed(limit):
        extra = "case did not finish within its hard time limit of %.0fs" % limit
    duration = int(round((time.monotonic() - t0) * 1000))
    await conn.shutdown()
    return case_record(spec, case, conn, True, False, duration, extra), headers.get("server"), False


class _DeadConn:
    """Stand-in connection for cases whose connection never opened."""
    closed_by_me = failed_by_me = dropped_by_me = was_clean = False
    was_not_clean_reason = None
    remote_close_code = remote_close_reason = local_close_code = None
    peer_violation = None
    internal_error = None
    tx_frame_stats = {}


async def client_main(args):
    selected = C.select(args.cases, args.exclude)
    if not selected:
        print("no cases selected", file=sys.stderr)
        return 2
    ssl_ctx = None
    if args.url.startswith("wss://"):
        ssl_ctx = wsconn.make_client_ssl_context(args.ca, args.insecure)
    print("%s\nfuzzing client: %d cases against %s" % (TOOL, len(selected), args.url), flush=True)
    started = now_iso()
    t_start = time.monotonic()
    records = []
    agent = args.agent
    consecutive_connect_failures = 0
    deadline = t_start + args.total_timeout
    for spec in selected:
        if consecutive_connect_failures >= 5 or time.monotonic() > deadline:
            why = ("not run: the server could not be reached 5 times in a row"
                   if consecutive_connect_failures >= 5 else "not run: total time limit reached")
            case = spec.make()
            records.append(case_record(spec, case, _DeadConn(), False, False, 0, extra_reason=why))
            print_case(records[-1], args.verbose)
            continue
        rec, server_hdr, connect_failed = await run_client_case(args.url, spec, ssl_ctx, args)
        consecutive_connect_failures = consecutive_connect_failures + 1 if connect_failed else 0
        if agent is None and server_hdr:
            agent = server_hdr
        records.append(rec)
        print_case(rec, args.verbose)
    elapsed = time.monotonic() - t_start
    agent = agent or "unknown"
    report = args.report or default_report("client", agent)
    counts = write_report(report, "client", agent, args.url, started, elapsed, records, args.strict,
                          args.cases + (" minus " + args.exclude if args.exclude else ""), args.expect_ok)
    print("agent %s: %d cases in %.1fs; report %s" % (agent, len(records), elapsed, report))
    print(summary_line(counts), flush=True)
    print_verdict(counts, args.strict, args.expect_ok)
    return exit_code(counts, args.strict, args.expect_ok)


# ==========================================================================
# server mode (fuzzing server for Autobahn-style test clients)
# ==========================================================================

class FuzzServer:
    def __init__(self, args):
        self.args = args
        self.selected = C.select(args.cases, args.exclude)
        self.results = {}           # agent -> {case id: record}
        self.started = {}           # agent -> (iso, monotonic)
        self.done = asyncio.get_running_loop().create_future()
        self.last_activity = time.monotonic()
        self.exit_status = None
        self.active = set()
        self.running_cases = set()  # tasks of /runCase connections still being judged

    def finish(self, status):
        if not self.done.done():
            self.done.set_result(status)

    async def handle(self, reader, writer):
        task = asyncio.current_task()
        self.active.add(task)
        try:
            await self._handle(reader, writer)
        except Exception as e:  # keep serving other clients
            print("internal error while serving a client: %s: %s" % (type(e).__name__, e), file=sys.stderr,
                  flush=True)
            try:
                writer.transport.abort()
            except Exception:
                pass
        finally:
            self.active.discard(task)
            self.last_activity = time.monotonic()

    def _negotiate(self, prepared, req):
        """Before the 101 of a /runCase: make the case; for groups 12/13 answer the client's
        permessage-deflate offers the way the case says."""
        if (req.path.rstrip("/") or "/") != "/runCase":
            return None
        spec, _ = self._case_from(req)
        if spec is None:
            return None
        case = spec.make()
        prepared["case"] = case
        accept = getattr(case, "accept", None)
        if accept is None:
            return None
        offer = req.headers.get("sec-websocket-extensions")
        errors, response, agreed = deflate.server_negotiate(accept, offer)
        case.negotiated(offer, response, agreed, errors)
        if agreed is not None:
            prepared["pmd"] = deflate.PerMessageDeflate(True, agreed, max_size=wsconn.MAX_MESSAGE)
        return response

    async def _handle(self, reader, writer):
        self.last_activity = time.monotonic()
        prepared = {}
        req = await wsconn.server_handshake(reader, writer, timeout=self.args.handshake_timeout,
                                            negotiate=lambda r: self._negotiate(prepared, r))
        if req is None:
            return
        path = req.path.rstrip("/") or "/"
        agent = req.param("agent")
        conn = wsconn.FuzzConnection(reader, writer, is_server=True,
                                     close_timeout=self.args.close_timeout * C.TIME_SCALE,
                                     drop_timeout=self.args.close_timeout * C.TIME_SCALE)
        if path == "/runCase":
            spec, err = self._case_from(req)
            if spec is None or not agent:
                conn.start()
                conn.send_close(1003 if spec is None else 1008, err or "need agent to run case")
                await conn.wait_closed(3)
                await conn.shutdown()
                return
            conn.pmd = prepared.get("pmd")
            await self._run_case(conn, spec, agent, prepared.get("case"))
            return
        conn.start()
        if path == "/getCaseCount":
            conn.send_frame(1, json.dumps(len(self.selected)).encode())
            conn.send_close(1000)
        elif path == "/getCaseInfo":
            spec, err = self._case_from(req)
            if spec is None:
                conn.send_close(1003, err)
            else:
                conn.send_frame(1, json.dumps({"id": spec.id, "description": spec.description}).encode())
                conn.send_close(1000)
        elif path == "/getCaseStatus":
            spec, err = self._case_from(req)
            rec = self.results.get(agent, {}).get(spec.id) if spec else None
            conn.send_frame(1, json.dumps({"behavior": rec["behavior"] if rec else None}).encode())
            conn.send_close(1000)
        elif path == "/updateReports":
            # a client may ask for the report while the last case is still being judged (it
            # moved on after sending its close frame): wait for the cases in flight first
            pending = [t for t in self.running_cases if t is not asyncio.current_task()]
            if pending:
                await asyncio.wait(pending, timeout=30 * max(1.0, C.TIME_SCALE))
            counts = self.update_report(agent)
            conn.send_close(1000)
            await conn.wait_closed(3)
            await conn.shutdown()
            if counts is not None:
                shutdown = (req.param("shutdownOnComplete", "").lower() in ("true", "yes"))
                if self.args.exit_after_report or shutdown:
                    self.finish(exit_code(counts, self.args.strict, self.args.expect_ok))
            return
        elif path == "/stopServer":
            conn.send_close(1000)
            await conn.wait_closed(3)
            await conn.shutdown()
            self.finish(self.exit_status if self.exit_status is not None else 0)
            return
        else:
            conn.send_close(1008, "unknown path " + path)
        await conn.wait_closed(5)
        await conn.shutdown()

    def _case_from(self, req):
        n = req.param("case")
        tup = req.param("casetuple")
        try:
            if tup is not None:
                ids = [s.id for s in self.selected]
                return self.selected[ids.index(tup.strip())], None
            idx = int(n)
            if 1 <= idx <= len(self.selected):
                return self.selected[idx - 1], None
            return None, "case %s not found" % n
        except (TypeError, ValueError):
            return None, "invalid case %r" % (tup if tup is not None else n)

    async def _run_case(self, conn, spec, agent, case=None):
        task = asyncio.current_task()
        self.running_cases.add(task)
        try:
            await self._run_case_inner(conn, spec, agent, case)
        finally:
            self.running_cases.discard(task)

    async def _run_case_inner(self, conn, spec, agent, case):
        if agent not in self.started:
            self.started[agent] = (now_iso(), time.monotonic())
        if case is None:
            case = spec.make()
        conn.handler = case
        conn.start()
        t0 = time.monotonic()
        try:
            case.start(conn)
        except Exception as e:
            conn.internal_error = "%s: %s" % (type(e).__name__, e)
            conn.drop(abort=True)
        limit = case.hard_limit * max(1.0, C.TIME_SCALE)
        extra = None
        if not await conn.wait_closed(limit):
            extra = "case did not finish within its hard time limit of %.0fs" % limit
        duration = int(round((time.monotonic() - t0) * 1000))
        await conn.shutdown()
        rec = case_record(spec, case, conn, True, True, duration, extra)
        self.results.setdefault(agent, {})[spec.id] = rec
        print_case(rec, self.args.verbose)

    def update_report(self, agent):
        if not agent:
            return None
        got = self.results.get(agent, {})
        records = []
        for spec in self.selected:
            if spec.id in got:
                records.append(got[spec.id])
            else:
                case = spec.make()
                records.append(case_record(spec, case, _DeadConn(), False, True, 0,
                                           extra_reason="not run: the client did not run this case"))
        started, t0 = self.started.get(agent, (now_iso(), time.monotonic()))
        report = self.args.report or default_report("server", agent)
        counts = write_report(report, "server", agent, "clients connecting to port %s" % self.args.port, started,
                              time.monotonic() - t0, records, self.args.strict,
                              self.args.cases + (" minus " + self.args.exclude if self.args.exclude else ""),
                              self.args.expect_ok)
        missing = sum(1 for s in self.selected if s.id not in got)
        print("agent %s: %d cases (%d not run); report %s" % (agent, len(records), missing, report))
        print(summary_line(counts), flush=True)
        print_verdict(counts, self.args.strict, self.args.expect_ok)
        self.exit_status = exit_code(counts, self.args.strict, self.args.expect_ok)
        return counts


async def server_main(args):
    ssl_ctx = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("--tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
    fs = FuzzServer(args)
    if not fs.selected:
        print("no cases selected", file=sys.stderr)
        return 2
    server = await asyncio.start_server(fs.handle, args.host, args.port, ssl=ssl_ctx, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    args.port = port
    print("%s\nfuzzing server: %d cases for clients at %s://%s:%d" % (
        TOOL, len(fs.selected), "wss" if ssl_ctx else "ws", args.host, port), flush=True)
    print("listening on %d" % port, flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, fs.finish, 130 if sig == signal.SIGINT else 143)
        except (NotImplementedError, RuntimeError):
            pass
    t_start = time.monotonic()
    status = None
    while status is None:
        try:
            status = await asyncio.wait_for(asyncio.shield(fs.done), 1.0)
        except asyncio.TimeoutError:
            idle = time.monotonic() - fs.last_activity
            if not fs.active and idle > args.idle_timeout:
                print("no client activity for %.0fs: stopping" % idle, file=sys.stderr, flush=True)
                status = fs.exit_status if fs.exit_status is not None else 2
            elif time.monotonic() - t_start > args.total_timeout:
                print("total time limit of %.0fs reached: stopping" % args.total_timeout, file=sys.stderr,
                      flush=True)
                status = fs.exit_status if fs.exit_status is not None else 2
    server.close()
    for t in list(fs.active):
        t.cancel()
    try:
        await asyncio.wait_for(server.wait_closed(), 3)
    except (asyncio.TimeoutError, Exception):
        pass
    return status


# ==========================================================================

def build_parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)

    def common(p):
        p.add_argument("--cases", default="*",
                       help="groups (1-7,9,10,12,13), ids (5.19) or id prefixes (6.4), comma separated; default all")
        p.add_argument("--exclude", default="", help="cases to leave out, same syntax as --cases")
        p.add_argument("--report", help="JSON report file (default tests/conformance/reports/<mode>-<agent>.json)")
        p.add_argument("--strict", action="store_true",
                       help="NON-STRICT and UNIMPLEMENTED count as failures for the exit code")
        p.add_argument("--expect-ok", type=int, metavar="N",
                       help="the run fails unless exactly N cases are OK (catches cases that silently stop "
                            "counting, e.g. deflate not negotiated)")
        p.add_argument("--time-scale", type=float, default=1.0,
                       help="multiply the cases' waits and timeouts (for slow peers); default 1")
        p.add_argument("--close-timeout", type=float, default=1.0,
                       help="seconds to wait for the peer's close frame / the server's TCP close (default 1)")
        p.add_argument("--handshake-timeout", type=float, default=5.0)
        p.add_argument("-v", "--verbose", action="store_true", help="print every case, not only failures")

    pc = sub.add_parser("client", help="fuzzing client against an echo server")
    pc.add_argument("--url", required=True, help="ws:// or wss:// URL of the echo server")
    pc.add_argument("--ca", help="CA file to verify a wss:// server")
    pc.add_argument("--insecure", action="store_true", help="do not verify the wss:// server certificate")
    pc.add_argument("--agent", help="name for the report (default: the server's Server header)")
    pc.add_argument("--total-timeout", type=float, default=1800.0, help="give up after this many seconds")
    common(pc)

    ps = sub.add_parser("server", help="fuzzing server for Autobahn-style test clients")
    ps.add_argument("--port", type=int, required=True, help="port to listen on (0: any free port)")
    ps.add_argument("--host", default="127.0.0.1")
    ps.add_argument("--tls-cert")
    ps.add_argument("--tls-key")
    ps.add_argument("--exit-after-report", action="store_true",
                    help="stop after the first /updateReports; the exit code reflects that report")
    ps.add_argument("--idle-timeout", type=float, default=120.0,
                    help="stop when no client was connected for this many seconds (default 120)")
    ps.add_argument("--total-timeout", type=float, default=3600.0, help="stop after this many seconds")
    common(ps)

    pl = sub.add_parser("list", help="list the selected cases")
    pl.add_argument("--cases", default="*")
    pl.add_argument("--exclude", default="")
    return ap


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        C.select(args.cases, args.exclude)
    except ValueError as e:
        ap.error("bad --cases/--exclude: %s" % e)
    if args.mode == "list":
        sel = C.select(args.cases, args.exclude)
        for s in sel:
            print("%-8s %s" % (s.id, s.description[:110]))
        print("%d cases" % len(sel))
        return 0
    if args.time_scale <= 0:
        print("--time-scale must be positive", file=sys.stderr)
        return 2
    C.TIME_SCALE = args.time_scale
    if args.mode == "client":
        if not (args.url.startswith("ws://") or args.url.startswith("wss://")):
            print("--url must start with ws:// or wss://", file=sys.stderr)
            return 2
        return asyncio.run(client_main(args))
    return asyncio.run(server_main(args))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
