import type { Context } from 'hono';
import type { FailureResponse } from '../core/failures.js';

/**
 * Failures answered to WebSocket upgrade requests under @hono/node-ws, by Node request.
 * @hono/node-ws writes a bare status line for them; `keywardUpgrades` (keyward/node) writes
 * this full response instead. Kept free of Node imports: keyward/hono runs everywhere.
 */
export const upgradeRefusals = new WeakMap<object, FailureResponse>();

/** Notes a refused upgrade request (one property read for every other request). */
export function noteUpgradeRefusal(c: Context, response: FailureResponse): void {
  const incoming = (c.env as { incoming?: { headers?: Record<string, unknown> } } | undefined)?.incoming;
  if (incoming?.headers?.upgrade !== undefined) upgradeRefusals.set(incoming, response);
}
