#!/usr/bin/env node
// The demo's "gateway" service (uvws Node package, ws's API).
//
// - A wss:// server for clients: each text message is a JSON request
//   {"id": N, "op": ..., "args": [...]}; the reply is {"id": N, "ok": true,
//   "result": R} (or "ok": false with an "error"). Subprotocol "jobs.v1" is
//   required: an upgrade that does not offer it is refused with HTTP 400.
// - One wss:// client connection (the "link") to the worker service, over
//   which every request is forwarded as a job {"job": J, "op", "args"}. When
//   the link closes (the worker died: 1006, or went away: 1001) the jobs in
//   flight go back to the queue, the gateway reconnects with exponential
//   backoff (100 ms doubling to 2 s, with jitter), and on reconnect resends
//   them: replies may be delayed but none is lost. A job still unanswered
//   after --job-timeout-ms is answered with an error (and counts as a
//   failure).
// - Heartbeat on the link: a ping every --heartbeat-ms; if its pong has not
//   come back within --pong-timeout-ms the worker is presumed dead (hung,
//   or the network is gone) and the link is terminated and reconnected.
// - The subprotocol is checked on both connections: a worker that does not
//   answer "jobs.v1" is a fatal error.
// - SIGTERM/SIGINT: closes everything, prints a summary (messages per
//   direction, reconnects, heartbeats, round-trip latency percentiles from
//   request in to reply out) and exits 0, or 1 if a request failed or is
//   still unanswered, or something fatal happened.
//
//   node gateway.js --port 0 --tls-cert server.pem --tls-key server.key \
//     --ca ca.pem --worker wss://localhost:PORT/jobs
//
// Prints "[gateway] listening on <port>" once it accepts connections.
'use strict';

const fs = require('fs');
const path = require('path');
const { WebSocketServer, WebSocket } = require(path.join(__dirname, '..', '..')); // the uvws package

const PROTOCOL = 'jobs.v1';

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1',
    port: 0,
    tlsCert: null,
    tlsKey: null,
    ca: null,
    worker: null,
    heartbeatMs: 2000,
    pongTimeoutMs: 3000,
    jobTimeoutMs: 20000,
    traceEvery: 100,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in o) || i + 1 >= argv.length) {
      console.error(`usage: gateway.js --tls-cert F --tls-key F --ca F --worker URL [--port N] ` +
        `[--heartbeat-ms N] [--pong-timeout-ms N] [--job-timeout-ms N] [--trace-every N]`);
      process.exit(2);
    }
    o[k] = typeof o[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!o.tlsCert || !o.tlsKey || !o.ca || !o.worker) parseArgs([0, 0, '--help']);
  return o;
}

const opt = parseArgs(process.argv);
const log = (msg) => console.log(`[gateway] ${msg}`);
const now = () => performance.now();
const traced = (job) => job <= 3 || job % opt.traceEvery === 0;
const sample = (n) => n <= 2 || n % 5 === 0; // heartbeats: the first two, then every 5th

const stats = {
  clients: 0, refused: 0, requestsIn: 0, repliesOut: 0, failed: 0, timedOut: 0, badRequests: 0,
  orphaned: 0, jobsSent: 0, retries: 0, repliesIn: 0, stale: 0, reconnects: 0,
  hbSent: 0, hbAnswered: 0, hbMissed: 0, pingsFrom: { client: 0, worker: 0 }, fatal: null,
};
const latencies = [];

// ------------------------------------------------------------------ jobs

let nextJob = 1;
const jobs = new Map(); // job id -> { client, id, op, args, t0, attempts, state }
let queue = []; // job ids waiting for the link, oldest first

function dispatch(job) {
  if (!linkOpen()) {
    job.state = 'queued';
    job.waited = true;
    queue.push(job.jid);
    return;
  }
  job.state = 'inflight';
  job.attempts++;
  stats.jobsSent++;
  if (job.attempts > 1) stats.retries++;
  const body = { op: job.op, args: job.args };
  if (traced(job.jid) || (job.attempts > 1 && stats.retries <= 3)) {
    log(`-> job ${job.jid} ${JSON.stringify(body)}` + (job.attempts > 1 ? ` (resent, attempt ${job.attempts})` : ''));
  }
  link.send(JSON.stringify({ job: job.jid, ...body }));
}

