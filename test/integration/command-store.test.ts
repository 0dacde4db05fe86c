import { describe, expect, it } from 'vitest';
import { DynamoDBCommandStore, type CommandStore, type PendingCommand } from '../../adapters/command-store.js';
import { onContractTable } from '../support/contract-table.js';

// The CommandStore port's contract, run against its DynamoDB adapter on the engine under test.
let commands: CommandStore;
onContractTable('command', (table) => {
  commands = new DynamoDBCommandStore(table);
});

const now = new Date('2026-11-30T01:00:00.000Z');
const command = (commandId: string): PendingCommand => ({
  commandId,
  taskToken: `token-of-${commandId}`,
  runId: 'r',
  cluster: 'c',
  nodeId: 'dea-1',
  step: 'upgrade',
  targetVersion: '3.1.0',
  sentAt: now.toISOString(),
  ttl: 1_900_000_000,
});

describe('a command waiting for its completion (COMMAND#id / COMMAND)', () => {
  it('is registered PENDING, and claimed once: the claim gets the command, a second says who has it', async () => {
    await commands.putCommand(command('cmd-claim'));
    expect(await commands.getCommand('cmd-claim')).toMatchObject({ ...command('cmd-claim'), state: 'PENDING' });
    expect(await commands.tryClaimCommand('cmd-claim', now)).toEqual({
      outcome: 'claimed',
      command: expect.objectContaining({ commandId: 'cmd-claim', state: 'ANSWERING', claimedAt: now.toISOString() }),
    });
    expect(await commands.tryClaimCommand('cmd-claim', now)).toEqual({ outcome: 'taken', state: 'ANSWERING' });
    expect(await commands.claimCommand('cmd-claim', now)).toBeNull();
  });

  it('a claim of a command not recorded (yet) says it is missing, and writes nothing', async () => {
    expect(await commands.tryClaimCommand('cmd-unknown', now)).toEqual({ outcome: 'missing' });
    expect(await commands.getCommand('cmd-unknown')).toBeNull();
  });

  it('of many claims at once exactly one wins', async () => {
    await commands.putCommand(command('cmd-race'));
    const claims = await Promise.all(Array.from({ length: 8 }, () => commands.claimCommand('cmd-race', now)));
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
  });

  it('a claim whose answer failed goes back to PENDING and can be claimed again; an answered one cannot', async () => {
    await commands.putCommand(command('cmd-settle'));
    await commands.claimCommand('cmd-settle', now);
    await commands.settleCommand('cmd-settle', 'PENDING', now);
    expect(await commands.claimCommand('cmd-settle', now)).toMatchObject({ state: 'ANSWERING' });
    await commands.settleCommand('cmd-settle', 'ANSWERED', now);
    expect(await commands.tryClaimCommand('cmd-settle', now)).toEqual({ outcome: 'taken', state: 'ANSWERED' });
  });

  it('a retried step re-points a PENDING command at its own token, which the claim then answers; once claimed, it cannot', async () => {
    await commands.putCommand(command('cmd-repoint'));
    expect(await commands.repointCommand('cmd-repoint', 'token-of-the-retry')).toBe(true);
    expect((await commands.claimCommand('cmd-repoint', now))?.taskToken).toBe('token-of-the-retry');
    expect(await commands.repointCommand('cmd-repoint', 'token-too-late')).toBe(false);
    expect(await commands.repointCommand('cmd-unknown', 'token')).toBe(false);
  });
});
