// Shared helpers for the interop tests: start the vace-mcp binary (env VACE_MCP_BIN) in sandbox mode,
// connect the official TypeScript SDK client over stdio, streamable HTTP or SSE, record the raw message
// order, and the checks that every transport runs (defineCommonTests).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { CallToolResultSchema, McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';

export { CallToolResultSchema, McpError, ErrorCode };

export const BIN = process.env.VACE_MCP_BIN;
if (!BIN) throw new Error('set VACE_MCP_BIN to the vace-mcp binary to test');

export const PROTOCOL_VERSION = '2025-11-25';
// The tools this suite relies on. The server may have more (download_video came later): every listed tool
// must be well-formed, and these must be among them.
export const TOOL_NAMES = [
  'cancel_task', 'get_task', 'image_reference', 'list_tasks', 'video_edit',
  'video_extension', 'video_instruct_edit', 'video_outpainting', 'video_repainting', 'wait_task',
];

// Every server saves videos (auto-save keeps those of the sandbox jobs that succeed) into one temporary directory.
const outDir = mkdtempSync(join(tmpdir(), 'vace-interop-'));
process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));

// Sandbox, fast polling and progress so a job takes ~10 s and progress comes every 300 ms.
export const SERVER_ARGS = [
  '--sandbox', '--poll-interval', '200ms', '--progress-interval', '300ms',
  '--shutdown-grace', '1s', '--output-dir', outDir,
];

// Servers still running when the test process ends (a test timed out, --test-force-exit) are killed.
const children = new Set(); // ChildProcess objects from startHttpServer
const stdioPids = new Set(); // pids of servers spawned by the SDK's StdioClientTransport
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of stdioPids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
});

// startHttpServer spawns `vace-mcp --transport <transport> --addr 127.0.0.1:0` and resolves once the
// "serving MCP over HTTP" line names the port. stop() sends SIGTERM, then SIGKILL after 3 s.
// baseArgs replaces SERVER_ARGS (a server against `vace-mcp simulate` rather than --sandbox); env is added to
// this process's environment.
export function startHttpServer({ transport = 'http', extraArgs = [], timeoutMs = 15_000, baseArgs = SERVER_ARGS, env } = {}) {
  const child = spawn(BIN, [...baseArgs, '--transport', transport, '--addr', '127.0.0.1:0', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'], env: env ? { ...process.env, ...env } : undefined });
  children.add(child);
  let stderr = '';
  let exited = false;
  let ready = false;
  const exitP = new Promise((r) => child.once('exit', (code, sig) => { exited = true; children.delete(child); r({ code, sig }); }));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exitP;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error(`server did not start in ${timeoutMs} ms:\n${stderr}`)); }, timeoutMs);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /msg="serving MCP over HTTP".*url=http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (m && !ready) {
        ready = true;
        clearTimeout(timer);
        const base = `http://127.0.0.1:${m[1]}`;
        resolve({ port: Number(m[1]), base, mcpUrl: new URL(`${base}/mcp`), sseUrl: new URL(`${base}/sse`), stop, stderr: () => stderr });
      }
    });
    exitP.then(({ code, sig }) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? sig}) before it was ready:\n${stderr}`)); });
  });
}

// stdioTransport: the SDK spawns the binary itself. Its env is NOT the parent's (only HOME, PATH, ...) plus env.
// baseArgs replaces SERVER_ARGS (a server against `vace-mcp simulate` rather than --sandbox).
export function stdioTransport(extraArgs = [], { baseArgs = SERVER_ARGS, env } = {}) {
  const transport = new StdioClientTransport({ command: BIN, args: [...baseArgs, ...extraArgs], env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr.on('data', (d) => { stderr += d; });
  transport.serverStderr = () => stderr;
  const start = transport.start.bind(transport);
  transport.start = async () => {
    await start();
    const pid = transport.pid;
    if (pid) { stdioPids.add(pid); transport._process?.once('exit', () => stdioPids.delete(pid)); }
  };
  return transport;
}

// startSimulator runs `vace-mcp simulate` (the sandbox's simulated DashScope on its own, for servers that
// restart while their jobs go on) and resolves with the env for servers using it, once it printed both lines.
// stop() sends SIGTERM, then SIGKILL after 3 s.
export function startSimulator({ timeoutMs = 15_000 } = {}) {
  const child = spawn(BIN, ['simulate'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let exited = false;
  const exitP = new Promise((r) => child.once('exit', (code, sig) => { exited = true; children.delete(child); r({ code, sig }); }));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exitP;
    clearTimeout(t);
  };
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error(`vace-mcp simulate did not start in ${timeoutMs} ms:\n${stdout}${stderr}`)); }, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      const base = /^DASHSCOPE_BASE_URL=(\S+)$/m.exec(stdout);
      const key = /^DASHSCOPE_API_KEY=(\S+)$/m.exec(stdout);
      if (base && key) {
        clearTimeout(timer);
        resolve({ env: { DASHSCOPE_BASE_URL: base[1], DASHSCOPE_API_KEY: key[1] }, stop, stderr: () => stderr });
      }
    });
    exitP.then(({ code, sig }) => { clearTimeout(timer); reject(new Error(`vace-mcp simulate exited (${code ?? sig}):\n${stdout}${stderr}`)); });
  });
}

export const CONNECT_TIMEOUT_MS = 15_000;

export const httpTransport = (url, opts = {}) => new StreamableHTTPClientTransport(url, opts);
export const sseTransport = (url, opts = {}) => new SSEClientTransport(url, opts);

// connect creates a Client, records client.onerror (late responses / late progress show up only there)
// and every raw message in both directions, in arrival/sending order, from the initialize request on.
// transport.onmessage is wrapped (as set by client.connect) so the log sees messages before the SDK does.
export async function connect(transport, { timeoutMs = CONNECT_TIMEOUT_MS } = {}) {
  const client = new Client({ name: 'vace-interop', version: '0.0.0' });
  const errors = [];
  client.onerror = (e) => errors.push(e);
  const raw = []; // {dir: 'in'|'out', msg, at}
  let inner;
  const wrapped = (msg, extra) => { raw.push({ dir: 'in', msg, at: Date.now() }); inner?.(msg, extra); };
  Object.defineProperty(transport, 'onmessage', {
    configurable: true, get: () => (inner ? wrapped : undefined), set: (fn) => { inner = fn; },
  });
  const send = transport.send.bind(transport);
  transport.send = (msg, opts) => { raw.push({ dir: 'out', msg, at: Date.now() }); return send(msg, opts); };
  let timer;
  try {
    await Promise.race([
      client.connect(transport, { timeout: timeoutMs }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`connect did not finish in ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } catch (e) {
    await client.close().catch(() => {});
    const stderr = transport.serverStderr?.();
    if (stderr) e.message += `\nserver stderr:\n${stderr}`;
    throw e;
  } finally { clearTimeout(timer); }
  const init = raw.find((r) => r.dir === 'out' && r.msg.method === 'initialize');
  const initResp = raw.find((r) => r.dir === 'in' && r.msg.id === init?.msg.id && 'result' in r.msg);
  return { client, transport, errors, raw, negotiatedVersion: initResp?.msg.result.protocolVersion };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// submit starts a fresh sandbox job (a unique prompt so the 15-minute duplicate check never returns an old one).
