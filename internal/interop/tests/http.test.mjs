// The official TypeScript SDK client against `vace-mcp --sandbox --transport http` (streamable HTTP, /mcp).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defineCommonTests, connect, startHttpServer, httpTransport, submit, assertStrictlyIncreasing,
  assertNoProgressAfterResponse, sleep, CallToolResultSchema, TOOL_NAMES, PROTOCOL_VERSION,
} from './helpers.mjs';

let server, authServer;
const TOKEN = `interop-${process.pid}-secret`;

// Tests are independent (own sessions) and run concurrently against the same two servers.
describe('http', { concurrency: true }, () => {
  before(async () => {
    [server, authServer] = await Promise.all([
      startHttpServer({ transport: 'http' }),
      startHttpServer({ transport: 'http', extraArgs: ['--auth-token', TOKEN] }),
    ]);
  });
  after(async () => { await Promise.all([server?.stop(), authServer?.stop()]); });

  // close ends the session (DELETE) like a well-behaved host, then closes the client.
  async function closeSession(conn) {
    try { await conn.transport.terminateSession(); } finally { await conn.client.close(); }
  }

  defineCommonTests('http', { open: () => connect(httpTransport(server.mcpUrl)), close: closeSession });

  // recordingFetch passes requests through and records, per SSE response stream, which JSON-RPC request
  // ids the POST carried and every message that came back on that stream (or on the GET stream).
  function recordingFetch() {
    const streams = [];
    const fetchFn = async (url, init = {}) => {
      const res = await fetch(url, init);
      const ct = res.headers.get('content-type') ?? '';
      if (!res.body || !ct.includes('text/event-stream')) return res;
      let reqIds = [];
      if (typeof init.body === 'string') {
        reqIds = [JSON.parse(init.body)].flat().filter((m) => m.method && 'id' in m).map((m) => m.id);
      }
      const rec = { method: init.method ?? 'GET', reqIds, messages: [] };
      streams.push(rec);
      const [mine, theirs] = res.body.tee();
      (async () => {
        const decoder = new TextDecoder();
        let buf = '';
        for await (const chunk of mine) {
          buf += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const data = buf.slice(0, i).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
            buf = buf.slice(i + 2);
            if (data) { try { rec.messages.push(JSON.parse(data)); } catch { rec.messages.push({ unparsable: data }); } }
          }
        }
      })().catch(() => {});
      return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
    return { fetchFn, streams };
  }

  test('http: two concurrent wait_task calls on one session each get only their own progress', { timeout: 90_000 }, async () => {
    const rec = recordingFetch();
    const conn = await connect(httpTransport(server.mcpUrl, { fetch: rec.fetchFn }));
    try {
      await conn.client.listTools();
      const [a, b] = [await submit(conn.client, 'concurrent A'), await submit(conn.client, 'concurrent B')];
      const wait = async (taskId) => {
        const progress = [];
        let res;
        do {
          res = await conn.client.callTool({ name: 'wait_task', arguments: { task_id: taskId } }, CallToolResultSchema,
            { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 20_000, maxTotalTimeout: 120_000 });
          assert.notEqual(res.isError, true, JSON.stringify(res));
        } while (res.structuredContent.done === false);
        return { res, progress };
      };
      const [ra, rb] = await Promise.all([wait(a), wait(b)]);
      assert.equal(ra.res.structuredContent.task_id, a);
      assert.equal(rb.res.structuredContent.task_id, b);
      assert.equal(ra.res.structuredContent.status, 'SUCCEEDED');
      assert.equal(rb.res.structuredContent.status, 'SUCCEEDED');
      assert.ok(ra.progress.length > 0 && rb.progress.length > 0, 'both calls got progress');
      assertStrictlyIncreasing(ra.progress, 'A:');
      assertStrictlyIncreasing(rb.progress, 'B:');
      await sleep(1_000);
      assertNoProgressAfterResponse(conn.raw, { name: 'wait_task' });

      // Per HTTP stream: a wait_task POST's SSE stream carries only its own progress token and its own response;
      // the standalone GET stream carries no progress (it must not belong to a request).
      const waitCalls = conn.raw.filter((r) => r.dir === 'out' && r.msg.params?.name === 'wait_task');
      assert.ok(waitCalls.length >= 2);
      for (const call of waitCalls) {
        const s = rec.streams.find((st) => st.method === 'POST' && st.reqIds.includes(call.msg.id));
        assert.ok(s, `an SSE response stream for wait_task id ${call.msg.id}`);
        const foreign = s.messages.filter((m) => (m.method === 'notifications/progress' && m.params?.progressToken !== call.msg.params._meta.progressToken)
          || ('id' in m && !m.method && m.id !== call.msg.id));
        assert.deepEqual(foreign, [], `stream of wait_task id ${call.msg.id} carried another call's messages`);
        assert.ok(s.messages.some((m) => m.id === call.msg.id && 'result' in m), `its own response on its stream`);
      }
      const onGet = rec.streams.filter((st) => st.method === 'GET').flatMap((st) => st.messages)
        .filter((m) => m.method === 'notifications/progress');
      assert.deepEqual(onGet, [], 'no progress on the standalone GET stream');
    } finally { await closeSession(conn); }
  });

  test('http: --auth-token: no token → 401 at connect, Bearer token via requestInit works', { timeout: 20_000 }, async () => {
    const noToken = httpTransport(authServer.mcpUrl);
    await assert.rejects(connect(noToken), (e) => {
      assert.ok(e.code === 401 || /\b401\b/.test(e.message), `401 expected, got ${e.code}: ${e.message}`);
      return true;
    });
    await noToken.close();
    const wrongToken = httpTransport(authServer.mcpUrl, { requestInit: { headers: { Authorization: 'Bearer wrong' } } });
    await assert.rejects(connect(wrongToken), (e) => e.code === 401 || /\b401\b/.test(e.message));
    await wrongToken.close();

    const conn = await connect(httpTransport(authServer.mcpUrl, { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    try {
      assert.equal(conn.client.getServerVersion().name, 'vace-mcp');
      const { tools } = await conn.client.listTools();
      assert.ok(TOOL_NAMES.every((n) => tools.some((x) => x.name === n)));
    } finally { await closeSession(conn); }
  });

  test('http: terminateSession() ends the session: a POST with the old id gets 404', { timeout: 20_000 }, async () => {
    const conn = await connect(httpTransport(server.mcpUrl));
    const sid = conn.transport.sessionId;
    assert.ok(sid, 'a session id was issued');
    assert.equal(conn.transport.protocolVersion, PROTOCOL_VERSION);
    await conn.client.listTools();
    await conn.transport.terminateSession(); // DELETE /mcp
    await conn.client.close();
    const res = await fetch(server.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    await res.body?.cancel();
    assert.equal(res.status, 404);
  });
});
