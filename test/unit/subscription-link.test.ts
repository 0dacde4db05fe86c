import { describe, expect, it } from 'vitest';
import { InputValidationError } from '../../core/errors.js';
import { confirmationFromFlags, confirmationFromLink, subscriptionState } from '../../core/subscription-link.js';

// The link SNS's "AWS Notification - Subscription Confirmation" email carries (the token is 256 hex digits there).
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:FleetUpgradeStack-OperatorTopic0A1B2C3D-x1Y2z3';
const TOKEN = `2336412f37fb687f5d51e6e2425c464de${'0123456789abcdef'.repeat(14)}c1a2b3d`;
const LINK = `https://sns.eu-west-1.amazonaws.com/confirmation.html?TopicArn=${encodeURIComponent(TOPIC)}&Token=${TOKEN}&Endpoint=ops%40example.com`;

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof InputValidationError) return error.field;
    throw error;
  }
  throw new Error('expected an InputValidationError');
}

describe('the confirmation link (https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html)', () => {
  it("reads topic, token, region and address from the email's Confirm subscription link", () => {
    expect(confirmationFromLink(LINK)).toEqual({ topicArn: TOPIC, token: TOKEN, region: 'eu-west-1', endpoint: 'ops@example.com' });
  });

  it('reads the HTTP form with Action=ConfirmSubscription, and a link pasted with spaces around it', () => {
    const link = `  https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${TOKEN}\n`;
    expect(confirmationFromLink(link)).toEqual({ topicArn: TOPIC, token: TOKEN, region: 'eu-west-1' });
  });

  it('names the part of a look-alike or damaged link that is wrong', () => {
    expect(fieldOf(() => confirmationFromLink('not a url'))).toBe('--link');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('https:', 'http:')))).toBe('--link.scheme');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('sns.eu-west-1.amazonaws.com', 'sns.eu-west-1.amazonaws.com.evil.example')))).toBe('--link.host');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('sns.eu-west-1.amazonaws.com', 'sns.eu-west-1.amazonaws.com:8443')))).toBe('--link.host');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('https://', 'https://user@')))).toBe('--link.host');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('/confirmation.html', '/unsubscribe.html')))).toBe('--link.path');
    expect(fieldOf(() => confirmationFromLink(`${LINK}&Action=Unsubscribe`))).toBe('--link.Action');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('/confirmation.html', '/')))).toBe('--link.Action');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('arn%3Aaws%3Asns%3Aeu-west-1', 'arn%3Aaws%3Asqs%3Aeu-west-1')))).toBe('--link.TopicArn');
    expect(fieldOf(() => confirmationFromLink(LINK.replace('arn%3Aaws%3Asns%3Aeu-west-1', 'arn%3Aaws%3Asns%3Aus-east-1')))).toBe('--link.TopicArn');
    expect(fieldOf(() => confirmationFromLink(LINK.replace(`Token=${TOKEN}`, 'Token=zz')))).toBe('--link.Token');
    expect(fieldOf(() => confirmationFromLink(LINK.replace(`&Token=${TOKEN}`, '')))).toBe('--link.Token');
    expect(fieldOf(() => confirmationFromLink(`${LINK}&Token=${TOKEN}`))).toBe('--link.Token');
    expect(fieldOf(() => confirmationFromLink(LINK.replace(/&/g, '&amp;')))).toBe('--link.amp;Token');
  });

  it('never repeats the token in its messages', () => {
    let message = '';
    try {
      confirmationFromLink(LINK.replace(`Token=${TOKEN}`, `Token=${TOKEN}g`));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('not all hex digits');
    expect(message).not.toContain(TOKEN);
  });

  it('takes --topic-arn and --token given directly, in any partition, and names a wrong one', () => {
    expect(confirmationFromFlags(TOPIC, TOKEN)).toEqual({ topicArn: TOPIC, token: TOKEN, region: 'eu-west-1' });
    expect(confirmationFromFlags('arn:aws-us-gov:sns:us-gov-west-1:123456789012:ops.fifo', TOKEN).region).toBe('us-gov-west-1');
    expect(fieldOf(() => confirmationFromFlags('FleetUpgradeStack-OperatorTopic', TOKEN))).toBe('--topic-arn');
    expect(fieldOf(() => confirmationFromFlags(TOPIC, 'abc'))).toBe('--token');
  });
});

describe('subscriptionState', () => {
  it('tells pending, confirmed by a click and confirmed with authenticated unsubscribe apart', () => {
    expect(subscriptionState('PendingConfirmation', undefined)).toBe('pending');
    expect(subscriptionState(`${TOPIC}:0f9a`, 'false')).toBe('confirmed-unauthenticated');
    expect(subscriptionState(`${TOPIC}:0f9a`, undefined)).toBe('confirmed-unauthenticated');
    expect(subscriptionState(`${TOPIC}:0f9a`, 'true')).toBe('confirmed-authenticated');
  });
});
