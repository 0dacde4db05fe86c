import { InputValidationError } from './errors.js';

/**
 * SNS email subscriptions, confirmed so that only AWS credentials can end them.
 *
 * SNS's "Confirm subscription" link, clicked, confirms with unauthenticated unsubscribe: every later email's
 * unsubscribe link then works on a plain GET, and a mail scanner's prefetch silently unsubscribes an approver.
 * ConfirmSubscription with AuthenticateOnUnsubscribe=true, signed, makes unsubscribing need the topic owner's
 * or the subscription owner's AWS signature:
 * https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html
 */

/** What ConfirmSubscription needs, taken from the confirmation link (or given as flags). */
export interface SubscriptionConfirmation {
  topicArn: string;
  token: string;
  /** The topic's region: ConfirmSubscription must go to it. */
  region: string;
  /** The subscribed address, when the link names it (email links do). */
  endpoint?: string;
}

/** An SNS topic ARN; group 1 is the region. Partitions `aws`, `aws-us-gov`, …; topic names as SNS allows them. */
export const TOPIC_ARN_PATTERN = /^arn:aws(?:-[a-z]+)*:sns:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;
/** SNS's confirmation tokens are long lowercase hex strings; allow either case and a generous length. */
export const CONFIRMATION_TOKEN_PATTERN = /^[0-9A-Fa-f]{32,2048}$/;
/** `sns.<region>.amazonaws.com`; group 1 is the region. */
const SNS_HOST_PATTERN = /^sns\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$/;
/** The parameters a confirmation link may carry: email links add `Endpoint`, HTTP ones `Action`. */
const LINK_PARAMETERS = new Set(['Action', 'TopicArn', 'Token', 'Endpoint']);

const TOKEN_FORM = 'the hex token SNS put in the link (32 to 2048 hex digits)';

function describeToken(token: string): string {
  // A token is a credential for three days: say its shape, never its value.
  return `${token.length} characters${/^[0-9A-Fa-f]*$/.test(token) ? '' : ', not all hex digits'}`;
}

/** Checks `--topic-arn` and `--token` given directly. */
export function confirmationFromFlags(topicArn: string, token: string): SubscriptionConfirmation {
  const region = TOPIC_ARN_PATTERN.exec(topicArn)?.[1];
  if (region === undefined)
    throw new InputValidationError(
      `--topic-arn: expected an SNS topic ARN like arn:aws:sns:eu-west-1:123456789012:FleetUpgradeStack-OperatorTopic, got ${JSON.stringify(topicArn)}`,
      '--topic-arn',
    );
  if (!CONFIRMATION_TOKEN_PATTERN.test(token)) throw new InputValidationError(`--token: expected ${TOKEN_FORM}, got ${describeToken(token)}`, '--token');
  return { topicArn, token, region };
}

/**
 * Reads the "Confirm subscription" link of SNS's email
 * (`https://sns.<region>.amazonaws.com/confirmation.html?TopicArn=…&Token=…&Endpoint=…`, or the HTTP form
 * `https://sns.<region>.amazonaws.com/?Action=ConfirmSubscription&TopicArn=…&Token=…`), strictly: anything else
 * names the part that is wrong, so a look-alike link is never followed.
 */
export function confirmationFromLink(link: string): SubscriptionConfirmation {
  const field = (name: string, message: string) => new InputValidationError(`--link: ${name}: ${message}`, `--link.${name}`);
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    throw new InputValidationError(
      '--link: expected the "Confirm subscription" URL from SNS\'s email, like https://sns.eu-west-1.amazonaws.com/confirmation.html?TopicArn=…&Token=…; got something that is not a URL',
      '--link',
    );
  }
  if (url.protocol !== 'https:') throw field('scheme', `expected https, got ${JSON.stringify(url.protocol.replace(/:$/, ''))}`);
  if (url.username !== '' || url.password !== '' || url.port !== '') throw field('host', 'expected sns.<region>.amazonaws.com with no user, password or port');
  const region = SNS_HOST_PATTERN.exec(url.hostname)?.[1];
  if (region === undefined) throw field('host', `expected sns.<region>.amazonaws.com, got ${JSON.stringify(url.hostname)}`);
  const params = url.searchParams;
  for (const key of new Set(params.keys())) {
    if (!LINK_PARAMETERS.has(key))
      throw field(
        key,
        `unexpected parameter (a confirmation link carries only ${[...LINK_PARAMETERS].join(', ')}); copy the link as it is, not from the page's HTML source`,
      );
    if (params.getAll(key).length > 1) throw field(key, 'given more than once');
  }
  const action = params.get('Action');
  if (url.pathname === '/confirmation.html') {
    if (action !== null && action !== 'ConfirmSubscription') throw field('Action', `expected ConfirmSubscription, got ${JSON.stringify(action)}`);
  } else if (url.pathname === '/') {
    if (action !== 'ConfirmSubscription') throw field('Action', `expected ConfirmSubscription, got ${action === null ? 'none' : JSON.stringify(action)}`);
  } else {
    throw field('path', `expected /confirmation.html (or / with Action=ConfirmSubscription), got ${JSON.stringify(url.pathname)}`);
  }
  const topicArn = params.get('TopicArn') ?? '';
  const arnRegion = TOPIC_ARN_PATTERN.exec(topicArn)?.[1];
  if (arnRegion === undefined) throw field('TopicArn', `expected an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(topicArn)}`);
  if (arnRegion !== region) throw field('TopicArn', `the topic is in ${arnRegion} but the link goes to sns.${region}.amazonaws.com`);
  const token = params.get('Token') ?? '';
  if (!CONFIRMATION_TOKEN_PATTERN.test(token)) throw field('Token', `expected ${TOKEN_FORM}, got ${describeToken(token)}`);
  const endpoint = params.get('Endpoint');
  return { topicArn, token, region, ...(endpoint === null || endpoint === '' ? {} : { endpoint }) };
}

/** How a subscription stands, from ListSubscriptionsByTopic and GetSubscriptionAttributes. */
export type SubscriptionState = 'pending' | 'confirmed-unauthenticated' | 'confirmed-authenticated';

/** `PendingConfirmation` is what SNS lists instead of an ARN until the subscription is confirmed. */
export function subscriptionState(subscriptionArn: string, confirmationWasAuthenticated: string | undefined): SubscriptionState {
  if (subscriptionArn === 'PendingConfirmation') return 'pending';
  return confirmationWasAuthenticated === 'true' ? 'confirmed-authenticated' : 'confirmed-unauthenticated';
}

/** What each state means to an operator, and what to do. */
export const SUBSCRIPTION_STATE_HELP: Record<SubscriptionState, string> = {
  pending: "not confirmed: receives nothing. Confirm with fleet-upgrade confirm-subscription --link '<the email's Confirm subscription URL>' (do not click it)",
  'confirmed-unauthenticated':
    'confirmed by a click: any unsubscribe link (or a mail scanner prefetching it) ends it. Confirm again with the token (within three days) or re-subscribe',
  'confirmed-authenticated': 'confirmed; unsubscribing needs AWS credentials',
};
