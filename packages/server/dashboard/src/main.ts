// The keyward dashboard: Preact components written with htm tagged templates (no JSX
// step), compiled into one file by esbuild at build time and served by the admin listener.
import { html, render } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import './app.css';
import { ApiError, type AuditEntry, api, type KeyRecord, loadSession, type Page, signOut } from './api.js';

type Load<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'done'; value: T };

const when = (text: string | null) => (text ? new Date(text).toLocaleString() : '—');
const errorText = (error: unknown) =>
  error instanceof ApiError ? error.message : 'Something went wrong; try again.';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/keys');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/keys');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Status(props: { load: Load<unknown>; retry: () => void; children?: unknown }) {
  const { load } = props;
  if (load.state === 'loading') return html`<p class="loading" role="status">Loading…</p>`;
  if (load.state === 'error') {
    return html`<div class="error" role="alert"><p>${load.message}</p><button type="button" onClick=${props.retry}>Retry</button></div>`;
  }
  return props.children;
}

/** A native modal dialog (focus kept inside, Escape closes), open while mounted. */
function Modal(props: { label: string; onClose: () => void; children: unknown }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    if (!dialog.open) dialog.showModal();
    const close = () => props.onClose();
    dialog.addEventListener('close', close);
    return () => dialog.removeEventListener('close', close);
  }, []);
  return html`<dialog ref=${ref} aria-label=${props.label} class="card">${props.children}</dialog>`;
}

/** A new key, shown this once, with a Copy button. */
function NewKey(props: { secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
    } catch {
      input.current?.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return html`<div class="new-key">
    <h2>Your new key</h2>
    <p><strong>This key is shown once:</strong> copy it now and keep it safe. It cannot be shown again; if it is lost, rotate the key.</p>
    <div class="row">
      <input ref=${input} readonly aria-label="New key" class="secret" value=${props.secret} onFocus=${(e: Event) => (e.target as HTMLInputElement).select()} />
      <button type="button" onClick=${copy}>Copy</button>
    </div>
    <p role="status" class="muted">${copied ? 'Copied to the clipboard.' : ''}</p>
    <div class="actions"><button type="button" class="secondary" onClick=${props.onDone}>Done</button></div>
  </div>`;
}

const EXPIRIES: [string, string][] = [
  ['', 'Never'],
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
  ['365d', '1 year'],
];

function CreateKey(props: { onClose: (created: boolean) => void }) {
  const [secret, setSecret] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const body: Record<string, unknown> = { name: text('name') };
    if (text('owner')) body.owner = text('owner');
    const scopes = text('scopes')
      .split(/[\s,]+/)
      .filter(Boolean);
    if (scopes.length > 0) body.scopes = scopes;
    if (text('expiresIn')) body.expiresIn = text('expiresIn');
    if (text('uses')) body.uses = Number(text('uses'));
    if (text('rateLimit')) body.rateLimit = text('rateLimit');
    setBusy(true);
    setError(undefined);
    try {
      const created = await api<KeyRecord & { key: string }>('POST', '/v1/keys', body);
      setSecret(created.key);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return html`<${Modal} label="Create key" onClose=${() => props.onClose(secret !== undefined)}>
    ${
      secret
        ? html`<${NewKey} secret=${secret} onDone=${() => props.onClose(true)} />`
        : html`<form onSubmit=${submit} class="form">
          <h2>Create key</h2>
          ${error && html`<p class="error" role="alert">${error}</p>`}
          <label for="c-name">Name</label><input id="c-name" name="name" required maxlength="200" />
          <label for="c-owner">Owner</label><input id="c-owner" name="owner" maxlength="200" />
          <label for="c-scopes">Scopes</label><input id="c-scopes" name="scopes" placeholder="read, write" />
          <label for="c-expiry">Expires</label>
          <select id="c-expiry" name="expiresIn">${EXPIRIES.map(([v, t]) => html`<option value=${v}>${t}</option>`)}</select>
          <label for="c-uses">Credits (uses)</label><input id="c-uses" name="uses" type="number" min="0" step="1" placeholder="unlimited" />
          <label for="c-rate">Rate limit</label><input id="c-rate" name="rateLimit" placeholder="100/1m" />
          <div class="actions">
            <button type="submit" disabled=${busy}>Create</button>
            <button type="button" class="secondary" onClick=${() => props.onClose(false)}>Cancel</button>
          </div>
        </form>`
    }
  <//>`;
}

/**
 * A filtered, cursor-paged list from the admin API: filters (text fields by query
 * parameter) typed in are applied after a short pause and start again from the first page.
 */
function usePaged<T>(path: string, limit: number, names: readonly string[]) {
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const [load, setLoad] = useState<Load<Page<T>>>({ state: 'loading' });
  const fetchPage = useCallback(async () => {
    setLoad({ state: 'loading' });
    const params = new URLSearchParams({ limit: String(limit) });
    for (const name of names) if (filters[name]?.trim()) params.set(name, filters[name].trim());
    const cursor = cursors[cursors.length - 1];
    if (cursor) params.set('cursor', cursor);
    try {
      setLoad({ state: 'done', value: await api<Page<T>>('GET', `${path}?${params}`) });
    } catch (e) {
      setLoad({ state: 'error', message: errorText(e) });
    }
  }, [filters, cursors]);
  useEffect(() => {
    const timer = setTimeout(fetchPage, 200);
    return () => clearTimeout(timer);
  }, [fetchPage]);
  const filtered = (name: string) => (e: Event) => {
    setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value });
    setCursors([]);
  };
  const page = load.state === 'done' ? load.value : undefined;
  const pager = (back: string, forward: string) => html`<nav class="pager" aria-label="Pages">
    <button type="button" class="secondary" disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>${back}</button>
    <button type="button" class="secondary" disabled=${!page?.nextCursor} onClick=${() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}>${forward}</button>
  </nav>`;
  return { filters, filtered, load, fetchPage, page, pager };
}

