import { afterEach, beforeEach, describe, expect, it, vi, afterAll } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  ConfirmSubscriptionCommand,
  GetSubscriptionAttributesCommand,
  InvalidParameterException,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { main } from '../../cli/main.js';

// Response shapes as SNS returns them (https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html,
// API_ListSubscriptionsByTopic.html, API_GetSubscriptionAttributes.html): a pending subscription is listed with
// SubscriptionArn "PendingConfirmation"; only the attributes say whether the confirmation was authenticated.
const ACCOUNT = '123456789012';
const TOPIC = `arn:aws:sns:eu-west-1:${ACCOUNT}:FleetUpgradeStack-OperatorTopic0A1B2C3D-x1Y2z3`;
const TOKEN = `2336412f37fb687f5d51e6e2425c464de${'0123456789abcdef'.repeat(14)}c1a2b3d`;
const LINK = `https://sns.eu-west-1.amazonaws.com/confirmation.html?TopicArn=${encodeURIComponent(TOPIC)}&Token=${TOKEN}&Endpoint=ops%40example.com`;
const OPS = `${TOPIC}:6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b`;
const ONCALL = `${TOPIC}:0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d`;
const metadata = { httpStatusCode: 200, requestId: 'b7f0c1a2-0000-5000-8000-000000000000', attempts: 1, totalRetryDelay: 0 };

const sns = mockClient(SNSClient);
const cfn = mockClient(CloudFormationClient);
// Mocks patch the client classes for the whole process: undone for the files that run after this one.
afterAll(() => {
  sns.restore();
  cfn.restore();
});
let out = '';
let err = '';

function attributes(arn: string, endpoint: string, authenticated: boolean) {
  return {
    $metadata: metadata,
    Attributes: {
      Owner: ACCOUNT,
      RawMessageDelivery: 'false',
      TopicArn: TOPIC,
      Endpoint: endpoint,
      Protocol: 'email',
      PendingConfirmation: 'false',
      ConfirmationWasAuthenticated: String(authenticated),
      SubscriptionArn: arn,
      SubscriptionPrincipal: `arn:aws:iam::${ACCOUNT}:role/Operators`,
    },
  };
}

