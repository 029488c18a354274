// MCP tasks (2025-11-25 "tasks" utility) with the official TypeScript SDK client's experimental task API,
// over stdio and streamable HTTP: the editing tools run as tasks (tools/call with params.task, then tasks/get,
// tasks/result, tasks/cancel), and a task id stays good across a server restart (same --state-dir, a
// DashScope that remembers the job: `vace-mcp simulate`).
//
// Sandbox timings (30x real time): video_instruct_edit runs ~5 s, "[sandbox:fail]" fails in ~1 s,
// "[sandbox:queue]" stays PENDING for 20 s (so a cancel always finds it PENDING).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  connect, stdioTransport, httpTransport, startHttpServer, startSimulator, sleep,
  CallToolResultSchema, McpError, ErrorCode,
} from './helpers.mjs';

const TASK_POLL = ['--task-poll-interval', '500ms'];
const RELATED_TASK = 'io.modelcontextprotocol/related-task';
const DAY_MS = 86_400_000;
const EDITING_TOOLS = ['image_reference', 'video_repainting', 'video_edit', 'video_extension', 'video_outpainting', 'video_instruct_edit'];

// A unique prompt, so the 15-minute duplicate check never answers with an earlier job.
const instructArgs = (words) => ({ prompt: `${words} ${randomUUID()}`, video_url: 'https://example.com/in.mp4' });

// createTask sends tools/call with params.task and returns the CreateTaskResult's task.
async function createTask(client, args, { name = 'video_instruct_edit', ttl = 60_000 } = {}) {
  const res = await client.request({ method: 'tools/call', params: { name, arguments: args } }, CreateTaskResultSchema,
    { task: { ttl }, timeout: 20_000 });
  assertCreated(res.task);
  return res.task;
}

// The server keeps every task for DashScope's 24 h whatever ttl was asked, and suggests --task-poll-interval.
function assertCreated(task) {
  assert.equal(typeof task.taskId, 'string');
  assert.equal(task.status, 'working');
  assert.equal(task.ttl, DAY_MS, 'ttl is 24 h, not the ttl asked for');
  assert.equal(task.pollInterval, 500, 'pollInterval is --task-poll-interval');
  assert.ok(!Number.isNaN(Date.parse(task.createdAt)), `createdAt ${task.createdAt}`);
}

// pollUntilEnded calls tasks/get every pollInterval until the task leaves 'working'; returns every task seen.
async function pollUntilEnded(client, taskId, { maxPolls = 120 } = {}) {
  const seen = [];
  for (let i = 0; i < maxPolls; i++) {
    const task = await client.experimental.tasks.getTask(taskId, { timeout: 10_000 });
    seen.push(task);
    assert.equal(task.taskId, taskId);
    if (task.status !== 'working') return seen;
    assert.equal(typeof task.statusMessage, 'string', 'a working task says where it stands');
    await sleep(task.pollInterval ?? 500);
  }
  throw new Error(`task ${taskId} still working after ${maxPolls} polls: ${JSON.stringify(seen.at(-1))}`);
}

