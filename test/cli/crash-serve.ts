/**
 * `keyward serve` from the sources, made to crash with an uncaught exception in the very
 * turn in which its request log accepts line `CRASH_AT_LINE`: the line is then still
 * waiting in the LineWriter (lines are written once per event-loop turn), so only the
 * flush on exit can save it. Every accepted line is announced on stderr (`ACCEPTED n`,
 * written synchronously) so the test can compare what was accepted with what reached
 * stdout. Used by serve-log-durability.test.ts.
 */
import { writeSync } from 'node:fs';
import { LineWriter } from '../../packages/server/src/log/lines.js';

const crashAt = Number(process.env.CRASH_AT_LINE);
let accepted = 0;
const write = LineWriter.prototype.write;
LineWriter.prototype.write = function acceptThenMaybeCrash(this: LineWriter, line: string) {
  write.call(this, line);
  accepted++;
  writeSync(2, `ACCEPTED ${accepted}\n`);
  if (accepted === crashAt) {
    // After the current callback, before the turn ends: nobody catches it.
    queueMicrotask(() => {
      throw new Error('crash for the test');
    });
  }
};

await import('../../packages/server/src/cli/main.js');
