import { PublishCommand } from '@aws-sdk/client-sns';
import { requireEnv, snsClient } from './aws-clients.js';

/**
 * Publishes an email to the operator topic (`TOPIC_ARN`). `attributes` travel as message attributes:
 * `kind` says what the message is (approval, approval-reminder, rollback-failed…), so a subscriber can
 * filter, and the local rehearsal tells an approval request from a reminder.
 */
export async function publishToOperators(subject: string, message: string, attributes: Record<string, string>): Promise<void> {
  await snsClient().send(
    new PublishCommand({
      TopicArn: requireEnv('TOPIC_ARN'),
      // SNS limits subjects to 100 printable ASCII characters.
      Subject: subject.replace(/[^\x20-\x7e]/g, '-').slice(0, 100),
      Message: message,
      MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
    }),
  );
}

/** The OpenID Connect issuer approvers sign in with (`APPROVAL_SIGN_IN_ISSUER`, set by the stack when configured). */
export function signInIssuer(): string | undefined {
  const issuer = process.env.APPROVAL_SIGN_IN_ISSUER;
  return issuer === undefined || issuer === '' ? undefined : issuer;
}