async function rejectsInvalidParams(promise, what, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof McpError, `${what}: McpError, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, ErrorCode.InvalidParams, `${what}: ${e.message}`); // -32602
    if (pattern) assert.match(e.message, pattern, what);
    return true;
  });
}

// assertSucceeded checks a finished job's CallToolResult as tasks/result gives it.
function assertSucceeded(res, taskId, { simulated = true } = {}) {
  assert.notEqual(res.isError, true, JSON.stringify(res));
  const sc = res.structuredContent;
  assert.equal(sc.status, 'SUCCEEDED', JSON.stringify(sc));
  assert.equal(sc.done, true);
  assert.equal(typeof sc.task_id, 'string');
  assert.match(sc.video_url, /^https?:\/\//);
  assert.equal(typeof sc.usage, 'object', `usage in ${JSON.stringify(sc)}`);
  assert.ok(sc.billed_seconds > 0, `billed_seconds in ${JSON.stringify(sc)}`);
  assert.equal(typeof sc.local_path, 'string', `local_path (auto-save) in ${JSON.stringify(sc)}`);
  assert.ok(existsSync(sc.local_path), `the saved video ${sc.local_path} exists`);
  if (simulated) assert.equal(sc.simulated, true);
  assert.deepEqual(res._meta?.[RELATED_TASK], { taskId }, `_meta["${RELATED_TASK}"]`);
}

// defineTaskTests registers the checks every transport runs against a sandbox server.
// open() returns a connected {client, transport, errors, raw} (see helpers' connect); close(conn) closes it.
function defineTaskTests(label, { open, close = (c) => c.client.close() }) {
  test(`${label}: the editing tools declare taskSupport optional and the server the tasks capability`, { timeout: 20_000 }, async () => {
    const conn = await open();
    try {
      assert.deepEqual(conn.client.getServerCapabilities()?.tasks, { cancel: {}, requests: { tools: { call: {} } } });
      const { tools } = await conn.client.listTools();
      for (const t of tools) {
        const want = EDITING_TOOLS.includes(t.name) ? 'optional' : undefined;
        assert.equal(t.execution?.taskSupport, want, `${t.name}: execution ${JSON.stringify(t.execution)}`);
      }
    } finally { await close(conn); }
  });

  test(`${label}: callToolStream with a 1 s ttl: taskCreated, then the SUCCEEDED result; the ttl does not end the job`, { timeout: 60_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools(); // the SDK learns taskSupport and the outputSchema
      const messages = [];
      const stream = conn.client.experimental.tasks.callToolStream(
        { name: 'video_instruct_edit', arguments: instructArgs(`${label} claymation`) }, CallToolResultSchema,
        { task: { ttl: 1_000 }, timeout: 30_000 });
      for await (const m of stream) messages.push(m);
      const errors = messages.filter((m) => m.type === 'error');
      assert.deepEqual(errors.map((m) => m.error.message), [], 'the stream never errors');
      assert.equal(messages[0].type, 'taskCreated');
      const created = messages[0].task;
      assertCreated(created);
      const last = messages.at(-1);
      assert.equal(last.type, 'result', `ends with the result: ${messages.map((m) => m.type)}`);
      const statuses = messages.filter((m) => m.type === 'taskStatus').map((m) => m.task);
      assert.ok(statuses.length >= 2, `polled more than once (${statuses.length})`);
      for (const t of statuses) {
        assert.equal(t.taskId, created.taskId);
        assert.equal(t.ttl, DAY_MS);
        assert.equal(t.pollInterval, 500);
      }
      assert.deepEqual(statuses.slice(0, -1).map((t) => t.status).filter((s) => s !== 'working'), [], 'working until the end');
      assert.equal(statuses.at(-1).status, 'completed');
      assertSucceeded(last.result, created.taskId);
      // Long past the 1 s ttl asked for, the task is still there, and tasks/result answers the same.
      const again = await conn.client.experimental.tasks.getTask(created.taskId);
      assert.equal(again.status, 'completed');
      const res = await conn.client.experimental.tasks.getTaskResult(created.taskId, CallToolResultSchema, { timeout: 20_000 });
      assertSucceeded(res, created.taskId);
      assert.equal(res.structuredContent.task_id, last.result.structuredContent.task_id);
      assert.equal(res.structuredContent.video_url, last.result.structuredContent.video_url);
      // Whatever else came (notifications/tasks/status on stdio) did not trouble the SDK.
      assert.deepEqual(conn.errors.map((e) => String(e?.message ?? e)), [], 'client.onerror');
    } finally { await close(conn); }
  });

  test(`${label}: a job that fails ends 'failed' with the DashScope code; tasks/result has isError`, { timeout: 30_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const task = await createTask(conn.client, instructArgs(`${label} [sandbox:fail]`));
      const seen = await pollUntilEnded(conn.client, task.taskId);
      const end = seen.at(-1);
      assert.equal(end.status, 'failed', JSON.stringify(end));
      assert.match(end.statusMessage ?? '', /InvalidParameter/);
      const res = await conn.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema, { timeout: 20_000 });
      assert.equal(res.isError, true, JSON.stringify(res));
      assert.equal(res.structuredContent?.status, 'FAILED');
      assert.deepEqual(res._meta?.[RELATED_TASK], { taskId: task.taskId });
      await rejectsInvalidParams(conn.client.experimental.tasks.cancelTask(task.taskId), 'tasks/cancel of a failed task', /already ended/);
    } finally { await close(conn); }
  });

  test(`${label}: tasks/cancel of a PENDING job: cancelled, and it stays cancelled`, { timeout: 30_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const task = await createTask(conn.client, instructArgs(`${label} [sandbox:queue]`));
      const got = await conn.client.experimental.tasks.getTask(task.taskId);
      assert.equal(got.status, 'working');
      assert.match(got.statusMessage ?? '', /PENDING/);
      const cancelled = await conn.client.experimental.tasks.cancelTask(task.taskId);
      assert.equal(cancelled.taskId, task.taskId);
      assert.equal(cancelled.status, 'cancelled', JSON.stringify(cancelled));
      await sleep(600);
      const later = await conn.client.experimental.tasks.getTask(task.taskId);
      assert.equal(later.status, 'cancelled', JSON.stringify(later));
      await rejectsInvalidParams(conn.client.experimental.tasks.cancelTask(task.taskId), 'a second tasks/cancel', /already ended/);
      const res = await conn.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema, { timeout: 20_000 });
      assert.equal(res.structuredContent?.status, 'CANCELED', JSON.stringify(res));
      assert.deepEqual(res._meta?.[RELATED_TASK], { taskId: task.taskId });
    } finally { await close(conn); }
  });

  test(`${label}: tasks/cancel of a RUNNING job is refused with -32602, and the job goes on`, { timeout: 30_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const task = await createTask(conn.client, instructArgs(`${label} running`));
      let got;
      for (let i = 0; i < 40; i++) { // PENDING for ~0.1 s, then RUNNING for ~5 s
        got = await conn.client.experimental.tasks.getTask(task.taskId);
        if (/RUNNING/.test(got.statusMessage ?? '') || got.status !== 'working') break;
        await sleep(100);
      }
      assert.equal(got.status, 'working', JSON.stringify(got));
      assert.match(got.statusMessage ?? '', /RUNNING/);
      await rejectsInvalidParams(conn.client.experimental.tasks.cancelTask(task.taskId), 'tasks/cancel of a RUNNING job',
        /cancels only PENDING/);
      const after = await conn.client.experimental.tasks.getTask(task.taskId);
      assert.notEqual(after.status, 'cancelled');
    } finally { await close(conn); }
  });

  test(`${label}: unknown and forged task ids are -32602; tasks/list is -32601`, { timeout: 20_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const tasks = conn.client.experimental.tasks;
      await rejectsInvalidParams(tasks.getTask('no-such-task'), 'tasks/get of an unknown id', /not found/i);
      await rejectsInvalidParams(tasks.getTask(randomUUID()), 'tasks/get of a DashScope-like id', /not found/i);
      const real = await createTask(conn.client, instructArgs(`${label} [sandbox:queue] forged`));
      const i = Math.floor(real.taskId.length / 2); // inside the DashScope job id: the MAC no longer matches
      const forged = real.taskId.slice(0, i) + (real.taskId[i] === 'A' ? 'B' : 'A') + real.taskId.slice(i + 1);
      await rejectsInvalidParams(tasks.getTask(forged), 'tasks/get of a forged id', /not found/i);
      await rejectsInvalidParams(tasks.getTaskResult(forged, CallToolResultSchema), 'tasks/result of a forged id', /not found/i);
      await rejectsInvalidParams(tasks.cancelTask(forged), 'tasks/cancel of a forged id', /not found/i);
      await assert.rejects(tasks.listTasks(), (e) => {
        assert.ok(e instanceof McpError, `McpError, got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.code, ErrorCode.MethodNotFound); // -32601
        return true;
      });
      // The real id still works, and its job is cancelled (it was only queued).
      assert.equal((await tasks.getTask(real.taskId)).status, 'working');
      assert.equal((await tasks.cancelTask(real.taskId)).status, 'cancelled');
    } finally { await close(conn); }
  });

  test(`${label}: a plain tools/call of video_edit (no params.task) still answers at once with a PENDING job`, { timeout: 20_000 }, async () => {
    const conn = await open();
    try {
      await conn.client.listTools();
      const res = await conn.client.callTool({
        name: 'video_edit',
        arguments: { prompt: `${label} a red car ${randomUUID()}`, video_url: 'https://example.com/in.mp4', mask_image_url: 'https://example.com/mask.png' },
      });
      assert.notEqual(res.isError, true, JSON.stringify(res));
      assert.equal(res.structuredContent.status, 'PENDING');
      assert.equal(typeof res.structuredContent.task_id, 'string');
      assert.equal(res.structuredContent.done, false);
      assert.equal(res.task, undefined, 'no task object in a plain call');
      assert.equal(res._meta?.[RELATED_TASK], undefined);
    } finally { await close(conn); }
  });
}