function finish(job, reply) {
  jobs.delete(job.jid);
  const ms = now() - job.t0;
  if (reply.ok) latencies.push({ ms, calm: !job.waited && job.attempts === 1 });
  else stats.failed++;
  if (traced(job.jid)) {
    const what = reply.ok ? `result ${reply.result}` : `error "${reply.error}"`;
    log(`<- job ${job.jid} ${what} -> client#${job.client.num} req ${job.id} (${ms.toFixed(1)} ms)`);
  }
  if (job.client.readyState !== WebSocket.OPEN) {
    stats.orphaned++;
    return;
  }
  const out = reply.ok ? { id: job.id, ok: true, result: reply.result } : { id: job.id, ok: false, error: reply.error };
  job.client.send(JSON.stringify(out));
  stats.repliesOut++;
}

// Jobs unanswered for too long get an error reply (and count as failures).
const jobTimer = setInterval(() => {
  const t = now();
  for (const job of jobs.values()) {
    if (t - job.t0 < opt.jobTimeoutMs) continue;
    stats.timedOut++;
    log(`job ${job.jid} (client#${job.client.num} req ${job.id}) unanswered after ${opt.jobTimeoutMs} ms: failing it`);
    queue = queue.filter((j) => j !== job.jid);
    finish(job, { ok: false, error: 'timeout' });
  }
}, 500);

// ------------------------------------------------------------------ link to the worker

let link = null;
let linkUpAt = 0;
let downSince = 0;
let attempt = 0;
let everUp = false;
let stopping = false;
let reconnectTimer = null;
let lastError = '';
const linkOpen = () => link !== null && link.readyState === WebSocket.OPEN;

function connectLink() {
  reconnectTimer = null;
  attempt++;
  lastError = '';
  const ws = new WebSocket(opt.worker, PROTOCOL, { ca: fs.readFileSync(opt.ca), handshakeTimeout: 1500 });
  link = ws;
  ws.on('open', () => {
    if (ws.protocol !== PROTOCOL) {
      fatal(`the worker answered subprotocol "${ws.protocol}", not "${PROTOCOL}"`);
      return;
    }
    linkUpAt = now();
    const resend = queue;
    queue = [];
    if (everUp) {
      stats.reconnects++;
      log(`worker link up again (reconnect ${stats.reconnects}, ${((linkUpAt - downSince) / 1000).toFixed(2)} s ` +
        `after it went down, attempt ${attempt}), subprotocol ${ws.protocol}: sending ${resend.length} waiting jobs`);
    } else {
      log(`worker link up: ${opt.worker}, subprotocol ${ws.protocol}` + (resend.length ? `: sending ${resend.length} waiting jobs` : ''));
    }
    everUp = true;
    attempt = 0;
    for (const jid of resend) {
      const job = jobs.get(jid);
      if (job) dispatch(job);
    }
  });
  ws.on('message', (data, isBinary) => {
    let reply;
    try {
      reply = JSON.parse(data.toString());
    } catch {
      log(`<- unparsable reply from the worker: ${data.toString().slice(0, 60)}`);
      stats.stale++;
      return;
    }
    stats.repliesIn++;
    const job = jobs.get(reply.job);
    if (!job || job.state !== 'inflight') {
      stats.stale++; // answered already (a retry raced with a late reply)
      return;
    }
    finish(job, reply);
  });
  ws.on('ping', () => {
    stats.pingsFrom.worker++;
    if (sample(stats.pingsFrom.worker)) log(`<- ping ${stats.pingsFrom.worker} from the worker (its engine heartbeat; the engine answered)`);
  });
  ws.on('pong', () => heartbeatAnswered());
  ws.on('error', (err) => {
    lastError = err.code || err.message;
  });
  ws.on('close', (code, reason) => {
    if (link !== ws) return;
    link = null;
    stopHeartbeat();
    if (stopping) return;
    if (linkUpAt) {
      // Jobs sent but not answered go back to the front of the queue.
      const inflight = [...jobs.values()].filter((j) => j.state === 'inflight').map((j) => j.jid);
      for (const jid of inflight) Object.assign(jobs.get(jid), { state: 'queued', waited: true });
      queue = inflight.concat(queue);
      downSince = now();
      log(`worker link down: ${code}${reason.length ? ' ' + reason : code === 1006 ? ' (no closing handshake)' : ''}` +
        `${lastError ? ', ' + lastError : ''}, after ${((downSince - linkUpAt) / 1000).toFixed(1)} s up; ` +
        `${inflight.length} jobs in flight will be resent`);
      linkUpAt = 0;
    } else if (attempt > 0) {
      log(`connect attempt ${attempt} failed: ${lastError || code}`);
    }
    if (!downSince) downSince = now();
    const delay = Math.round(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.8 + 0.4 * Math.random()));
    log(`reconnecting to the worker in ${delay} ms (attempt ${attempt + 1})`);
    reconnectTimer = setTimeout(connectLink, delay);
  });
  startHeartbeat(ws);
}

