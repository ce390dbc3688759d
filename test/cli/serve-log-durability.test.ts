// `keyward serve`'s request log loses nothing that was accepted (issue 16, point 1): lines
// are written once per event-loop turn, so on SIGTERM and on a crash by an uncaught
// exception the lines still waiting must be flushed on the way out. A SIGKILL cannot be
// caught: a line is durable once written to the descriptor, at the end of the turn that
// accepted it, which is all the last test holds serve to.

import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { keyFormat } from '@keyward/keys';
import { describe, expect, it } from 'vitest';
import { type Child, spawnCli } from './run.js';

const KEY = keyFormat().generate();
const env = { KEYWARD_API_KEYS: KEY };
const crashScript = fileURLToPath(new URL('./crash-serve.ts', import.meta.url));

async function start(extraEnv: NodeJS.ProcessEnv = {}, script?: string) {
  const serve = spawnCli(['serve', '--port', '0'], { ...env, ...extraEnv }, script ? { script } : {});
  const [, url] = (await serve.waitFor(/listening on (http:\/\/\S+)/)) as [string, string];
  return { serve, url };
}

/** `n` requests, `concurrency` at a time, of three kinds (public, valid key, no key); their request ids. */
async function send(url: string, n: number, concurrency = 25): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const kind = i % 3;
      const res = await fetch(url + (kind === 0 ? '/health' : '/secure-data'), {
        headers: kind === 1 ? { 'X-API-Key': KEY } : {},
      });
      await res.arrayBuffer();
      expect(res.status).toBe(kind === 2 ? 401 : 200);
      ids.push(res.headers.get('x-request-id') ?? '');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

/** The request lines on stdout (security lines and others aside). */
function requestLines(serve: Child): { requestId: string; status: number }[] {
  return serve
    .output()
    .stdout.split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg: string; requestId: string; status: number })
    .filter((l) => l.msg === 'request');
}

describe('keyward serve request log durability', () => {
  it('writes every line of every answered request when stopped by SIGTERM at once', async () => {
    const { serve, url } = await start();
    const n = 300;
    const ids = await send(url, n);
    // At once, while the last turns' lines may still be waiting in the writer.
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const lines = requestLines(serve);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.requestId))).toEqual(new Set(ids));
    expect(lines.filter((l) => l.status === 401)).toHaveLength(n / 3);
  });

  it('writes every accepted line when an uncaught exception crashes the process', async () => {
    const crashAt = 120;
    const { serve, url } = await start({ CRASH_AT_LINE: String(crashAt) }, crashScript);
    // More requests than it lives for: some fail once it is gone.
    await send(url, 300).catch(() => {});
    const code = await serve.exited;
    const { stderr } = serve.output();
    expect(stderr).toContain('crash for the test');
    expect(code).not.toBe(0);
    const accepted = Math.max(...[...stderr.matchAll(/^ACCEPTED (\d+)$/gm)].map((m) => Number(m[1])));
    // The crash came in the turn that accepted line 120, before that turn's write.
    expect(accepted).toBeGreaterThanOrEqual(crashAt);
    expect(requestLines(serve)).toHaveLength(accepted);
  });

  it('has written the lines of a finished turn before a SIGKILL, which nothing can flush', async () => {
    const { serve, url } = await start();
    const n = 150;
    const ids = await send(url, n);
    // Let the turn that answered the last request end: its lines are written at its end.
    await sleep(50);
    serve.child.kill('SIGKILL');
    await serve.exited;
    const lines = requestLines(serve);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.requestId))).toEqual(new Set(ids));
  });
});
