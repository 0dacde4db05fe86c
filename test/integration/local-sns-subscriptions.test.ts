import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GetSubscriptionAttributesCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { main } from '../../cli/main.js';
import { startLocalSns, type LocalSns } from '../../local/sns-endpoint.js';

// The local topic answers the subscription calls with the real SDK, so the CLI runs unchanged against `local serve`.
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:FleetUpgradeStack-OperatorTopic';
let sns: LocalSns;
let out = '';
let err = '';

beforeAll(async () => {
  sns = await startLocalSns(() => undefined, { topicArn: TOPIC, emails: ['ops@example.com', 'oncall@example.com'], owner: '123456789012' });
});
afterAll(() => sns.close());

beforeEach(() => {
  out = '';
  err = '';
  process.exitCode = undefined;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const cli = (...args: string[]) => main(['--endpoint', sns.endpoint, ...args]);

describe("the local topic's subscriptions (local/sns-endpoint.ts)", () => {
  it('lists both addresses pending, confirms one with authenticated unsubscribe, and lists it so', async () => {
    expect(await cli('subscriptions', '--topic-arn', TOPIC, '--json')).toBe(1);
    expect((JSON.parse(out) as { subscriptions: { state: string }[] }).subscriptions.map((s) => s.state)).toEqual(['pending', 'pending']);

    const ops = sns.subscriptions.all.find((s) => s.endpoint === 'ops@example.com');
    out = '';
    expect(await cli('confirm-subscription', '--topic-arn', TOPIC, '--token', ops?.token ?? '', '--json'), err).toBe(0);
    const confirmed = JSON.parse(out) as { subscriptionArn: string };
    expect(confirmed.subscriptionArn).toMatch(new RegExp(`^${TOPIC}:[0-9a-f-]{36}$`));

    const attributes = await new SNSClient({
      endpoint: sns.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }).send(new GetSubscriptionAttributesCommand({ SubscriptionArn: confirmed.subscriptionArn }));
    expect(attributes.Attributes).toMatchObject({
      ConfirmationWasAuthenticated: 'true',
      PendingConfirmation: 'false',
      Endpoint: 'ops@example.com',
      Protocol: 'email',
    });

    out = '';
    expect(await cli('subscriptions', '--topic-arn', TOPIC)).toBe(1);
    expect(out).toMatch(/ops@example\.com\s+email\s+confirmed-authenticated/);
    expect(out).toMatch(/oncall@example\.com\s+email\s+pending/);
  });

  it('refuses a token it did not send, as SNS does (exit 1, nothing confirmed)', async () => {
    expect(await cli('confirm-subscription', '--topic-arn', TOPIC, '--token', 'ab'.repeat(64))).toBe(1);
    expect(err).toContain('InvalidParameterException');
    expect(sns.subscriptions.all.find((s) => s.endpoint === 'oncall@example.com')?.subscriptionArn).toBe('PendingConfirmation');
  });

  it('still takes Publish beside them, as the handlers send it', async () => {
    const client = new SNSClient({ endpoint: sns.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const out = await client.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Subject: 'fleet-upgrade: dea-1 failed',
        Message: 'evidence & "quotes"',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'approval' } },
      }),
    );
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sns.published.at(-1)).toEqual({
      topicArn: TOPIC,
      subject: 'fleet-upgrade: dea-1 failed',
      message: 'evidence & "quotes"',
      attributes: { kind: 'approval' },
    });
  });
});