export async function submit(client, tag = '') {
  const res = await client.callTool({
    name: 'video_outpainting',
    arguments: { prompt: `a violinist on a wider stage ${tag} ${randomUUID()}`, video_url: 'https://example.com/in.mp4', left_scale: 1.5 },
  });
  assert.notEqual(res.isError, true, JSON.stringify(res));
  const sc = res.structuredContent;
  assert.equal(typeof sc.task_id, 'string');
  assert.equal(sc.status, 'PENDING');
  assert.equal(sc.done, false);
  assert.equal(sc.simulated, true);
  return sc.task_id;
}

// waitUntilDone calls wait_task with onprogress + resetTimeoutOnProgress until done is true.
// Returns the final result and, per call, the progress values it saw.
export async function waitUntilDone(client, taskId, { maxCalls = 10, timeoutSeconds } = {}) {
  const calls = [];
  for (let i = 0; i < maxCalls; i++) {
    const progress = [];
    const args = { task_id: taskId };
    if (timeoutSeconds) args.timeout_seconds = timeoutSeconds;
    const res = await client.callTool({ name: 'wait_task', arguments: args }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 20_000, maxTotalTimeout: 120_000,
    });
    calls.push({ progress, res });
    assert.notEqual(res.isError, true, JSON.stringify(res));
    assert.equal(res.structuredContent.task_id, taskId);
    if (res.structuredContent.done) return { res, calls };
    assert.equal(res.structuredContent.done, false);
    assert.match(res.structuredContent.next ?? '', /wait_task again/i);
  }
  throw new Error(`task ${taskId} not done after ${maxCalls} wait_task calls`);
}

export function assertStrictlyIncreasing(progress, label = '') {
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i].progress > progress[i - 1].progress,
      `${label} progress not strictly increasing at ${i}: ${progress[i - 1].progress} then ${progress[i].progress}`);
  }
}

