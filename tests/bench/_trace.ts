import { BenchWorld } from './world.js';
import { generated, distinct, multipartBody, MULTIPART_TYPE } from './corpus.js';
import { runLoad } from './load.js';
const w = new BenchWorld();
await w.open(); await w.startOptimizer({LOG_LEVEL:'warn'}); const api = await w.startApi();
const img = await generated(4);
import { execSync } from 'node:child_process';
setTimeout(() => console.log(execSync('top -b -n 1 -d 1 | head -25').toString()), 3000);
const r = await runLoad({ url: `${api.url}/upload`, connections: 4, amount: 24, headers: { 'content-type': MULTIPART_TYPE }, body: () => multipartBody(distinct(img.data)) });
console.log(r.perSecond, r.statuses);
console.log((await (await fetch(`${w.env.OPTIMIZER_URL}/metrics`)).text()).split('\n').filter(l=>/optimize_duration_seconds_(sum|count)|http_request_duration_seconds_(sum|count).*optimize/.test(l)).join('\n'));
const d = await runLoad({ url: `${w.env.OPTIMIZER_URL}/optimize`, connections: 4, amount: 24, headers: { 'content-type': MULTIPART_TYPE }, body: () => multipartBody(distinct(img.data)) });console.log('direct', d.perSecond);
console.log((await (await fetch(`${w.env.OPTIMIZER_URL}/metrics`)).text()).split('\n').filter(l=>/optimize_duration_seconds_(sum|count)|http_request_duration_seconds_(sum|count).*optimize/.test(l)).join('\n'));
const lines = api.child.output.join('').split('\n').filter(l => l.startsWith('TRACE'));
const steps: Record<string, number[]> = {}; let prev = 0;
for (const l of lines) { const [, k, v] = l.split(' '); const t = Number(v); if (k === 'admit') prev = 0; (steps[k!] ??= []).push(t - prev); prev = t; }
for (const [k, v] of Object.entries(steps)) console.log(k, (v.reduce((a, b) => a + b, 0) / v.length).toFixed(1));
await w.close(); process.exit(0);
