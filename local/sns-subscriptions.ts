import { randomBytes, randomUUID } from 'node:crypto';

/** A local email subscription: pending until ConfirmSubscription, as in SNS. */
export interface LocalSubscription {
  topicArn: string;
  protocol: string;
  endpoint: string;
  /** The confirmation token SNS would have put in the email's link. */
  token: string;
  /** `PendingConfirmation` until confirmed, then `<topic ARN>:<uuid>`. */
  subscriptionArn: string;
  confirmationWasAuthenticated: boolean;
}

/** An SNS Query-protocol answer: HTTP status and XML body. */
export interface QueryAnswer {
  status: number;
  xml: string;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

export function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function ok(action: string, result: string): QueryAnswer {
  return {
    status: 200,
    xml: `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** An error as SNS sends it (the SDK maps Code to InvalidParameterException, NotFoundException, …). */
export function queryError(status: number, code: string, message: string): QueryAnswer {
  return {
    status,
    xml: `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

const field = (name: string, value: string) => `<${name}>${xmlEscape(value)}</${name}>`;

/**
 * The subscriptions of the local topic, answering ConfirmSubscription, ListSubscriptionsByTopic and
 * GetSubscriptionAttributes as SNS does, so `fleet-upgrade confirm-subscription` and `subscriptions` run
 * against `local serve`. Signatures are not checked locally: `AuthenticateOnUnsubscribe` is recorded as sent.
 */
export class LocalSubscriptions {
  readonly all: LocalSubscription[];

  constructor(
    private readonly topicArn: string | undefined,
    emails: readonly string[],
    private readonly owner: string,
  ) {
    this.all =
      topicArn === undefined
        ? []
        : emails.map((endpoint) => ({
            topicArn,
            protocol: 'email',
            endpoint,
            token: randomBytes(128).toString('hex'),
            subscriptionArn: 'PendingConfirmation',
            confirmationWasAuthenticated: false,
          }));
  }

  /** The action's answer, or undefined when it is not one of these. */
  answer(form: URLSearchParams): QueryAnswer | undefined {
    switch (form.get('Action')) {
      case 'ConfirmSubscription':
        return this.confirm(form.get('TopicArn') ?? '', form.get('Token') ?? '', form.get('AuthenticateOnUnsubscribe') === 'true');
      case 'ListSubscriptionsByTopic':
        return this.list(form.get('TopicArn') ?? '');
      case 'GetSubscriptionAttributes':
        return this.attributes(form.get('SubscriptionArn') ?? '');
      default:
        return undefined;
    }
  }

  private confirm(topicArn: string, token: string, authenticated: boolean): QueryAnswer {
    if (topicArn !== this.topicArn) return queryError(404, 'NotFound', 'Topic does not exist');
    const found = this.all.find((s) => s.topicArn === topicArn && s.token === token);
    if (found === undefined) return queryError(400, 'InvalidParameter', 'Invalid token');
    // Confirming again with the token keeps the ARN and may turn authenticated unsubscribe on, never off.
    if (found.subscriptionArn === 'PendingConfirmation') found.subscriptionArn = `${topicArn}:${randomUUID()}`;
    found.confirmationWasAuthenticated ||= authenticated;
    return ok('ConfirmSubscription', field('SubscriptionArn', found.subscriptionArn));
  }

  private list(topicArn: string): QueryAnswer {
    if (topicArn !== this.topicArn) return queryError(404, 'NotFound', 'Topic does not exist');
    const members = this.all
      .filter((s) => s.topicArn === topicArn)
      .map(
        (s) =>
          `<member>${field('TopicArn', s.topicArn)}${field('Protocol', s.protocol)}${field('SubscriptionArn', s.subscriptionArn)}` +
          `${field('Owner', this.owner)}${field('Endpoint', s.endpoint)}</member>`,
      );
    return ok('ListSubscriptionsByTopic', `<Subscriptions>${members.join('')}</Subscriptions>`);
  }

  private attributes(subscriptionArn: string): QueryAnswer {
    const s = this.all.find((x) => x.subscriptionArn === subscriptionArn && subscriptionArn !== 'PendingConfirmation');
    if (s === undefined) return queryError(404, 'NotFound', 'Subscription does not exist');
    const entries = {
      Owner: this.owner,
      RawMessageDelivery: 'false',
      TopicArn: s.topicArn,
      Endpoint: s.endpoint,
      Protocol: s.protocol,
      PendingConfirmation: 'false',
      ConfirmationWasAuthenticated: String(s.confirmationWasAuthenticated),
      SubscriptionArn: s.subscriptionArn,
    };
    return ok(
      'GetSubscriptionAttributes',
      `<Attributes>${Object.entries(entries)
        .map(([k, v]) => `<entry>${field('key', k)}${field('value', v)}</entry>`)
        .join('')}</Attributes>`,
    );
  }
}