describe('tasks over stdio (sandbox)', { concurrency: true }, () => {
  const open = () => connect(stdioTransport(TASK_POLL));
  defineTaskTests('stdio', { open });

  test('stdio: a task id from another server (another key) is -32602', { timeout: 20_000 }, async () => {
    const [a, b] = await Promise.all([open(), open()]);
    try {
      await a.client.listTools();
      const task = await createTask(a.client, instructArgs('stdio [sandbox:queue] other server'));
      await rejectsInvalidParams(b.client.experimental.tasks.getTask(task.taskId), 'tasks/get on another server', /not found/i);
      assert.equal((await a.client.experimental.tasks.cancelTask(task.taskId)).status, 'cancelled');
    } finally { await Promise.all([a.client.close(), b.client.close()]); }
  });
});

describe('tasks over streamable HTTP (sandbox)', { concurrency: true }, () => {
  let server;
  before(async () => { server = await startHttpServer({ transport: 'http', extraArgs: TASK_POLL }); });
  after(async () => { await server?.stop(); });
  async function closeSession(conn) {
    try { await conn.transport.terminateSession(); } finally { await conn.client.close(); }
  }
  defineTaskTests('http', { open: () => connect(httpTransport(server.mcpUrl)), close: closeSession });
});

// A server that stops (killed, for stdio) while its task runs; a new server with the same --state-dir, and a
// new client, answer for the same task id until the video is there. DashScope is `vace-mcp simulate`.
describe('tasks across a server restart (vace-mcp simulate)', () => {
  let sim;
  const dirs = [];
  before(async () => { sim = await startSimulator(); });
  after(async () => {
    await sim?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function serverArgs() {
    const dir = mkdtempSync(join(tmpdir(), 'vace-interop-tasks-'));
    dirs.push(dir);
    return [
      '--state-dir', join(dir, 'state'), '--output-dir', join(dir, 'out'), '--poll-interval', '200ms',
      '--shutdown-grace', '1s', ...TASK_POLL,
    ];
  }

  async function startAndPollAcrossRestart(t, label, { start, stopFirst }) {
    const args = serverArgs();
    const first = await start(args);
    let task;
    try {
      await first.conn.client.listTools();
      task = await createTask(first.conn.client, instructArgs(`${label} restart`));
      const got = await first.conn.client.experimental.tasks.getTask(task.taskId);
      assert.equal(got.status, 'working', JSON.stringify(got));
    } finally { await stopFirst(first); }
    const second = await start(args);
    try {
      const tasks = second.conn.client.experimental.tasks;
      await second.conn.client.listTools();
      const seen = await pollUntilEnded(second.conn.client, task.taskId);
      assert.equal(seen.at(-1).status, 'completed', JSON.stringify(seen.at(-1)));
      t.diagnostic(`after the restart: ${seen.length - 1} tasks/get said working, then completed`);
      for (const t of seen) { assert.equal(t.ttl, DAY_MS); assert.equal(t.pollInterval, 500); }
      const res = await tasks.getTaskResult(task.taskId, CallToolResultSchema, { timeout: 30_000 });
      assertSucceeded(res, task.taskId, { simulated: false });
    } finally { await second.stop(); }
  }

  test('stdio: the server is killed (SIGKILL) while the task runs; a new one answers for it', { timeout: 60_000 }, async (t) => {
    await startAndPollAcrossRestart(t, 'stdio', {
      start: async (args) => {
        const conn = await connect(stdioTransport(args, { baseArgs: [], env: sim.env }));
        return { conn, stop: () => conn.client.close() };
      },
      stopFirst: async ({ conn }) => {
        const pid = conn.transport.pid;
        assert.ok(pid, 'the stdio server has a pid');
        const exited = new Promise((r) => conn.transport._process?.once('exit', r));
        process.kill(pid, 'SIGKILL');
        await exited;
        await conn.client.close();
      },
    });
  });

  test('http: the server stops while the task runs; a new one (new port, new client) answers for it', { timeout: 60_000 }, async (t) => {
    await startAndPollAcrossRestart(t, 'http', {
      start: async (args) => {
        const server = await startHttpServer({ transport: 'http', baseArgs: args, env: sim.env });
        try {
          const conn = await connect(httpTransport(server.mcpUrl));
          return { conn, server, stop: async () => { try { await conn.client.close(); } finally { await server.stop(); } } };
        } catch (e) { await server.stop(); throw e; }
      },
      stopFirst: async ({ conn, server }) => {
        await server.stop(); // SIGTERM: the session ends with the server
        await conn.client.close();
      },
    });
  });
});
