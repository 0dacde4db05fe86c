import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { grantTableKeyViaDynamoDb } from './table-key-grant.js';

/** The environment variable that tells an approval email whether deciding requires signing in (the issuer, or absent). */
export const SIGN_IN_ISSUER_ENV = 'APPROVAL_SIGN_IN_ISSUER';

export interface ApprovalRemindersProps {
  /** The single table: the sweep lists `APPROVALS#PENDING`, reads and records on `APPROVAL#<id>` items, nothing else. */
  readonly table: dynamodb.ITable;
  /** The operator topic the reminders go to. */
  readonly topic: sns.ITopic;
  /** Base URL of the approval page: each reminder carries a freshly signed link. */
  readonly approvalUrl: string;
  /** The link-signing key. */
  readonly approvalKeySecret: secretsmanager.ISecret;
  /** The sweep's function (lambdas/remind-approvers): given its environment and permissions here. */
  readonly remindFunction: lambda.Function;
  /** The OpenID Connect issuer approvers sign in with, said in each reminder. @default none (the email says no sign-in is configured) */
  readonly signInIssuer?: string;
  /** How often the sweep runs. @default rate(5 minutes) */
  readonly schedule?: events.Schedule;
}

/**
 * Reminders while a decision waits: a schedule rule runs `remind-approvers`, which emails the approvers
 * halfway through the wait and shortly before the deadline, and a fresh link before an emailed one expires
 * (core/approval-reminders.ts decides which). A sweep, not a timer per approval: nothing to cancel when a
 * decision comes, and every sweep starts from what DynamoDB says.
 */
export class ApprovalReminders extends Construct {
  readonly remindFunction: lambda.Function;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ApprovalRemindersProps) {
    super(scope, id);
    const f = props.remindFunction;
    this.remindFunction = f;
    f.addEnvironment('APPROVAL_URL', props.approvalUrl).addEnvironment('APPROVAL_KEY_SECRET_ARN', props.approvalKeySecret.secretArn);
    if (props.signInIssuer !== undefined) f.addEnvironment(SIGN_IN_ISSUER_ENV, props.signInIssuer);
    props.approvalKeySecret.grantRead(f);
    props.topic.grantPublish(f);
    // Lists the waiting approvals (one partition), then reads and records on each approval item; nothing else in the table.
    f.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['APPROVALS#PENDING'] } },
      }),
    );
    f.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*'] } },
      }),
    );
    grantTableKeyViaDynamoDb(this, props.table, f);
    // Every five minutes: the final reminder goes out an hour before the deadline, so it is at most five minutes late.
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'fleet-upgrade: reminds the approvers of decisions still waiting',
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(5)),
      // No retries: the next sweep is the retry, and it starts again from DynamoDB.
      targets: [new targets.LambdaFunction(f, { retryAttempts: 0 })],
    });
  }
}
