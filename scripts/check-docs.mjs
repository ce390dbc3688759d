// Checks that the documentation works as written, against the BUILT packages (run
// `npm run build` first; `npm ci` does it):
//
// 1. Every ```ts / ```typescript block of README.md and docs/**/*.md is a module on its
//    own and type-checks as a user's code would: the package names resolve through
//    node_modules to dist/*.d.ts (no `@keyward/source` condition), with NodeNext
//    resolution, `strict` and Node's types. All blocks are checked in one program, except
//    blocks that augment a module (`declare module`/`declare global`), which each get
//    their own so that one block's augmentation cannot make another pass.
//    A block that cannot stand alone is skipped only when the line before it says so:
//    `<!-- check-docs: skip (why) -->`.
// 2. The quick start of README.md (the ```sh block after `<!-- check-docs: quick-start -->`)
//    says `npm ci && npm start` and `npm test`; the shell block after
//    `<!-- check-docs: try-it -->` is run line by line against `npm start`, started as
//    the README says from the repository root, on a database in a temporary directory.
//    `<key>` is the key the server printed, `http://127.0.0.1:8000` its address; a line's
//    trailing `# 200 {...}` is the status (and JSON body) its curl must get.
// 3. Every relative link of README.md, ARCHITECTURE.md, CONTRIBUTING.md and docs/ names a
//    file that exists, and its `#anchor` a heading of that file (GitHub's slugs).
// 4. The CLI session of docs/reference/cli.md (the ```sh block after
//    `<!-- check-docs: cli -->`) runs line by line in one bash, in an empty temporary
//    directory, with `npx keyward` being the built command (packages/server/bin); each
//    line's trailing `# exit N` is the exit code it must give.
//
// Usage: node scripts/check-docs.mjs [--types] [--links] [--quick-start] [--cli] (default: all four)
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const all = !['--types', '--links', '--quick-start', '--cli'].some((a) => args.has(a));
const runTypes = all || args.has('--types');
const runLinks = all || args.has('--links');
const runQuickStart = all || args.has('--quick-start');
const runCliSession = all || args.has('--cli');

const DIRECTIVE = /^<!--\s*check-docs:\s*([a-z-]+)(?:\s+[^>]*)?-->\s*$/;
const FENCE_OPEN = /^(\s*)```([A-Za-z]*)\s*$/;

/** README.md and every Markdown file under docs/, relative to the root. */
function markdownFiles() {
  const files = ['README.md'];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

/**
 * The fenced blocks of a Markdown file: language, text (indentation of the fence removed),
 * the line of its first content line (1-based), and the directive on the line before.
 */
function fencedBlocks(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) body.push(lines[j++].slice(indent));
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code block is never closed`);
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const directive = k >= 0 ? DIRECTIVE.exec(lines[k].trim())?.[1] : undefined;
    blocks.push({ file, lang: open[2].toLowerCase(), text: body.join('\n'), line: i + 2, indent, directive });
    i = j;
  }
  return blocks;
}

function checkTypes(blocks) {
  const started = performance.now();
  if (!existsSync(join(root, 'packages/keyward/dist/index.d.ts'))) {
    throw new Error('packages/*/dist is missing: run `npm run build` first');
  }
  const snippets = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
  const dir = mkdtempSync(join(tmpdir(), 'keyward-docs-'));
  try {
    // Resolved from here the packages are what a user gets: node_modules, then each
    // package's exports without the `@keyward/source` condition.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const where = new Map();
    const shared = [];
    const alone = [];
    let skipped = 0;
    for (const block of snippets) {
      if (block.directive === 'skip') {
        skipped++;
        continue;
      }
      const name = `${block.file.replace(/[^A-Za-z0-9]+/g, '_')}_${block.line}.ts`;
      const path = join(dir, name);
      // `export {}` makes every block a module: names never clash between blocks.
      writeFileSync(path, `${block.text}\nexport {};\n`);
      where.set(path, block);
      (/^\s*declare\s+(module|global)\b/m.test(block.text) ? alone : shared).push(path);
    }
    const options = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    };
    const diagnostics = [];
    const leaks = new Set();
    for (const roots of [shared, ...alone.map((p) => [p])]) {
      if (roots.length === 0) continue;
      const program = ts.createProgram(roots, options);
      diagnostics.push(...ts.getPreEmitDiagnostics(program));
      // A package name that resolved to TypeScript sources would check nothing users get.
      for (const source of program.getSourceFiles()) {
        const real = source.fileName;
        if (/\/packages\/[^/]+\/src\//.test(real)) leaks.add(relative(root, real));
      }
    }
    const problems = diagnostics.map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file) return `error TS${d.code}: ${text}`;
      const block = where.get(resolve(d.file.fileName));
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      if (!block) return `${d.file.fileName}:${line + 1}:${character + 1} error TS${d.code}: ${text}`;
      return `${block.file}:${block.line + line}:${block.indent + character + 1} error TS${d.code}: ${text}`;
    });
    for (const leak of leaks) problems.push(`resolved to package sources instead of dist: ${leak}`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (problems.length > 0) {
      console.error(problems.join('\n'));
      console.error(`FAIL TypeScript blocks: ${problems.length} problem(s) (${seconds} s)`);
      return false;
    }
    const note = skipped > 0 ? `, ${skipped} skipped by a check-docs: skip comment` : '';
    console.log(
      `ok   ${where.size} TypeScript blocks type-check against the built packages${note} (${seconds} s)`,
    );
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (outside code blocks), duplicates numbered. */
function anchors(file) {
  const seen = new Map();
  const found = new Set();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

function checkLinks(files) {
  const problems = [];
  for (const file of files) {
    let fenced = false;
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*```/.test(line)) fenced = !fenced;
        if (fenced) return;
        // Inline code is not a link.
        const text = line.replace(/`[^`]*`/g, '');
        for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
          const [path, anchor] = target.split('#');
          const resolved = path === '' ? join(root, file) : resolve(dirname(join(root, file)), path);
          const where = `${file}:${i + 1}: ${target}`;
          if (!existsSync(resolved)) problems.push(`${where}: no such file`);
          else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
            problems.push(`${where}: no heading #${anchor}`);
          }
        }
      });
  }
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    console.error(`FAIL links: ${problems.length} broken`);
    return false;
  }
  console.log(`ok   links of ${files.length} Markdown files point at files and headings that exist`);
  return true;
}

