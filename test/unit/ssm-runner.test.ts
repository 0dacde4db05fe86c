import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListCommandsCommand, SSMClient, type Command } from '@aws-sdk/client-ssm';
import { SsmCommandRunner, commandComment } from '../../adapters/ssm.js';

const ssm = mockClient(SSMClient);
const runner = new SsmCommandRunner(new SSMClient({ region: 'eu-west-1' }), 'fleet-upgrade-runbook');

/** Shaped like real ListCommands entries (the fields we read, and a few we do not). */
const command = (id: string, comment: string): Command => ({
  CommandId: id,
  DocumentName: 'fleet-upgrade-runbook',
  Comment: comment,
  InstanceIds: ['i-0abc'],
  RequestedDateTime: new Date('2026-11-24T10:00:00Z'),
  Status: 'Success',
});

describe('finding the command a crashed attempt sent', () => {
  beforeEach(() => ssm.reset());

  it('reads every page (an empty token ends the list) and keeps only this run\'s step', async () => {
    ssm.on(ListCommandsCommand)
      .resolvesOnce({ Commands: [command('c-other-step', commandComment('run-1', 'backup')), command('c-other-run', commandComment('run-2', 'upgrade'))], NextToken: 'page-2' })
      .resolvesOnce({ Commands: [command('c-mine', commandComment('run-1', 'upgrade'))], NextToken: '' });
    await expect(runner.findSent('i-0abc', 'run-1', 'upgrade', new Date('2026-11-24T10:00:00Z'))).resolves.toEqual(['c-mine']);
    const calls = ssm.commandCalls(ListCommandsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input).toEqual({
      InstanceId: 'i-0abc',
      Filters: [{ key: 'InvokedAfter', value: '2026-11-24T09:59:55Z' }, { key: 'DocumentName', value: 'fleet-upgrade-runbook' }],
      NextToken: undefined,
    });
    expect(calls[1]?.args[0].input.NextToken).toBe('page-2');
  });

  it('names steps and runs apart within SSM\'s 100 characters, even for the longest run ids', () => {
    const long = `r${'x'.repeat(78)}1`;
    const comments = ['maintenance-on', 'maintenance-off', 'post-upgrade-validation', 'pre-upgrade-validation']
      .flatMap((step) => [commandComment(long, step), commandComment(`${long.slice(0, -1)}2`, step)]);
    expect(new Set(comments).size).toBe(comments.length);
    for (const c of comments) expect(c.length).toBeLessThanOrEqual(100);
    expect(commandComment('run-1', 'upgrade')).toBe('fleet-upgrade upgrade run-1');
  });
});