// assertNoProgressAfterResponse checks, in the raw order of messages received, that no
// notifications/progress for a tools/call's progress token arrives after that call's response.
// It checks every tools/call sent with a progress token whose response has arrived.
export function assertNoProgressAfterResponse(raw, { name } = {}) {
  let checked = 0;
  for (const out of raw.filter((r) => r.dir === 'out' && r.msg.method === 'tools/call')) {
    if (name && out.msg.params?.name !== name) continue;
    const token = out.msg.params?._meta?.progressToken;
    if (token === undefined) continue;
    const inbound = raw.filter((r) => r.dir === 'in');
    const respIdx = inbound.findIndex((r) => r.msg.id === out.msg.id && !('method' in r.msg));
    if (respIdx < 0) continue;
    checked++;
    const late = inbound.slice(respIdx + 1)
      .filter((r) => r.msg.method === 'notifications/progress' && r.msg.params?.progressToken === token);
    assert.equal(late.length, 0,
      `${late.length} notifications/progress for token ${token} arrived after its response: ${JSON.stringify(late.map((r) => r.msg.params))}`);
  }
  return checked;
}

export function toolResultText(res) {
  return (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// defineCommonTests registers the checks every transport must pass. open() returns a connected
// {client, transport, errors, raw} (see connect); close(conn) closes it.
export function defineCommonTests(label, { open: openConn, close = (c) => c.client.close() }) {
  // After one failed connect (server does not start or does not answer), the later tests fail at once
  // instead of each waiting for its own timeout.
  let broken;
  const open = async () => {
    if (broken) throw new Error(`not attempted: an earlier connect failed: ${broken.message}`);
    try { return await openConn(); } catch (e) { broken = e; throw e; }
  };
  test(`${label}: initialize negotiates ${PROTOCOL_VERSION} with serverInfo vace-mcp`, { timeout: 20_000 }, async () => {
    const conn = await open();
    try {
      const info = conn.client.getServerVersion();
      assert.equal(info.name, 'vace-mcp');
      assert.equal(typeof info.version, 'string');
      // The SDK client asks for its LATEST_PROTOCOL_VERSION; check the server's raw initialize answer.
      assert.equal(conn.negotiatedVersion, PROTOCOL_VERSION);
      if ('protocolVersion' in conn.transport) assert.equal(conn.transport.protocolVersion, PROTOCOL_VERSION);
      assert.ok(conn.client.getServerCapabilities()?.tools, 'tools capability declared');
    } finally { await close(conn); }
  });

  test(`${label}: tools/list has the ${TOOL_NAMES.length} tools, each with description, object inputSchema and outputSchema`, { timeout: 20_000 }, async (t) => {
    const conn = await open();
    try {
      const { tools } = await conn.client.listTools();
      const names = tools.map((x) => x.name);
      assert.equal(new Set(names).size, names.length, `duplicate tool names: ${names}`);
      for (const name of TOOL_NAMES) assert.ok(names.includes(name), `tool ${name} listed (got ${names})`);
      const extra = names.filter((n) => !TOOL_NAMES.includes(n));
      if (extra.length) t.diagnostic(`${tools.length} tools; besides the ${TOOL_NAMES.length} checked: ${extra.join(', ')}`);
      for (const t of tools) {
        assert.ok(typeof t.description === 'string' && t.description.length > 0, `${t.name}: description`);
        assert.equal(t.inputSchema?.type, 'object', `${t.name}: inputSchema.type`);
        assert.equal(t.outputSchema?.type, 'object', `${t.name}: outputSchema.type`);
      }
    } finally { await close(conn); }
  });

  test(`${label}: video_outpainting then wait_task (resumed while done is false) with progress until SUCCEEDED`, { timeout: 90_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools(); // enables the SDK's outputSchema validation of every later result
      const taskId = await submit(conn.client, label);
      // timeout_seconds 4 on a ~10 s job: the first calls end with done:false and a "call again" hint.
      const { res, calls } = await waitUntilDone(conn.client, taskId, { timeoutSeconds: 4 });
      assert.ok(calls.length >= 2, `wait_task resumed after a timeout (${calls.length} calls)`);
      const sc = res.structuredContent;
      assert.equal(sc.status, 'SUCCEEDED');
      assert.equal(sc.done, true);
      assert.equal(sc.simulated, true);
      assert.equal(typeof sc.video_url, 'string');
      const link = res.content.find((c) => c.type === 'resource_link');
      assert.ok(link, `a resource_link in ${JSON.stringify(res.content)}`);
      assert.equal(link.mimeType, 'video/mp4');
      assert.equal(link.uri, sc.video_url);
      const all = calls.flatMap((c) => c.progress);
      assert.ok(all.length > 0, 'at least one progress notification');
      calls.forEach((c, i) => assertStrictlyIncreasing(c.progress, `wait_task call ${i + 1}:`));
      assertStrictlyIncreasing(all, 'across wait_task calls:'); // progress is the task's age
      // Let anything the server still had queued arrive, then check the raw order.
      await sleep(1_000);
      assert.equal(assertNoProgressAfterResponse(conn.raw, { name: 'wait_task' }), calls.length);
      // "unknown token" in client.onerror can be an SDK dispatch race (research 1.6); late responses cannot.
      assert.deepEqual(lateMessageErrors(conn.errors).filter((m) => /message ID/.test(m)), [], 'no responses for unknown ids');
    } finally { await close(conn); }
  });

  test(`${label}: invalid arguments give isError naming the field`, { timeout: 20_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const res = await conn.client.callTool({
        name: 'video_outpainting',
        arguments: { prompt: 'a violinist on a wider stage', video_url: 'https://example.com/in.mp4', top_scale: 3 },
      });
      assert.equal(res.isError, true);
      assert.match(toolResultText(res), /top_scale: must be between 1\.0 and 2\.0/);
    } finally { await close(conn); }
  });

  test(`${label}: aborting a long wait_task rejects with -32001 and the server stays usable`, { timeout: 60_000 }, async (t) => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const taskId = await submit(conn.client, `${label} abort`);
      const ac = new AbortController();
      let seen = 0;
      const started = Date.now();
      // timeout_seconds 60 on a fresh job: it cannot finish before the abort (~10 s sandbox job).
      const call = conn.client.callTool({ name: 'wait_task', arguments: { task_id: taskId, timeout_seconds: 60 } },
        CallToolResultSchema, {
          signal: ac.signal, timeout: 30_000, resetTimeoutOnProgress: true,
          onprogress: () => { if (seen++ === 0) ac.abort(); },
        });
      await assert.rejects(call, (e) => {
        assert.ok(e instanceof McpError, `McpError, got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.code, ErrorCode.RequestTimeout); // -32001
        return true;
      });
      assert.equal(seen, 1, 'aborted after the first progress notification');
      assert.ok(Date.now() - started < 10_000, 'aborted promptly, not after the job finished');
      const wait = conn.raw.find((r) => r.dir === 'out' && r.msg.method === 'tools/call' && r.msg.params?.name === 'wait_task');
      assert.ok(conn.raw.some((r) => r.dir === 'out' && r.msg.method === 'notifications/cancelled' && r.msg.params?.requestId === wait.msg.id),
        'notifications/cancelled sent for the wait_task');
      // The server stays usable on the same connection.
      const { tools } = await conn.client.listTools();
      assert.ok(TOOL_NAMES.every((n) => tools.some((x) => x.name === n)));
      const g = await conn.client.callTool({ name: 'get_task', arguments: { task_id: taskId } });
      assert.notEqual(g.isError, true, JSON.stringify(g));
      assert.equal(g.structuredContent.task_id, taskId);
      assert.equal(g.structuredContent.done, false);
      await sleep(1_000); // room for anything late
      const token = wait.msg.params._meta.progressToken;
      const cancelAt = conn.raw.find((r) => r.dir === 'out' && r.msg.method === 'notifications/cancelled').at;
      const lateProgress = conn.raw.filter((r) => r.dir === 'in' && r.msg.method === 'notifications/progress'
        && r.msg.params?.progressToken === token && r.at > cancelAt + 500);
      assert.deepEqual(lateProgress.map((r) => r.msg.params), [], 'no progress for the cancelled call 0.5 s after the cancellation');
      // Spec (basic/utilities/cancellation): the receiver SHOULD NOT send a response for a cancelled request.
      await t.test(`${label}: no response to the cancelled request`, () => {
        const late = conn.raw.filter((r) => r.dir === 'in' && r.msg.id === wait.msg.id && !('method' in r.msg));
        assert.deepEqual(late.map((r) => r.msg), [], 'a response arrived for the cancelled wait_task');
      });
    } finally { await close(conn); }
  });
}

// lateMessageErrors returns client.onerror messages about responses or progress for unknown ids/tokens.
export function lateMessageErrors(errors) {
  return errors.map((e) => String(e?.message ?? e)).filter((m) => /unknown (message ID|token)/i.test(m));
}