// Heartbeat: ping every heartbeatMs; no pong within pongTimeoutMs = dead.
let hbTimer = null;
let hbDeadline = null;
let hbSentAt = 0;

function startHeartbeat(ws) {
  stopHeartbeat();
  hbTimer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN || hbDeadline) return;
    stats.hbSent++;
    hbSentAt = now();
    ws.ping(String(stats.hbSent));
    hbDeadline = setTimeout(() => {
      hbDeadline = null;
      stats.hbMissed++;
      lastError = `heartbeat: no pong within ${opt.pongTimeoutMs} ms`;
      log(`heartbeat ${stats.hbSent}: no pong from the worker within ${opt.pongTimeoutMs} ms: ` +
        `presuming it dead, terminating the link`);
      ws.terminate();
    }, opt.pongTimeoutMs);
  }, opt.heartbeatMs);
}

function heartbeatAnswered() {
  if (!hbDeadline) return;
  clearTimeout(hbDeadline);
  hbDeadline = null;
  stats.hbAnswered++;
  if (sample(stats.hbSent)) log(`heartbeat ${stats.hbSent}: ping -> worker, pong in ${(now() - hbSentAt).toFixed(1)} ms`);
}

function stopHeartbeat() {
  clearInterval(hbTimer);
  clearTimeout(hbDeadline);
  hbTimer = hbDeadline = null;
}

// ------------------------------------------------------------------ server for clients

const wss = new WebSocketServer({
  host: opt.host,
  port: opt.port,
  path: '/jobs',
  cert: fs.readFileSync(opt.tlsCert),
  key: fs.readFileSync(opt.tlsKey),
  verifyClient: (info, cb) => {
    const offered = String(info.req.headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim()).filter(Boolean);
    if (offered.includes(PROTOCOL)) return cb(true);
    stats.refused++;
    log(`refused a client from ${info.req.socket.remoteAddress} offering ` +
      `${offered.length ? offered.map((p) => `"${p}"`).join(', ') : 'no subprotocol'} (HTTP 400: ${PROTOCOL} required)`);
    cb(false, 400, `subprotocol ${PROTOCOL} required`);
  },
  handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
});

wss.on('listening', () => {
  log(`listening on ${wss.address().port} (pid ${process.pid}, wss, path /jobs, subprotocol ${PROTOCOL}; ` +
    `heartbeat to the worker every ${opt.heartbeatMs} ms, pong timeout ${opt.pongTimeoutMs} ms)`);
  connectLink();
});
wss.on('error', (err) => fatal(`server: ${err.message}`));

