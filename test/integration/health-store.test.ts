import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTable } from '../support/dynamodb.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { HealthStore } from '../../adapters/health-store.js';
import { Table } from '../../adapters/table.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { healthQuestionOpen, type DescribedAlarms } from '../../core/health.js';
import { FleetStore } from '../../adapters/store.js';
import type { RunContext } from '../../core/run-context.js';
import { HealthGateKeeper } from '../../lambdas/record-node/health-gate.js';

let dynamodb: LocalDynamoDb;
let health: HealthStore;
beforeAll(async () => {
  dynamodb = await localTable();
  health = new HealthStore(new Table(documentClient(), 'fleet-upgrade-test'));
});
afterAll(async () => {
  await dynamodb?.stop();
});

const alarm = [{ name: 'api-5xx', reason: 'Threshold Crossed' }];
const at = '2026-11-30T01:00:00.000Z';

describe('the health gate record (RUN#id / HEALTH)', () => {
  it("lets exactly one of many nodes ask; the asker's own retry asks again", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `dea-${i + 1}`);
    const won = await Promise.all(ids.map((id) => health.claimAsk('h-one', id, alarm, ['dea-1'], at)));
    expect(won.filter(Boolean)).toHaveLength(1);
    const asker = ids[won.indexOf(true)] as string;
    expect(await health.claimAsk('h-one', asker, alarm, ['dea-1'], at)).toBe(true);
    expect(await health.get('h-one')).toMatchObject({ askedBy: asker, alarms: alarm, changedSince: ['dea-1'], acknowledged: [] });
  });

  it('decides once; continue acknowledges the alarms and lets a new question be asked; abort never', async () => {
    await health.claimAsk('h-decide', 'dea-1', alarm, [], at);
    expect(await health.decide('h-decide', 'continue', 'alice', at, false)).toBe(true);
    expect(await health.decide('h-decide', 'abort', 'bob', at, false)).toBe(false);
    expect(await health.get('h-decide')).toMatchObject({ decision: 'continue', decidedBy: 'alice', acknowledged: ['api-5xx'] });
    expect(await health.claimAsk('h-decide', 'dea-2', [{ name: 'latency', reason: 'r' }], ['dea-1'], at)).toBe(true);
    expect(healthQuestionOpen(await health.get('h-decide'))).toBe(true);
    expect(await health.decide('h-decide', 'abort', 'bob', at, true)).toBe(true);
    expect(await health.claimAsk('h-decide', 'dea-3', alarm, [], at)).toBe(false);
  });

  it('closes an open question as abort when the run ends, and leaves a decided one alone', async () => {
    await health.claimAsk('h-close', 'dea-1', alarm, [], at);
    expect(await health.close('h-close', 'the run ended', at)).toBe(true);
    expect(await health.get('h-close')).toMatchObject({ decision: 'abort', decidedBy: 'the run ended' });
    expect(await health.close('h-close', 'the run ended', at)).toBe(false);
    expect(await health.close('h-none', 'the run ended', at)).toBe(false);
  });

  it('remembers when the gate last passed', async () => {
    await health.passed('h-pass', at);
    expect(await health.get('h-pass')).toMatchObject({ lastPassAt: at, alarms: [], acknowledged: [] });
    expect(healthQuestionOpen(await health.get('h-pass'))).toBe(false);
  });
});

describe('the health gate (record-node) on the record, with alarms read from a stand-in', () => {
  const run = (runId: string, healthAlarms: string[]) => ({ runId, healthAlarms, bakeSeconds: 0 }) as unknown as RunContext;
  const reader = (state: Record<string, string>) => ({
    describe: async (names: readonly string[]): Promise<DescribedAlarms> => ({
      metric: names.filter((n) => n in state).map((name) => ({ name, state: state[name] as string, reason: `${name} says so` })),
      composite: [],
    }),
  });
  const now = () => new Date().toISOString();

  it('one node asks, the next is held; after continue the same alarm lets nodes go; a new alarm asks again', async () => {
    const store = new FleetStore(documentClient(), 'fleet-upgrade-test');
    const alarms = { 'api-5xx': 'ALARM', latency: 'OK' };
    const gate = new HealthGateKeeper(store, health, reader(alarms), run('g-run', ['api-5xx', 'latency']));
    expect(await gate.check('dea-1', now)).toEqual({ go: false, askHealth: true, alarms: ['api-5xx'] });
    expect(await gate.check('dea-2', now)).toEqual({ kind: 'held', waitingFor: ['dea-1'] });
    expect(await gate.decided('continue', 'alice', false, now)).toMatchObject({ decision: 'continue', alarms: ['api-5xx'] });
    expect(await gate.check('dea-2', now)).toEqual({ kind: 'go' });
    alarms.latency = 'ALARM';
    expect(await gate.check('dea-3', now)).toEqual({ go: false, askHealth: true, alarms: ['latency'] });
    expect(await gate.decided('nonsense', 'bob', false, now)).toMatchObject({ decision: 'abort' });
    expect(await gate.check('dea-4', now)).toEqual({ kind: 'stop' });
  });

  it('an alarm CloudWatch does not know stops the gate (a typo cannot pass silently)', async () => {
    const gate = new HealthGateKeeper(new FleetStore(documentClient(), 'fleet-upgrade-test'), health, reader({ 'api-5xx': 'OK' }), run('g-typo', ['api-5xxx']));
    expect(await gate.check('dea-1', now)).toEqual({ go: false, askHealth: true, alarms: ['api-5xxx'] });
    expect((await health.get('g-typo'))?.alarms[0]?.reason).toContain('no such alarm');
  });
});