/** The block after a `<!-- check-docs: NAME -->` comment in README.md. */
function markedBlock(blocks, name) {
  const found = blocks.filter((b) => b.file === 'README.md' && b.directive === name);
  if (found.length !== 1) throw new Error(`README.md: expected one block after <!-- check-docs: ${name} -->`);
  return found[0];
}

/** Starts `npm start` as the README says; resolves with the address and the key it printed. */
function startDemo(env) {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env,
    detached: true, // its own process group: npm, the shell and node stop together
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const ready = new Promise((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no key within 30 s:\n${stderr}`)),
      30_000,
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      const key = /^\s+(kw_[0-9A-Za-z]{38})\s*$/m.exec(stderr)?.[1];
      if (url && key) {
        clearTimeout(timer);
        resolvePromise({ url, key });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before printing a key:\n${stderr}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    const signal = (name) => {
      try {
        process.kill(-child.pid, name);
      } catch {
        // The group is gone already.
      }
    };
    signal('SIGTERM'); // serve closes its store and exits 0
    const timer = setTimeout(() => signal('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { ready, stop };
}

async function checkQuickStart(blocks) {
  const started = performance.now();
  const quick = markedBlock(blocks, 'quick-start').text.split('\n');
  const commands = quick.map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
  if (commands.join('\n') !== 'npm ci && npm start\nnpm test') {
    throw new Error(
      `README.md:${markedBlock(blocks, 'quick-start').line}: the quick start must be \`npm ci && npm start\` and \`npm test\`, got:\n${commands.join('\n')}`,
    );
  }
  const tryIt = markedBlock(blocks, 'try-it');
  const dir = mkdtempSync(join(tmpdir(), 'keyward-quick-start-'));
  const leftover = join(root, 'keyward.db');
  const hadLeftover = existsSync(leftover);
  const env = { ...process.env, PORT: '0', KEYWARD_DATABASE_URL: join(dir, 'keyward.db') };
  for (const name of ['KEYWARD_API_KEYS', 'KEYWARD_PEPPER', 'KEYWARD_REDIS_URL', 'HOST']) delete env[name];
  const demo = startDemo(env);
  try {
    const { url, key } = await demo.ready;
    // One shell runs every line, so variables set by one line reach the next.
    const out = join(dir, 'out');
    mkdirSync(out);
    const script = ['set -eu'];
    const expected = [];
    tryIt.text.split('\n').forEach((raw, i) => {
      const [, command, comment] = /^(.*?)(?:\s+#\s*(.*))?$/.exec(raw.trim());
      if (command === '') return;
      const line = command.replaceAll('<key>', key).replaceAll('http://127.0.0.1:8000', url);
      if (!line.startsWith('curl ')) {
        script.push(line);
        return;
      }
      const status = /^(\d{3})\b\s*(.*)$/.exec(comment ?? '');
      if (!status)
        throw new Error(`README.md:${tryIt.line + i}: a curl line needs its expected status as "# 200"`);
      const body = status[2].startsWith('{') ? JSON.parse(status[2]) : undefined;
      expected.push({ n: expected.length, at: tryIt.line + i, raw: raw.trim(), status: status[1], body });
      script.push(
        `${line} -sS -o '${out}/${expected.length - 1}.body' -w '%{http_code}' > '${out}/${expected.length - 1}.status'`,
      );
    });
    const run = spawnSync('bash', ['-c', script.join('\n')], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.status !== 0) throw new Error(`the try-it lines failed (exit ${run.status}):\n${run.stderr}`);
    const problems = [];
    for (const e of expected) {
      const status = readFileSync(join(out, `${e.n}.status`), 'utf8');
      const text = readFileSync(join(out, `${e.n}.body`), 'utf8');
      let same = status === e.status;
      if (same && e.body !== undefined) {
        try {
          same = JSON.stringify(JSON.parse(text)) === JSON.stringify(e.body);
        } catch {
          same = false;
        }
      }
      if (!same) problems.push(`README.md:${e.at}: ${e.raw}\n  got ${status} ${text}`);
    }
    if (!hadLeftover && existsSync(leftover))
      problems.push('npm start left keyward.db in the repository root');
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (problems.length > 0) {
      console.error(problems.join('\n'));
      console.error(
        `FAIL quick start: ${problems.length} line(s) did not answer as documented (${seconds} s)`,
      );
      return false;
    }
    console.log(
      `ok   quick start: npm start and ${expected.length} curl lines answer as documented (${seconds} s)`,
    );
    return true;
  } finally {
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the CLI session of docs/reference/cli.md; every line must give its `# exit N`. */
function checkCliSession(blocks) {
  const started = performance.now();
  const found = blocks.filter((b) => b.file === 'docs/reference/cli.md' && b.directive === 'cli');
  if (found.length !== 1)
    throw new Error('docs/reference/cli.md: expected one block after <!-- check-docs: cli -->');
  const block = found[0];
  const bin = join(root, 'packages/server/bin/keyward.js');
  if (!existsSync(join(root, 'packages/server/dist/cli/main.js'))) {
    throw new Error('packages/server/dist is missing: run `npm run build` first');
  }
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-docs-'));
  try {
    const codes = join(dir, '.codes');
    // `npx keyward` is the command built from this checkout, whatever the directory.
    const script = [
      `npx() { if [ "$1" = keyward ]; then shift; node ${JSON.stringify(bin)} "$@"; else command npx "$@"; fi; }`,
    ];
    const expected = [];
    block.text.split('\n').forEach((raw, i) => {
      const [, command, comment] = /^(.*?)(?:\s+#\s*(.*))?$/.exec(raw.trim());
      if (command === '') return;
      const exit = /^exit (\d+)\b/.exec(comment ?? '');
      if (!exit)
        throw new Error(`docs/reference/cli.md:${block.line + i}: a line needs its exit code as "# exit 0"`);
      expected.push({ at: block.line + i, raw: raw.trim(), code: Number(exit[1]) });
      script.push(command, `echo $? >> ${JSON.stringify(codes)}`);
    });
    const env = { ...process.env, NO_COLOR: '1' };
    for (const name of Object.keys(env)) if (name.startsWith('KEYWARD_')) delete env[name];
    const run = spawnSync('bash', ['-c', script.join('\n')], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const got = existsSync(codes) ? readFileSync(codes, 'utf8').trim().split('\n').map(Number) : [];
    const problems = expected
      .map((e, i) =>
        got[i] === e.code
          ? undefined
          : `docs/reference/cli.md:${e.at}: ${e.raw}\n  exit ${got[i] ?? 'none'}, expected ${e.code}`,
      )
      .filter(Boolean);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (problems.length > 0 || run.error) {
      console.error(problems.join('\n'));
      if (run.error) console.error(String(run.error));
      console.error(run.stderr);
      console.error(`FAIL CLI session: ${problems.length} line(s) did not exit as documented (${seconds} s)`);
      return false;
    }
    console.log(
      `ok   CLI session: ${expected.length} lines of docs/reference/cli.md exit as documented (${seconds} s)`,
    );
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const files = markdownFiles();
const blocks = files.flatMap(fencedBlocks);
let ok = true;
try {
  if (runLinks) ok = checkLinks([...files, 'ARCHITECTURE.md', 'CONTRIBUTING.md']) && ok;
  if (runTypes) ok = checkTypes(blocks) && ok;
  if (runQuickStart) ok = (await checkQuickStart(blocks)) && ok;
  if (runCliSession) ok = checkCliSession(blocks) && ok;
} catch (error) {
  console.error(`FAIL ${error.message}`);
  ok = false;
}
process.exit(ok ? 0 : 1);