wss.on('connection', (ws, req) => {
  ws.num = ++stats.clients;
  if (ws.protocol !== PROTOCOL) { // verifyClient made sure it was offered; checked anyway
    fatal(`client#${ws.num} negotiated "${ws.protocol}"`);
    return;
  }
  log(`client#${ws.num} connected from ${req.socket.remoteAddress}:${req.socket.remotePort}, subprotocol ${ws.protocol}`);
  ws.on('message', (data, isBinary) => {
    let req;
    try {
      req = JSON.parse(data.toString());
    } catch {
      req = null;
    }
    if (!req || typeof req !== 'object' || !Number.isInteger(req.id) || typeof req.op !== 'string') {
      stats.badRequests++;
      ws.send(JSON.stringify({ id: req && req.id, ok: false, error: 'bad request' }));
      return;
    }
    stats.requestsIn++;
    const job = { jid: nextJob++, client: ws, id: req.id, op: req.op, args: req.args, t0: now(), attempts: 0, state: 'new', waited: false };
    jobs.set(job.jid, job);
    if (traced(job.jid)) log(`<- client#${ws.num} req ${req.id} ${JSON.stringify({ op: req.op, args: req.args })} = job ${job.jid}`);
    dispatch(job);
  });
  ws.on('ping', () => {
    stats.pingsFrom.client++;
    if (sample(stats.pingsFrom.client)) log(`<- ping ${stats.pingsFrom.client} from client#${ws.num} (its engine heartbeat; the engine answered)`);
  });
  ws.on('close', (code, reason) => {
    log(`client#${ws.num} closed: ${code}${reason.length ? ' ' + reason : ''}`);
  });
});

// ------------------------------------------------------------------ end

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary() {
  const pending = jobs.size;
  log(`summary: clients ${stats.clients} (+${stats.refused} refused), requests in ${stats.requestsIn}, ` +
    `replies out ${stats.repliesOut} (${stats.failed} failed, ${stats.timedOut} timed out, ` +
    `${stats.orphaned} to closed clients), pending ${pending}`);
  log(`summary (worker link): jobs sent ${stats.jobsSent} (${stats.retries} resent), replies in ${stats.repliesIn} ` +
    `(${stats.stale} stale), reconnects ${stats.reconnects}; heartbeats ${stats.hbSent} sent, ` +
    `${stats.hbAnswered} answered, ${stats.hbMissed} missed; pings received: ${stats.pingsFrom.client} from clients, ` +
    `${stats.pingsFrom.worker} from the worker`);
  const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)) + ' ms';
  const line = (l) => {
    const s = l.map((x) => x.ms).sort((a, b) => a - b);
    if (!s.length) return 'none';
    return `p50 ${f(pct(s, 50))}, p90 ${f(pct(s, 90))}, p99 ${f(pct(s, 99))}, max ${f(s[s.length - 1])}`;
  };
  const calm = latencies.filter((x) => x.calm);
  log(`latency (request in -> reply out), all ${latencies.length} jobs: ${line(latencies)}`);
  log(`latency, the ${calm.length} jobs that never waited for the worker: ${line(calm)}`);
  const ok = !stats.fatal && pending === 0 && stats.failed === 0 && stats.badRequests === 0;
  if (stats.fatal) log(`FAILED: ${stats.fatal}`);
  else if (!ok) log(`FAILED: ${pending} pending, ${stats.failed} failed, ${stats.badRequests} bad requests`);
  return ok ? 0 : 1;
}

let shutdownStarted = false;
function shutdown(why) {
  if (shutdownStarted) return;
  shutdownStarted = true;
  stopping = true;
  log(`stopping (${why}): closing the clients and the worker link`);
  clearTimeout(reconnectTimer);
  clearInterval(jobTimer);
  stopHeartbeat();
  const code = summary();
  let waiting = 1;
  const done = () => {
    if (--waiting === 0) process.exit(code);
  };
  if (link && link.readyState <= WebSocket.OPEN) {
    waiting++;
    link.once('close', done);
    if (link.readyState === WebSocket.OPEN) link.close(1001, 'gateway stopping');
    else link.terminate();
  }
  wss.close(() => done());
  for (const c of wss.clients) c.close(1001, 'gateway stopping');
  setTimeout(() => process.exit(code), 3000).unref();
}

function fatal(msg) {
  if (!stats.fatal) stats.fatal = msg;
  log(`FATAL: ${msg}`);
  shutdown('fatal error');
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
