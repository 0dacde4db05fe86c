/**
 * `npm run bench`: cost, overhead, window and scale, measured on this machine and written to
 * bench/results.json. Not part of `npm test`. `-- --quick` scales the timed runbook down 4× and
 * skips the 1,000- and 5,000-node runs (for a fast look; the README's numbers come from a full run);
 * `-- --large` runs only the 5,000-node no-op rehearsal (`--large=N`: N nodes) and updates its part of bench/results.json;
 * `-- --capacity-only` prints only the nodes-per-execution computation;
 * `-- --overhead-only=10,100` runs only (c) for those node counts and updates their numbers in bench/results.json
 * (`-- --in-flight=1` or `=10` runs only that half: one step at a time, or 10 DEAs in flight).
 */
import { mkdirSync, rmSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLocalDynamoDb } from '../local/dynamodb/start.js';
import { capacity } from './capacity.js';
import { synth } from './synth.js';
import { large, overhead, perNode, requestLatency, say, window, type Bench } from './scenarios.js';
import { writeFullRun, writeLargeOnly, writeOverheadOnly } from './results.js';

const quick = process.argv.includes('--quick');
const largeArg = process.argv.find((a) => a === '--large' || a.startsWith('--large='));
const largeOnly = largeArg !== undefined;
/** Nodes of the large no-op rehearsal: one execution must handle at least 5,000. */
const LARGE_NODES = largeArg?.startsWith('--large=') ? Number(largeArg.slice('--large='.length)) : 5000;
if (!Number.isInteger(LARGE_NODES) || LARGE_NODES < 2) throw new Error('--large=N takes a whole number of nodes, at least 2');
const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, '.tmp', 'bench');

async function main() {
  mkdirSync(WORK, { recursive: true });
  const dynamodb = await startLocalDynamoDb();
  try {
    const cap = capacity();
    say(`capacity: ${JSON.stringify(cap)}`);
    if (process.argv.includes('--capacity-only')) return;
    const file = join(ROOT, 'bench', 'results.json');
    const bench: Bench = { root: ROOT, work: WORK, dynamodb };
    const only = process.argv.find((a) => a.startsWith('--overhead-only='));
    if (only) {
      const request = await requestLatency(dynamodb);
      say(`one DynamoDB request: ${JSON.stringify(request)}`);
      const counts = only.slice('--overhead-only='.length).split(',').filter(Boolean).map(Number);
      const inFlight = process.argv
        .find((a) => a.startsWith('--in-flight='))
        ?.slice('--in-flight='.length)
        .split(',')
        .map(Number);
      if (inFlight?.some((n) => n !== 1 && n !== 10)) throw new Error('--in-flight takes 1, 10 or 1,10');
      writeOverheadOnly(file, await overhead(bench, counts, inFlight), request);
      return;
    }
    if (largeOnly) {
      writeLargeOnly(file, await large(bench, LARGE_NODES), cap);
      return;
    }
    const perNodeResult = await perNode(bench);
    const request = await requestLatency(dynamodb);
    const overheadResult = await overhead(bench, quick ? [10, 100] : [10, 100, 1000]);
    const windowResult = await window(bench, quick);
    const synthResult = await synth(ROOT, WORK);
    const largeResult = quick ? undefined : await large(bench, LARGE_NODES);
    writeFullRun(file, {
      quick,
      perNode: perNodeResult,
      request,
      overhead: overheadResult,
      window: windowResult,
      synth: synthResult,
      large: largeResult,
      capacity: cap,
    });
  } finally {
    await dynamodb.stop();
    if (existsSync(WORK)) rmSync(join(WORK, 'cdk.out'), { recursive: true, force: true });
  }
}

await main();
