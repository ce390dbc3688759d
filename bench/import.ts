// Standalone: `node --import tsx bench/import.ts [count]` (default 1,000,000).
// Writes `count` legacy keys to a temporary file and times `keyward keys import` on it
// (the CLI code path, in-process), then checks a few keys verify. Not part of the tests.

import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyManager, runCli } from '@keyward/server';

const count = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-import-'));
const file = join(dir, 'keys.txt');
const db = join(dir, 'keys.db');
const pepper = 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const keyOf = (i: number) => `legacy_${String(i).padStart(12, '0')}_bench_key`;

try {
  const out = createWriteStream(file);
  for (let i = 0; i < count; i++) {
    const line =
      i % 10 === 0 ? `{"key":"${keyOf(i)}","name":"json-${i}","owner":"o${i % 100}"}\n` : `${keyOf(i)}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');

  const started = process.hrtime.bigint();
  const code = await runCli(['keys', 'import', file, '--db', db], {
    stdout: process.stdout,
    stderr: process.stderr,
    env: { KEYWARD_PEPPER: pepper },
    stdin: process.stdin,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`import exited with ${code}`);

  const m = await openKeyManager({ database: db, pepper, pollIntervalMs: 0 });
  for (const i of [0, 1, Math.floor(count / 2), count - 1]) {
    const check = await m.check(keyOf(i), { dryRun: true });
    if (check.outcome !== 'valid') throw new Error(`key ${i} does not verify: ${check.outcome}`);
  }
  await m.close();
  const mb = (statSync(db).size / 1e6).toFixed(0);
  console.log(
    `imported ${count.toLocaleString('en-US')} keys in ${seconds.toFixed(1)} s = ${Math.round(count / seconds).toLocaleString('en-US')} keys/s (database ${mb} MB, incl. one audit entry per key)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
