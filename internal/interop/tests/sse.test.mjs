// The official TypeScript SDK client against `vace-mcp --sandbox --transport sse` (legacy HTTP+SSE: /sse + /message).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { defineCommonTests, connect, startHttpServer, sseTransport, TOOL_NAMES } from './helpers.mjs';

let server, authServer;
const TOKEN = `interop-${process.pid}-secret`;

// Tests are independent (own sessions) and run concurrently against the same two servers.
describe('sse', { concurrency: true }, () => {
  before(async () => {
    [server, authServer] = await Promise.all([
      startHttpServer({ transport: 'sse' }),
      startHttpServer({ transport: 'sse', extraArgs: ['--auth-token', TOKEN] }),
    ]);
  });
  after(async () => { await Promise.all([server?.stop(), authServer?.stop()]); });

  defineCommonTests('sse', { open: () => connect(sseTransport(server.sseUrl)) });

  test('sse: --auth-token: no token → 401, Bearer token via requestInit works', { timeout: 20_000 }, async () => {
    const noToken = sseTransport(authServer.sseUrl);
    await assert.rejects(connect(noToken), (e) => {
      assert.ok(e.code === 401 || /\b401\b/.test(e.message), `401 expected, got ${e.code}: ${e.message}`);
      return true;
    });
    await noToken.close();
    const conn = await connect(sseTransport(authServer.sseUrl, { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    try {
      const { tools } = await conn.client.listTools();
      assert.ok(TOOL_NAMES.every((n) => tools.some((x) => x.name === n)));
    } finally { await conn.client.close(); }
  });
});