function KeysPage() {
  const [creating, setCreating] = useState(false);
  const { filters, filtered, load, fetchPage, page, pager } = usePaged<KeyRecord>('/v1/keys', 20, [
    'q',
    'owner',
    'status',
  ]);
  const { q = '', owner = '', status = '' } = filters;
  return html`<section>
    <div class="title-row"><h1>Keys</h1><button type="button" onClick=${() => setCreating(true)}>Create key</button></div>
    <form role="search" class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Search<input type="search" value=${q} onInput=${filtered('q')} placeholder="name, owner or key id" /></label>
      <label>Owner<input value=${owner} onInput=${filtered('owner')} /></label>
      <label>Status<select value=${status} onChange=${filtered('status')}>
        <option value="">Any</option><option value="active">Active</option><option value="disabled">Disabled</option>
        <option value="expired">Expired</option><option value="revoked">Revoked</option>
      </select></label>
    </form>
    <${Status} load=${load} retry=${fetchPage}>
      ${
        page && page.items.length === 0
          ? html`<p class="empty">${q || owner || status ? 'No key matches these filters.' : 'No keys yet: create the first one.'}</p>`
          : page &&
            html`<table>
            <caption class="sr-only">Keys</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Owner</th><th scope="col">Status</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col">Created</th></tr></thead>
            <tbody>${page.items.map(
              (k) => html`<tr key=${k.id}>
                <td data-label="Name"><a href=${`#/keys/${k.id}`}>${k.name}</a><div class="muted mono">${k.display}</div></td>
                <td data-label="Owner">${k.owner ?? '—'}</td>
                <td data-label="Status"><span class=${`badge ${k.status}`}>${k.status}</span></td>
                <td data-label="Scopes">${k.scopes.join(', ') || '—'}</td>
                <td data-label="Last used">${when(k.lastUsedAt)}</td>
                <td data-label="Created">${when(k.createdAt)}</td>
              </tr>`,
            )}</tbody>
          </table>`
      }
      ${pager('Previous page', 'Next page')}
    <//>
    ${
      creating &&
      html`<${CreateKey} onClose=${(created: boolean) => {
        setCreating(false);
        if (created) fetchPage();
      }} />`
    }
  </section>`;
}

type Action = 'revoke' | 'disable' | 'enable' | 'rotate';

const CONFIRM: Record<Action, [string, string]> = {
  revoke: ['Revoke this key?', 'It stops working at once, everywhere, for good.'],
  disable: ['Disable this key?', 'It stops working until it is enabled again.'],
  enable: ['Enable this key?', 'It works again (unless expired).'],
  rotate: ['Rotate this key?', 'A new key replaces it; the old one keeps working for the grace period.'],
};

function Confirm(props: {
  action: Action;
  onCancel: () => void;
  onConfirm: (grace?: string) => Promise<void>;
}) {
  const [grace, setGrace] = useState('24h');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [title, text] = CONFIRM[props.action];
  const go = async () => {
    setBusy(true);
    try {
      await props.onConfirm(props.action === 'rotate' ? grace : undefined);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return html`<${Modal} label=${title} onClose=${props.onCancel}>
    <h2>${title}</h2>
    <p>${text}</p>
    ${
      props.action === 'rotate' &&
      html`<label for="grace">Old key keeps working for</label>
      <select id="grace" value=${grace} onChange=${(e: Event) => setGrace((e.target as HTMLSelectElement).value)}>
        <option value="0">No time (revoke now)</option><option value="1h">1 hour</option><option value="24h">24 hours</option><option value="7d">7 days</option>
      </select>`
    }
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button type="button" class=${props.action === 'revoke' ? 'danger' : ''} disabled=${busy} onClick=${go}>Confirm</button>
      <button type="button" class="secondary" onClick=${props.onCancel}>Cancel</button>
    </div>
  <//>`;
}

function Timeline(props: { entries: AuditEntry[] }) {
  if (props.entries.length === 0) return html`<p class="empty">No audit entries.</p>`;
  return html`<ol class="timeline">${props.entries.map(
    (e) => html`<li key=${e.seq}>
      <time datetime=${e.at}>${when(e.at)}</time>
      <span class="badge">${e.action}</span>
      ${e.keyId && html`<a href=${`#/keys/${e.keyId}`} class="mono">${e.keyId}</a>`}
      <span class="muted">by <span class="mono">${e.actor}</span></span>
      ${Object.keys(e.changes).length > 0 && html`<details><summary>Changes</summary><pre>${JSON.stringify(e.changes, null, 2)}</pre></details>`}
    </li>`,
  )}</ol>`;
}

interface UsageReport {
  granularity: string;
  since: string;
  until: string;
  totals: Record<string, number>;
  buckets: ({ start: string } & Record<string, number>)[];
}

/** A key's outcomes, stacked in this order from the bottom, and their colours. */
const OUTCOMES: [string, string, string][] = [
  ['valid', 'Valid', '#2da44e'],
  ['expired', 'Expired', '#bf8700'],
  ['revoked', 'Revoked', '#cf222e'],
  ['disabled', 'Disabled', '#8c959f'],
  ['insufficient_scope', 'Insufficient scope', '#8250df'],
  ['rate_limited', 'Rate limited', '#fb8500'],
  ['usage_exceeded', 'Usage exceeded', '#0969da'],
  ['restricted', 'Restricted', '#57606a'],
];

const RANGES: [string, string][] = [
  ['24h', '24 hours'],
  ['7d', '7 days'],
  ['30d', '30 days'],
];

/** Outcomes stacked per period, as SVG drawn here (no chart library: a few rectangles). */
function UsageChart(props: { path: string }) {
  const [range, setRange] = useState('24h');
  const [load, setLoad] = useState<Load<UsageReport>>({ state: 'loading' });
  const fetchUsage = useCallback(async () => {
    setLoad({ state: 'loading' });
    try {
      const join = props.path.includes('?') ? '&' : '?';
      setLoad({ state: 'done', value: await api<UsageReport>('GET', `${props.path}${join}since=${range}`) });
    } catch (e) {
      setLoad({ state: 'error', message: errorText(e) });
    }
  }, [props.path, range]);
  useEffect(() => {
    fetchUsage();
  }, [fetchUsage]);
  const label = RANGES.find(([r]) => r === range)![1];
  const report = load.state === 'done' ? load.value : undefined;
  const W = 600;
  const H = 160;
  let chart: unknown = null;
  if (report) {
    const valid = report.totals.valid ?? 0;
    const refused = OUTCOMES.slice(1).reduce((n, [o]) => n + (report.totals[o] ?? 0), 0);
    const sums = report.buckets.map((b) => OUTCOMES.reduce((n, [o]) => n + (b[o] ?? 0), 0));
    const top = Math.max(1, ...sums);
    const w = W / Math.max(1, report.buckets.length);
    const bars = report.buckets.flatMap((b, i) => {
      let y = H;
      return OUTCOMES.filter(([o]) => (b[o] ?? 0) > 0).map(([o, , color]) => {
        const h = ((b[o] ?? 0) / top) * (H - 4);
        y -= h;
        return html`<rect x=${i * w + w * 0.1} y=${y} width=${w * 0.8} height=${h} fill=${color} />`;
      });
    });
    chart = html`<svg class="chart" role="img" aria-label=${`Usage over the last ${label}: ${valid} valid, ${refused} refused`} viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none">
        <line x1="0" y1=${H - 0.5} x2=${W} y2=${H - 0.5} stroke="#d1d9e0" />
        ${bars}
      </svg>
      <p class="muted">${when(report.since)} – ${when(report.until)}, per ${report.granularity}; highest: ${Math.max(0, ...sums)}</p>
      <ul class="legend">${OUTCOMES.filter(([o]) => o === 'valid' || (report.totals[o] ?? 0) > 0).map(
        ([o, name, color]) =>
          html`<li><span class="swatch" data-color=${color}><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill=${color} /></svg></span>${name}: ${report.totals[o] ?? 0}</li>`,
      )}</ul>`;
  }
  return html`<section class="card usage">
    <div class="title-row">
      <h2>Usage</h2>
      <div role="group" aria-label="Period" class="row">${RANGES.map(
        ([r, name]) =>
          html`<button type="button" class="secondary" aria-pressed=${r === range} onClick=${() => setRange(r)}>${name}</button>`,
      )}</div>
    </div>
    <${Status} load=${load} retry=${fetchUsage}>${chart}<//>
  </section>`;
}

function KeyPage(props: { id: string }) {
  const [load, setLoad] = useState<Load<{ key: KeyRecord; audit: AuditEntry[] }>>({ state: 'loading' });
  const [action, setAction] = useState<Action | undefined>();
  const [secret, setSecret] = useState<{ key: string; id: string } | undefined>();
  const fetchKey = useCallback(async () => {
    setLoad({ state: 'loading' });
    try {
      const [key, audit] = await Promise.all([
        api<KeyRecord>('GET', `/v1/keys/${encodeURIComponent(props.id)}`),
        api<Page<AuditEntry>>('GET', `/v1/audit?key=${encodeURIComponent(props.id)}&limit=50`),
      ]);
      setLoad({ state: 'done', value: { key, audit: audit.items } });
    } catch (e) {
      setLoad({ state: 'error', message: errorText(e) });
    }
  }, [props.id]);
  useEffect(() => {
    fetchKey();
  }, [fetchKey]);
  const act = async (grace?: string) => {
    const a = action!;
    const result = await api<KeyRecord & { key?: string }>(
      'POST',
      `/v1/keys/${props.id}/${a}`,
      a === 'rotate' ? { grace } : undefined,
    );
    setAction(undefined);
    if (a === 'rotate' && result.key) setSecret({ key: result.key, id: result.id });
    await fetchKey();
  };
  const k = load.state === 'done' ? load.value.key : undefined;
  return html`<section>
    <p><a href="#/keys">← Keys</a></p>
    <${Status} load=${load} retry=${fetchKey}>
      ${
        k &&
        html`<div class="title-row"><h1>${k.name}</h1><span class=${`badge ${k.status}`}>${k.status}</span></div>
        <div class="actions">
          ${!k.revokedAt && html`<button type="button" class="danger" onClick=${() => setAction('revoke')}>Revoke</button>`}
          ${!k.revokedAt && (k.enabled ? html`<button type="button" class="secondary" onClick=${() => setAction('disable')}>Disable</button>` : html`<button type="button" class="secondary" onClick=${() => setAction('enable')}>Enable</button>`)}
          ${!k.revokedAt && !k.replacedBy && html`<button type="button" class="secondary" onClick=${() => setAction('rotate')}>Rotate</button>`}
        </div>
        <dl class="details card">
          <dt>ID</dt><dd class="mono">${k.id}</dd>
          <dt>Key</dt><dd class="mono">${k.display}</dd>
          <dt>Owner</dt><dd>${k.owner ? html`<a href=${`#/owners/${encodeURIComponent(k.owner)}`}>${k.owner}</a>` : '—'}</dd>
          <dt>Scopes</dt><dd>${k.scopes.join(', ') || '—'}</dd>
          <dt>Created</dt><dd>${when(k.createdAt)}</dd>
          <dt>Expires</dt><dd>${when(k.expiresAt)}</dd>
          <dt>Last used</dt><dd>${when(k.lastUsedAt)}</dd>
          <dt>Uses</dt><dd>${k.useCount}</dd>
          <dt>Credits left</dt><dd>${k.remainingUses ?? 'unlimited'}</dd>
          <dt>Rate limit</dt><dd>${k.rateLimit ? `${k.rateLimit.limit} per ${k.rateLimit.windowSeconds} s` : '—'}</dd>
          ${k.replaces && html`<dt>Replaces</dt><dd><a class="mono" href=${`#/keys/${k.replaces}`}>${k.replaces}</a></dd>`}
          ${k.replacedBy && html`<dt>Replaced by</dt><dd><a class="mono" href=${`#/keys/${k.replacedBy}`}>${k.replacedBy}</a></dd>`}
        </dl>
        <${UsageChart} path=${`/v1/keys/${k.id}/usage`} />
        <h2>History</h2>
        <${Timeline} entries=${load.state === 'done' ? load.value.audit : []} />`
      }
    <//>
    ${action && html`<${Confirm} action=${action} onCancel=${() => setAction(undefined)} onConfirm=${act} />`}
    ${
      secret &&
      html`<${Modal} label="New key" onClose=${() => setSecret(undefined)}>
        <${NewKey} secret=${secret.key} onDone=${() => {
          const next = secret.id;
          setSecret(undefined);
          location.hash = `#/keys/${next}`;
        }} />
      <//>`
    }
  </section>`;
}

function AuditPage() {
  const { filters, filtered, load, fetchPage, page, pager } = usePaged<AuditEntry>('/v1/audit', 50, [
    'key',
    'owner',
    'since',
  ]);
  const { key = '', owner = '', since = '' } = filters;
  return html`<section>
    <h1>Audit</h1>
    <form role="search" class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Key id<input value=${key} onInput=${filtered('key')} placeholder="key_…" /></label>
      <label>Owner<input value=${owner} onInput=${filtered('owner')} /></label>
      <label>Since<input type="date" value=${since} onInput=${filtered('since')} /></label>
    </form>
    <${Status} load=${load} retry=${fetchPage}>
      ${page && html`<${Timeline} entries=${page.items} />`}
      ${pager('Newer', 'Older')}
    <//>
  </section>`;
}

interface Owner {
  name: string;
  rateLimit: { limit: number; windowSeconds: number } | null;
  credits: number | null;
  refill: { amount: number; period: string } | null;
  metadata: Record<string, unknown>;
  maxLifetimeMs: number | null;
  createdAt: string;
}

const rate = (r: { limit: number; windowSeconds: number } | null) =>
  r ? `${r.limit} per ${r.windowSeconds} s` : '—';

function OwnersPage() {
  const { load, fetchPage, page, pager } = usePaged<Owner>('/v1/owners', 20, []);
  return html`<section>
    <h1>Owners</h1>
    <${Status} load=${load} retry=${fetchPage}>
      ${
        page && page.items.length === 0
          ? html`<p class="empty">No owners yet (keyward owners create, or POST /v1/owners).</p>`
          : page &&
            html`<table>
            <caption class="sr-only">Owners</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Credits</th><th scope="col">Refill</th><th scope="col">Rate limit</th><th scope="col">Created</th></tr></thead>
            <tbody>${page.items.map(
              (o) => html`<tr key=${o.name}>
                <td data-label="Name"><a href=${`#/owners/${encodeURIComponent(o.name)}`}>${o.name}</a></td>
                <td data-label="Credits">${o.credits ?? 'unlimited'}</td>
                <td data-label="Refill">${o.refill ? `${o.refill.amount} per ${o.refill.period}` : '—'}</td>
                <td data-label="Rate limit">${rate(o.rateLimit)}</td>
                <td data-label="Created">${when(o.createdAt)}</td>
              </tr>`,
            )}</tbody>
          </table>`
      }
      ${pager('Previous page', 'Next page')}
    <//>
  </section>`;
}

function OwnerPage(props: { name: string }) {
  const [load, setLoad] = useState<Load<{ owner: Owner; keys: Page<KeyRecord> }>>({ state: 'loading' });
  const fetchOwner = useCallback(async () => {
    setLoad({ state: 'loading' });
    try {
      const name = encodeURIComponent(props.name);
      const [owner, keys] = await Promise.all([
        api<Owner>('GET', `/v1/owners/${name}`),
        api<Page<KeyRecord>>('GET', `/v1/keys?owner=${name}&limit=50`),
      ]);
      setLoad({ state: 'done', value: { owner, keys } });
    } catch (e) {
      setLoad({ state: 'error', message: errorText(e) });
    }
  }, [props.name]);
  useEffect(() => {
    fetchOwner();
  }, [fetchOwner]);
  const v = load.state === 'done' ? load.value : undefined;
  return html`<section>
    <p><a href="#/owners">← Owners</a></p>
    <${Status} load=${load} retry=${fetchOwner}>
      ${
        v &&
        html`<h1>${v.owner.name}</h1>
        <dl class="details card">
          <dt>Credits</dt><dd>${v.owner.credits ?? 'unlimited'}</dd>
          <dt>Refill</dt><dd>${v.owner.refill ? `${v.owner.refill.amount} per ${v.owner.refill.period}` : '—'}</dd>
          <dt>Shared rate limit</dt><dd>${rate(v.owner.rateLimit)}</dd>
          <dt>Created</dt><dd>${when(v.owner.createdAt)}</dd>
        </dl>
        <${UsageChart} path=${`/v1/usage?owner=${encodeURIComponent(v.owner.name)}`} />
        <h2>Keys</h2>
        ${
          v.keys.items.length === 0
            ? html`<p class="empty">This owner has no keys.</p>`
            : html`<ul class="timeline">${v.keys.items.map(
                (k) =>
                  html`<li key=${k.id}><a href=${`#/keys/${k.id}`}>${k.name}</a><span class=${`badge ${k.status}`}>${k.status}</span><span class="muted mono">${k.display}</span></li>`,
              )}</ul>`
        }`
      }
    <//>
  </section>`;
}

/** A hash segment decoded; a malformed escape is kept as typed. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function App() {
  const hash = useHash();
  const [ready, setReady] = useState<Load<true>>({ state: 'loading' });
  const start = useCallback(async () => {
    try {
      if (await loadSession()) setReady({ state: 'done', value: true });
    } catch (e) {
      setReady({ state: 'error', message: errorText(e) });
    }
  }, []);
  useEffect(() => {
    start();
  }, [start]);
  const keyMatch = /^#\/keys\/(key_[A-Za-z0-9]+)$/.exec(hash);
  const ownerMatch = /^#\/owners\/(.+)$/.exec(hash);
  const section = hash.startsWith('#/owners') ? 'owners' : hash === '#/audit' ? 'audit' : 'keys';
  let view: unknown;
  if (keyMatch) view = html`<${KeyPage} id=${keyMatch[1]} />`;
  else if (ownerMatch) view = html`<${OwnerPage} name=${decoded(ownerMatch[1]!)} />`;
  else if (section === 'owners') view = html`<${OwnersPage} />`;
  else if (section === 'audit') view = html`<${AuditPage} />`;
  else view = html`<${KeysPage} />`;
  const current = (name: string) => (name === section ? 'page' : undefined);
  return html`<header class="top">
      <strong class="brand">keyward</strong>
      <nav aria-label="Main"><a href="#/keys" aria-current=${current('keys')}>Keys</a><a href="#/owners" aria-current=${current('owners')}>Owners</a><a href="#/audit" aria-current=${current('audit')}>Audit</a></nav>
      <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
    </header>
    <main><${Status} load=${ready} retry=${start}>${ready.state === 'done' && view}<//></main>`;
}

// The page's "Loading…" placeholder goes: render() adds to a container, it does not replace.
const container = document.getElementById('app')!;
container.replaceChildren();
render(html`<${App} />`, container);
