/**
 * keyward for WebSocket upgrades on node:http (e.g. with the `ws` package): the same
 * schemes and guards, checked in the server's `upgrade` event before anything is upgraded.
 * Re-exported by `keyward/node`.
 * @module
 */
export { keywardUpgrades } from './hono.js';
export { guardUpgrade, refuseUpgrade, type UpgradeHandler } from './upgrade.js';
