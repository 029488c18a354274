// The official TypeScript SDK client against `vace-mcp --sandbox` over stdio (the SDK spawns the binary).
// The tests are independent (each spawns its own server) and run concurrently.
import { describe } from 'node:test';
import { defineCommonTests, connect, stdioTransport } from './helpers.mjs';

describe('stdio', { concurrency: true }, () => {
  defineCommonTests('stdio', { open: () => connect(stdioTransport()) });
});
