import { ConfirmSubscriptionCommand, GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import { Command } from 'commander';
import {
  confirmationFromFlags,
  confirmationFromLink,
  subscriptionState,
  SUBSCRIPTION_STATE_HELP,
  TOPIC_ARN_PATTERN,
  type SubscriptionConfirmation,
  type SubscriptionState,
} from '../core/subscription-link.js';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { table } from './table.js';

const DOCS = 'https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html';

/** What to do after SNS refused, by its error name (the SDK's, and the protocol's code). */
function refusalHint(name: string): string {
  if (name === 'InvalidParameterException' || name === 'InvalidParameter') {
    return (
      'the token is valid for three days and for this topic only; if it expired, the topic owner re-sends ' +
      'the confirmation (aws sns subscribe --topic-arn ARN --protocol email --notification-endpoint ADDRESS)'
    );
  }
  if (name === 'NotFoundException' || name === 'NotFound') return 'no such topic in that region, as far as your credentials can see';
  if (name === 'AuthorizationErrorException' || name === 'AuthorizationError')
    return "your credentials need sns:ConfirmSubscription on the topic (the topic owner's account)";
  return 'nothing was confirmed';
}

function confirmation(flags: { link?: string; topicArn?: string; token?: string }): SubscriptionConfirmation {
  const direct = flags.topicArn !== undefined || flags.token !== undefined;
  if (flags.link !== undefined && direct) throw new UsageError('--link or --topic-arn with --token, not both');
  if (flags.link !== undefined) return confirmationFromLink(flags.link);
  if (flags.topicArn === undefined || flags.token === undefined) {
    throw new UsageError('expected --link \'<the "Confirm subscription" URL from the email>\', or --topic-arn ARN with --token TOKEN');
  }
  return confirmationFromFlags(flags.topicArn, flags.token);
}

/** `fleet-upgrade confirm-subscription`: confirms an approver's email subscription so that only AWS credentials can end it. */
export function confirmSubscriptionCommand(): Command {
  return new Command('confirm-subscription')
    .description(
      'Confirm an email subscription to the operator topic with authenticated unsubscribe (ConfirmSubscription, AuthenticateOnUnsubscribe=true): ' +
        "the email's unsubscribe links then no longer work, so a mail scanner cannot silently unsubscribe an approver.",
    )
    .option('--link <url>', 'the "Confirm subscription" URL from SNS\'s email: copy it, do not click it')
    .option('--topic-arn <arn>', 'instead of --link: the topic ARN (TopicArn= in the link)')
    .option('--token <token>', 'instead of --link: the token (Token= in the link)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  fleet-upgrade confirm-subscription --link 'https://sns.eu-west-1.amazonaws.com/confirmation.html?TopicArn=…&Token=…&Endpoint=ops%40example.com'
  aws sns confirm-subscription --topic-arn ARN --token TOKEN --authenticate-on-unsubscribe true   # the same, with the AWS CLI

The call goes to the topic's region (from its ARN) and must be signed: it uses your AWS credentials. Tokens are
valid for three days. ${DOCS}
Exit codes: 0 confirmed, 1 SNS refused (expired or wrong token, no permission: the message says), 2 bad input (the field is named).`,
    )
    .action(async (flags: { link?: string; topicArn?: string; token?: string; json?: boolean }, command: Command) => {
      const wanted = confirmation(flags);
      const clients = new StackClients(globalFlags(command));
      try {
        let subscriptionArn: string;
        try {
          const out = await clients
            .sns(wanted.region)
            .send(new ConfirmSubscriptionCommand({ TopicArn: wanted.topicArn, Token: wanted.token, AuthenticateOnUnsubscribe: 'true' }));
          subscriptionArn = out.SubscriptionArn ?? '';
        } catch (error) {
          if (!(error instanceof Error)) throw error;
          const hint = refusalHint(error.name);
          process.stderr.write(`fleet-upgrade: SNS refused to confirm the subscription to ${wanted.topicArn}: ${error.name}: ${error.message} (${hint})\n`);
          process.exitCode = EXIT_RUN_FAILED;
          return;
        }
        const who = wanted.endpoint === undefined ? '' : ` for ${wanted.endpoint}`;
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ subscriptionArn, topicArn: wanted.topicArn, ...(wanted.endpoint === undefined ? {} : { endpoint: wanted.endpoint }), authenticateOnUnsubscribe: true }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(
            [
              `Confirmed${who}: ${subscriptionArn}`,
              'Unsubscribing now needs AWS credentials: the links in the emails no longer unsubscribe. To end it, the topic owner runs',
              `  aws sns unsubscribe --region ${wanted.region} --subscription-arn ${subscriptionArn}`,
              'Check every subscription with: fleet-upgrade subscriptions',
            ].join('\n') + '\n',
          );
        }
        process.exitCode = EXIT_OK;
      } finally {
        clients.destroy();
      }
    });
}

/** One subscription of the operator topic, as `subscriptions` shows it. */
export interface TopicSubscription {
  endpoint: string;
  protocol: string;
  subscriptionArn: string;
  state: SubscriptionState;
}

/** Every subscription of the topic (ListSubscriptionsByTopic pages), with whether its confirmation was authenticated. */
export async function topicSubscriptions(sns: SNSClient, topicArn: string): Promise<TopicSubscription[]> {
  const found: TopicSubscription[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, ...(nextToken === undefined ? {} : { NextToken: nextToken }) }));
    for (const s of page.Subscriptions ?? []) {
      const subscriptionArn = s.SubscriptionArn ?? 'PendingConfirmation';
      // Only GetSubscriptionAttributes tells whether a confirmed subscription can be ended by a link.
      const attributes =
        subscriptionArn === 'PendingConfirmation'
          ? undefined
          : (await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }))).Attributes;
      found.push({
        endpoint: s.Endpoint ?? '',
        protocol: s.Protocol ?? '',
        subscriptionArn,
        state: subscriptionState(subscriptionArn, attributes?.ConfirmationWasAuthenticated),
      });
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken !== undefined);
  return found;
}

/** `fleet-upgrade subscriptions`: who receives the approval emails, and whether a link can unsubscribe them. */
export function subscriptionsCommand(): Command {
  return new Command('subscriptions')
    .description(
      "List the operator topic's subscriptions (who receives approval emails): pending, confirmed by a click (a link can unsubscribe it), or confirmed with authenticated unsubscribe.",
    )
    .option('--topic-arn <arn>', "skip the stack lookup: the topic (default: the stack's TopicArn output)")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  fleet-upgrade subscriptions
  fleet-upgrade subscriptions --topic-arn arn:aws:sns:eu-west-1:123456789012:FleetUpgradeStack-OperatorTopic --json

Exit codes: 0 every subscription confirmed with authenticated unsubscribe, 1 none, or one pending or
confirmed by a click (the approval emails may reach nobody), 2 bad usage.`,
    )
    .action(async (flags: { topicArn?: string; json?: boolean }, command: Command) => {
      if (flags.topicArn !== undefined && !TOPIC_ARN_PATTERN.test(flags.topicArn))
        throw new UsageError(
          `--topic-arn: expected an SNS topic ARN like arn:aws:sns:eu-west-1:123456789012:FleetUpgradeStack-OperatorTopic, got ${JSON.stringify(flags.topicArn)}`,
        );
      const clients = new StackClients(globalFlags(command));
      try {
        const topicArn = await clients.topicArn(flags.topicArn);
        const region = TOPIC_ARN_PATTERN.exec(topicArn)?.[1];
        if (region === undefined) throw new UsageError(`the stack's TopicArn output is not an SNS topic ARN: ${JSON.stringify(topicArn)}`);
        const found = await topicSubscriptions(clients.sns(region), topicArn);
        const safe = found.length > 0 && found.every((s) => s.state === 'confirmed-authenticated');
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ topicArn, subscriptions: found }, null, 2)}\n`);
        } else if (found.length === 0) {
          process.stdout.write(
            `No subscriptions to ${topicArn}: approval emails reach nobody. Deploy with -c approverEmails=ops@example.com, then confirm each with fleet-upgrade confirm-subscription.\n`,
          );
        } else {
          const rows = found.map((s) => [s.endpoint, s.protocol, s.state, s.subscriptionArn]);
          const advice = [...new Set(found.map((s) => s.state))]
            .filter((s) => s !== 'confirmed-authenticated')
            .map((s) => `${s}: ${SUBSCRIPTION_STATE_HELP[s]}`);
          process.stdout.write(
            `${topicArn}\n${table([['ENDPOINT', 'PROTOCOL', 'STATE', 'SUBSCRIPTION'], ...rows]).join('\n')}\n${advice.length > 0 ? `\n${advice.join('\n')}\n` : ''}`,
          );
        }
        process.exitCode = safe ? EXIT_OK : EXIT_RUN_FAILED;
      } finally {
        clients.destroy();
      }
    });
}
