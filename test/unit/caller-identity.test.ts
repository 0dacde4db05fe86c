import { hostname, userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { callerIdentity } from '../../cli/approvals.js';

describe('callerIdentity (who decides from the CLI)', () => {
  it("records the caller's AWS identity ARN when STS answers", async () => {
    const sts = new STSClient({ region: 'us-east-1' });
    mockClient(sts)
      .on(GetCallerIdentityCommand)
      .resolves({ Arn: 'arn:aws:sts::123456789012:assumed-role/Operators/alice', Account: '123456789012', UserId: 'AROA:alice' });
    expect(await callerIdentity(sts)).toBe('arn:aws:sts::123456789012:assumed-role/Operators/alice (fleet-upgrade decide)');
  });

  it('falls back to the OS user on this host when STS cannot be asked', async () => {
    const sts = new STSClient({ region: 'us-east-1' });
    mockClient(sts)
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    expect(await callerIdentity(sts)).toBe(`${userInfo().username}@${hostname()} (fleet-upgrade decide, no AWS identity)`);
  });

  it('does not ask STS for a local endpoint (null): the OS user on this host', async () => {
    expect(await callerIdentity(null)).toBe(`${userInfo().username}@${hostname()} (fleet-upgrade decide, no AWS identity)`);
  });
});