beforeEach(() => {
  sns.reset();
  cfn.reset();
  out = '';
  err = '';
  process.exitCode = undefined;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  cfn.on(DescribeStacksCommand).resolves({
    $metadata: metadata,
    Stacks: [
      {
        StackName: 'FleetUpgradeStack',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date('2026-11-01T09:00:00Z'),
        Outputs: [
          { OutputKey: 'TopicArn', OutputValue: TOPIC },
          { OutputKey: 'TableName', OutputValue: 'FleetUpgradeStack-Table' },
        ],
      },
    ],
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('fleet-upgrade confirm-subscription', () => {
  it('confirms with AuthenticateOnUnsubscribe "true" in the topic\'s region and says unsubscribing now needs AWS credentials', async () => {
    sns.on(ConfirmSubscriptionCommand).resolves({ $metadata: metadata, SubscriptionArn: OPS });
    expect(await main(['confirm-subscription', '--link', LINK, '--region', 'us-east-1']), err).toBe(0);
    const calls = sns.commandCalls(ConfirmSubscriptionCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([{ TopicArn: TOPIC, Token: TOKEN, AuthenticateOnUnsubscribe: 'true' }]);
    expect(await calls[0]?.thisValue.config.region()).toBe('eu-west-1');
    expect(out).toContain(`Confirmed for ops@example.com: ${OPS}`);
    expect(out).toContain('Unsubscribing now needs AWS credentials');
    expect(out).toContain(`aws sns unsubscribe --region eu-west-1 --subscription-arn ${OPS}`);
  });

  it('takes --topic-arn and --token, and prints JSON', async () => {
    sns.on(ConfirmSubscriptionCommand).resolves({ $metadata: metadata, SubscriptionArn: OPS });
    expect(await main(['confirm-subscription', '--topic-arn', TOPIC, '--token', TOKEN, '--json'])).toBe(0);
    expect(JSON.parse(out)).toEqual({ subscriptionArn: OPS, topicArn: TOPIC, authenticateOnUnsubscribe: true });
  });

  it('exits 2 naming the field of a bad link, calling nothing', async () => {
    expect(await main(['confirm-subscription', '--link', LINK.replace('sns.eu-west-1.amazonaws.com', 'sns.eu-west-1.amazonaws.co')])).toBe(2);
    expect(err).toMatch(/--link: host: expected sns\.<region>\.amazonaws\.com/);
    expect(await main(['confirm-subscription', '--link', LINK, '--token', TOKEN])).toBe(2);
    expect(await main(['confirm-subscription'])).toBe(2);
    expect(sns.calls()).toHaveLength(0);
  });

  it('exits 1 with what to do when SNS refuses the token', async () => {
    sns
      .on(ConfirmSubscriptionCommand)
      .rejects(new InvalidParameterException({ $metadata: { ...metadata, httpStatusCode: 400 }, message: 'Invalid parameter: Token' }));
    expect(await main(['confirm-subscription', '--link', LINK])).toBe(1);
    expect(err).toContain('InvalidParameterException: Invalid parameter: Token');
    expect(err).toContain('valid for three days');
    expect(err).not.toContain(TOKEN);
  });
});

describe('fleet-upgrade subscriptions', () => {
  it("lists the stack topic's subscriptions, pending and confirmed by a click, and exits 1", async () => {
    sns.on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC, NextToken: undefined }).resolves({
      $metadata: metadata,
      Subscriptions: [{ SubscriptionArn: OPS, Owner: ACCOUNT, Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: TOPIC }],
      NextToken: 'AAEBAf/8v+7MSvN8MkD9xZHCrFKL6RQ7UHJ9PJhWOH5Yqvf1H8EXAMPLE',
    });
    sns.on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC, NextToken: 'AAEBAf/8v+7MSvN8MkD9xZHCrFKL6RQ7UHJ9PJhWOH5Yqvf1H8EXAMPLE' }).resolves({
      $metadata: metadata,
      Subscriptions: [
        { SubscriptionArn: ONCALL, Owner: ACCOUNT, Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: TOPIC },
        { SubscriptionArn: 'PendingConfirmation', Owner: ACCOUNT, Protocol: 'email', Endpoint: 'lead@example.com', TopicArn: TOPIC },
      ],
    });
    sns.on(GetSubscriptionAttributesCommand, { SubscriptionArn: OPS }).resolves(attributes(OPS, 'ops@example.com', true));
    sns.on(GetSubscriptionAttributesCommand, { SubscriptionArn: ONCALL }).resolves(attributes(ONCALL, 'oncall@example.com', false));
    expect(await main(['subscriptions', '--json'])).toBe(1);
    expect(JSON.parse(out)).toEqual({
      topicArn: TOPIC,
      subscriptions: [
        { endpoint: 'ops@example.com', protocol: 'email', subscriptionArn: OPS, state: 'confirmed-authenticated' },
        { endpoint: 'oncall@example.com', protocol: 'email', subscriptionArn: ONCALL, state: 'confirmed-unauthenticated' },
        { endpoint: 'lead@example.com', protocol: 'email', subscriptionArn: 'PendingConfirmation', state: 'pending' },
      ],
    });
    expect(sns.commandCalls(GetSubscriptionAttributesCommand)).toHaveLength(2);
  });

  it('exits 0 when every subscription was confirmed with authenticated unsubscribe, and says how to fix the others', async () => {
    sns.on(ListSubscriptionsByTopicCommand).resolves({
      $metadata: metadata,
      Subscriptions: [{ SubscriptionArn: OPS, Owner: ACCOUNT, Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: TOPIC }],
    });
    sns.on(GetSubscriptionAttributesCommand).resolves(attributes(OPS, 'ops@example.com', true));
    expect(await main(['subscriptions'])).toBe(0);
    expect(out).toMatch(/ops@example\.com\s+email\s+confirmed-authenticated/);

    sns.on(ListSubscriptionsByTopicCommand).resolves({
      $metadata: metadata,
      Subscriptions: [{ SubscriptionArn: 'PendingConfirmation', Owner: ACCOUNT, Protocol: 'email', Endpoint: 'lead@example.com', TopicArn: TOPIC }],
    });
    out = '';
    expect(await main(['subscriptions'])).toBe(1);
    expect(out).toContain('pending: not confirmed');
    expect(out).toContain('fleet-upgrade confirm-subscription --link');
  });

  it('says so and exits 1 when nobody is subscribed', async () => {
    sns.on(ListSubscriptionsByTopicCommand).resolves({ $metadata: metadata, Subscriptions: [] });
    expect(await main(['subscriptions'])).toBe(1);
    expect(out).toContain('approval emails reach nobody');
  });

  it('exits 2 on a --topic-arn that is not an SNS topic ARN', async () => {
    expect(await main(['subscriptions', '--topic-arn', 'arn:aws:sqs:eu-west-1:123456789012:q'])).toBe(2);
    expect(err).toContain('--topic-arn: expected an SNS topic ARN');
  });
});
