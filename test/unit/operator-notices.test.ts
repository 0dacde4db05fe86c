import { describe, expect, it } from 'vitest';
import { failureBudgetSpentEmail, maintenanceStillOnEmail, rollbackFailedEmail } from '../../core/operator-notices.js';
import { UNTRUSTED_BEGIN, UNTRUSTED_END } from '../../core/untrusted-text.js';

const run = { runId: 'r1', cluster: 'c' };

describe('what the operators are told when nobody is asked', () => {
  it('a failed rollback: the node needs attention, with what the state machine caught fenced', () => {
    const email = rollbackFailedEmail(run, 'dea-1', { Error: 'StepFailed', Cause: 'see https://evil.example.com' });
    expect(email.subject).toBe('fleet-upgrade: ROLLBACK FAILED on dea-1 (c)');
    expect(email.message).toContain('The node is marked NEEDS_ATTENTION');
    expect(email.message).toContain(`${UNTRUSTED_BEGIN}\n  StepFailed: see hxxps://evil.example.com\n${UNTRUSTED_END}`);
  });

  it('maintenance mode still on: switch it off by hand, with the exit code and the output as the node wrote it, fenced', () => {
    const email = maintenanceStillOnEmail(run, 'core-1', { exitCode: 2, outputTail: 'kato: timeout' });
    expect(email.subject).toBe('fleet-upgrade: MAINTENANCE MODE STILL ON in c (core-1)');
    expect(email.message).toContain('Exit code: 2\n');
    expect(email.message).toContain(`${UNTRUSTED_BEGIN}\n  kato: timeout\n${UNTRUSTED_END}`);
    expect(maintenanceStillOnEmail(run, 'core-1', null).message).toContain('Exit code: none\n');
    expect(maintenanceStillOnEmail(run, 'core-1', null).message).toContain('  no output recorded');
  });

  it('a spent failure budget: which step failed where, and how to carry on', () => {
    const email = failureBudgetSpentEmail(run, 'dea-3', 'restart', 2);
    expect(email.subject).toBe('fleet-upgrade: FAILURE BUDGET SPENT on dea-3 (c)');
    expect(email.message.split('\n')[0]).toBe(
      'restart failed on node dea-3 in cluster c (run r1) after the failure budget of 2 was spent (onFailure rollback-and-continue).',
    );
    expect(email.message).toContain('fleet-upgrade start ... --resume-from r1');
  });
});
