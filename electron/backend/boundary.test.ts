// The engine boundary holds: the lint rules refuse an engine import, a child process or a pty
// in the Docker API, the app's host and Electron main, and nothing there reads cgroup files.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '../..');

it('lint refuses engine modules, child processes and ptys outside the engine', async () => {
  const eslint = new ESLint({ cwd: root });
  const cases: [string, string, boolean][] = [
    ['electron/api/x.ts', "import { ContainerService } from '../engine/containers/containerService.ts';\nexport const x = ContainerService;\n", false],
    ['electron/host/x.ts', "import { spawn } from 'node:child_process';\nexport const x = spawn;\n", false],
    ['electron/host/x.ts', "import pty from 'node-pty';\nexport const x = pty;\n", false],
    ['electron/main/x.ts', "import { Engine } from '../engine/engine.ts';\nexport const x = Engine;\n", false],
    ['electron/main/x.ts', "import { createEngine } from '../engine/index.ts';\nexport const x = createEngine;\n", true],
    ['electron/api/x.ts', "import type { Backend } from '../backend/backend.ts';\nexport type X = Backend;\n", true],
    ['electron/backend/x.ts', "import type { Engine } from '../engine/engine.ts';\nexport type X = Engine;\n", false],
  ];
  for (const [file, code, allowed] of cases) {
    const [r] = await eslint.lintText(code, { filePath: join(root, file) });
    const refused = r.messages.some((m) => m.ruleId === 'no-restricted-imports' && m.severity === 2);
    assert.equal(!refused, allowed, `${file}: ${code.split('\n')[0]} ${allowed ? 'is allowed' : 'is refused'} (${r.messages.map((m) => m.message).join('; ')})`);
  }
});

it('no file outside the engine reads cgroup files', () => {
  const files = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(`${dir}/${e.name}`) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [`${dir}/${e.name}`] : []));
  for (const f of ['electron/api', 'electron/host', 'electron/main', 'electron/backend'].flatMap(files)) {
    const text = readFileSync(join(root, f), 'utf8');
    assert.ok(!/\/sys\/fs\/cgroup|cgroup\.procs|memory\.current|memory\.usage_in_bytes|cpuacct\.usage|\/proc\/\$\{/.test(text), `${f} reads cgroup or /proc files of containers`);
  }
});

it('no code decides on an error\'s message text: errors carry codes', () => {
  const files = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? (['testing', 'node_modules'].includes(e.name) ? [] : files(`${dir}/${e.name}`)) : /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [`${dir}/${e.name}`] : []));
  const patterns = [
    /\.message\)?\.(includes|startsWith|endsWith|match|search|indexOf)\(/,
    /\.test\(\s*(\(\s*\w+(\s+as\s+\w+)?\s*\)|\w+)\.(message|msg)\b/,
    /\.(message|msg)\s*[!=]==/,
    /\/[gimsuy]*\.test\((error|err|reason|why|stderr)\)/,
  ];
  const found: string[] = [];
  for (const f of ['electron', 'common', 'renderer'].flatMap(files)) {
    readFileSync(join(root, f), 'utf8').split('\n').forEach((line, i) => {
      if (patterns.some((p) => p.test(line))) found.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});

it('modules import each other without a cycle', () => {
  const files = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? (e.name === 'testing' ? [] : files(`${dir}/${e.name}`)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [`${dir}/${e.name}`] : []));
  const graph = new Map<string, string[]>();
  for (const f of ['electron', 'common'].flatMap(files)) {
    const deps = [...readFileSync(join(root, f), 'utf8').matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)].map((m) => join(f, '..', m[1]));
    graph.set(f, deps);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

it('the app\'s components call store actions, never the bridge', () => {
  const files = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(`${dir}/${e.name}`) : /\.tsx?$/.test(e.name) ? [`${dir}/${e.name}`] : []));
  // The terminal sessions are a service built in main.tsx with the bridge, like the store.
  const offenders = ['renderer/features', 'renderer/components'].flatMap(files)
    .filter((f) => !f.endsWith('terminalSessions.ts') && /\bbridge\.(call|open|on)\(/.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(offenders, []);
});
