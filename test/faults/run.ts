/**
 * `npm run test:faults`: the whole fault matrix of the local rehearsal — every step × one node of every role
 * × every fault × each decision — with every invariant checked after each case. Prints a table (cases
 * tried, passed, invariants held) and writes test-output/fault-matrix.json (and, case by case as they end,
 * test-output/fault-matrix.partN.json.jsonl). Exit 1 if any case failed.
 *
 *   npm run test:faults                      # everything, 2 workers
 *   npm run test:faults -- --jobs 4          # more workers (each runs its own local DynamoDB)
 *   npm run test:faults -- --filter "dea-1 upgrade"
 *   npm run test:faults -- --filter "lambda-throws|event"   # cases whose id contains either
 *   npm run test:faults -- --match "^\S+ (backup|upgrade) "  # cases whose id matches the regular expression (and --filter)
 *   npm run test:faults -- --spread          # every role in turn: a run cut short has tried them all
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalDynamoDb } from '../../local/dynamodb/start.js';
import { faultCases, resultTable, runCase, type CaseResult } from './matrix.js';

// Retries keep their errors and attempts but wait 100 ms (as in npm test), unless the caller says otherwise.
process.env.FLEET_UPGRADE_RETRY_INTERVAL_MS ??= '100';
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const filter = flag('--filter');
const match = flag('--match');
const shard = flag('--shard');
const jobs = Math.max(1, Number(flag('--jobs') ?? 2));
const out = flag('--out') ?? join('test-output', 'fault-matrix.json');

const matching = faultCases()
  .filter((c) => filter === undefined || filter.split('|').some((part) => c.id.includes(part)))
  .filter((c) => match === undefined || new RegExp(match).test(c.id));
/**
 * `--spread`: round-robin over the nodes (one per role), so a run cut short has tried every role and
 * fault kind alike instead of the first roles completely.
 */
function spread<T extends { node: string }>(list: T[]): T[] {
  const byNode = new Map<string, T[]>();
  for (const c of list) byNode.set(c.node, [...(byNode.get(c.node) ?? []), c]);
  const queues = [...byNode.values()];
  const out: T[] = [];
  for (let i = 0; out.length < list.length; i++) for (const q of queues) if (i < q.length) out.push(q[i] as T);
  return out;
}
const cases = args.includes('--spread') ? spread(matching) : matching;

async function runShard(index: number, count: number): Promise<CaseResult[]> {
  const mine = cases.filter((_, i) => i % count === index);
  const dynamodb = await startLocalDynamoDb();
  const results: CaseResult[] = [];
  try {
    for (const [n, c] of mine.entries()) {
      const r = await runCase(c, dynamodb);
      results.push(r);
      // One line per case as it ends: a run cut short (the matrix takes hours) keeps what it learned.
      await appendFile(`${out}.jsonl`, `${JSON.stringify(r)}\n`);
      process.stdout.write(
        `[${index + 1}/${count}] ${n + 1}/${mine.length} ` +
          `${r.passed ? 'ok  ' : 'FAIL'} ` +
          `${c.id} → ${r.status}${r.passed ? '' : ` (expected ${r.expectedStatus}) ${[...r.violations, r.error ?? ''].join('; ')}`} ${Math.round(r.durationMs / 100) / 10} s\n`,
      );
    }
  } finally {
    await dynamodb.stop();
  }
  return results;
}

if (shard !== undefined) {
  const [i, n] = shard.split('/').map(Number) as [number, number];
  const results = await runShard(i - 1, n);
  await writeFile(out, JSON.stringify(results));
} else {
  await mkdir('test-output', { recursive: true });
  process.stdout.write(`fault matrix: ${cases.length} cases on ${jobs} workers\n`);
  const started = Date.now();
  const parts = await Promise.all(
    Array.from({ length: jobs }, (_, k) => {
      const file = join('test-output', `fault-matrix.part${k + 1}.json`);
      const cmd = [
        process.argv[1] as string,
        '--shard',
        `${k + 1}/${jobs}`,
        '--out',
        file,
        ...(filter ? ['--filter', filter] : []),
        ...(match ? ['--match', match] : []),
        ...(args.includes('--spread') ? ['--spread'] : []),
      ];
      return new Promise<CaseResult[]>((resolve, reject) => {
        const child = spawn(process.execPath, [...process.execArgv, ...cmd], { stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('exit', (code) => {
          if (code !== 0) return reject(new Error(`worker ${k + 1} exited ${String(code)}`));
          readFile(file, 'utf8').then((text) => resolve(JSON.parse(text) as CaseResult[]), reject);
        });
      });
    }),
  );
  const results = parts.flat();
  await writeFile(
    out,
    `${JSON.stringify({ finishedAt: new Date().toISOString(), durationMs: Date.now() - started, cases: results.length, passed: results.filter((r) => r.passed).length, results }, null, 2)}\n`,
  );
  process.stdout.write(`\n${resultTable(results)}\n\n${Math.round((Date.now() - started) / 1000)} s; details in ${out}\n`);
  for (const r of results.filter((x) => !x.passed))
    process.stdout.write(`FAILED ${r.id}: ${r.status} (expected ${r.expectedStatus}) ${[...r.violations, r.error ?? ''].join('; ')}\n`);
  process.exitCode = results.every((r) => r.passed) ? 0 : 1;
}
