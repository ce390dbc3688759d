import { describe, expect, it } from 'vitest';
import { applyPatch, blankRecord, patchChanges } from './records.js';

describe('patchChanges', () => {
  it('sees restrictions read back with their kinds in another order as unchanged', () => {
    // PostgreSQL's jsonb hands object keys back in its own order (routes before ipAllow).
    const before = {
      ...blankRecord(0),
      restrictions: { routes: ['POST /jobs'], ipAllow: ['10.0.0.0/8'] },
    };
    const same = applyPatch(before, { restrictions: { routes: ['POST /jobs'] } });
    expect(patchChanges(before, same)).toEqual({});
    const changed = applyPatch(before, { restrictions: { routes: ['GET /jobs'] } });
    expect(patchChanges(before, changed)).toEqual({
      restrictions: {
        from: { ipAllow: ['10.0.0.0/8'], routes: ['POST /jobs'] },
        to: { ipAllow: ['10.0.0.0/8'], routes: ['GET /jobs'] },
      },
    });
  });
});
