// The request log's writer (`LineWriter`, one write per event-loop turn) loses no line it
// accepted when the process crashes or exits at once: a real process writes lines to its
// stdout pipe and dies before the turn ends.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SOURCE_FLAGS } from '../helpers/spawn.js';
import { tempDir } from '../keys/temp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = tempDir('keyward-lines-');
const LINES = 5000;

function runScript(ending: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = join(dir, `writer-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(
    script,
    `import { LineWriter } from '${root}packages/server/src/log/lines.ts';
const writer = new LineWriter(1);
for (let i = 0; i < ${LINES}; i++) writer.write(JSON.stringify({ msg: 'request', i }) + '\\n');
${ending}
`,
  );
  const child = spawn(process.execPath, [...SOURCE_FLAGS, script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const written = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { i: number }).i);

describe('the request log on a crash', () => {
  it('writes every accepted line when the process dies of an uncaught exception in the same turn', async () => {
    const r = await runScript("throw new Error('crash after the lines were accepted');");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('crash after the lines were accepted');
    expect(written(r.stdout)).toEqual(Array.from({ length: LINES }, (_, i) => i));
  });

  it('writes every accepted line on process.exit in the same turn', async () => {
    const r = await runScript('process.exit(3);');
    expect(r.code).toBe(3);
    expect(written(r.stdout)).toEqual(Array.from({ length: LINES }, (_, i) => i));
  });
});
