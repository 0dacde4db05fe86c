import { Annotations, CfnOutput } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { APPROVAL_CALLBACK_PATH, APPROVAL_PAGE_PATH } from '../core/approval.js';
import { parseApprovers } from '../core/approvers.js';
import { taskAnswerStatement } from './task-answers.js';
import { grantTableKeyViaDynamoDb } from './table-key-grant.js';

/** An address SNS can deliver to (checked before deploying, so a typo fails the synth, not the subscription). */
const EMAIL_PATTERN = /^[^\s@<>(),;:"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** The company's OpenID Connect provider, for sign-in on the approval page (docs/security.md). */
export interface ApprovalSignInProps {
  /** The provider's issuer URL (https), e.g. `https://example.okta.com` or `https://login.microsoftonline.com/<tenant>/v2.0`. */
  readonly issuer: string;
  /** The client id registered at the provider for the approval page (a confidential web client). */
  readonly clientId: string;
  /** ARN of a Secrets Manager secret the operator created, holding the client secret as plain text. */
  readonly clientSecretArn: string;
  /** Who may decide: comma-separated emails and/or `group:NAME` (matched against the groups claim). */
  readonly approvers: string;
  /** The ID token claim that lists groups. @default 'groups' */
  readonly groupsClaim?: string;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** Checks the sign-in settings before anything is deployed, naming the context setting at fault. */
function checkSignIn(signIn: ApprovalSignInProps): void {
  let issuer: URL;
  try {
    issuer = new URL(signIn.issuer);
  } catch {
    throw new Error(`approvalIssuer: expected the identity provider's issuer URL (https://…), got ${JSON.stringify(signIn.issuer)}`);
  }
  if (issuer.protocol !== 'https:') throw new Error(`approvalIssuer: expected an https:// issuer URL, got ${JSON.stringify(signIn.issuer)}`);
  if (!/^[\x21-\x7e]{1,255}$/.test(signIn.clientId))
    throw new Error(`approvalClientId: expected the client id registered at ${signIn.issuer} (printable, no spaces), got ${JSON.stringify(signIn.clientId)}`);
  if (!SECRET_ARN.test(signIn.clientSecretArn))
    throw new Error(
      'approvalClientSecretArn: expected the ARN of a Secrets Manager secret holding the client secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), ' +
        `got ${JSON.stringify(signIn.clientSecretArn)}`,
    );
  parseApprovers(signIn.approvers, 'approvers');
  if (signIn.groupsClaim !== undefined && !/^[A-Za-z0-9_:./-]{1,128}$/.test(signIn.groupsClaim))
    throw new Error(`approvalGroupsClaim: expected a claim name such as groups or cognito:groups, got ${JSON.stringify(signIn.groupsClaim)}`);
}

export interface ApprovalPageProps {
  /** The single table: the page reads and decides `APPROVAL#<id>` items and removes their `APPROVALS#PENDING` pointer. */
  readonly table: dynamodb.ITable;
  /** The state machine whose approval tasks the page answers (SendTaskSuccess). */
  readonly stateMachine: sfn.IStateMachine;
  /** The operator topic the approval emails go to. */
  readonly topic: sns.ITopic;
  /** Email addresses subscribed to the topic (each confirms by email once). @default none */
  readonly approverEmails?: string[];
  /** The page's function (lambdas/approval-page): the page gives it its environment and permissions. */
  readonly pageFunction: lambda.Function;
  /** Customer-managed key for the link-key secret; also the table's key, which the page needs to read its items. @default the AWS-managed keys */
  readonly encryptionKey?: kms.IKey;
  /** Sign-in with the company's OpenID Connect provider. @default none: the link alone decides */
  readonly signIn?: ApprovalSignInProps;
}

/**
 * The human side of an approval: a Secrets Manager key that signs the links, the approval page
 * (an HTTP API route to one Lambda function), and the approvers' email subscriptions.
 *
 * An HTTP API rather than a function URL: its URL depends only on the API resource, so the
 * request-approval function inside the state machine can carry it without a dependency cycle
 * (state machine → request-approval → URL → page function → its policy → state machine), and its
 * stage throttles requests before they reach the function.
 */
export class ApprovalPage extends Construct {
  /** The page's URL, the base of every approval link: `https://<api>.execute-api.<region>.amazonaws.com/approval`. */
  readonly approvalUrl: string;
  /** Where the identity provider returns after sign-in: the redirect URI to register for the client. */
  readonly callbackUrl: string;
  /** The link-signing key, generated by CloudFormation; grant read to whatever signs links. */
  readonly approvalKeySecret: secretsmanager.Secret;
  /** The key of the sign-in cookies, readable by the page alone (only with sign-in). */
  readonly sessionKeySecret?: secretsmanager.Secret;
  readonly pageFunction: lambda.Function;
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;

  constructor(scope: Construct, id: string, props: ApprovalPageProps) {
    super(scope, id);
    const emails = props.approverEmails ?? [];
    for (const [i, email] of emails.entries()) {
      if (!EMAIL_PATTERN.test(email)) throw new Error(`approverEmails[${i}]: expected an email address like ops@example.com, got ${JSON.stringify(email)}`);
    }
    if (new Set(emails).size !== emails.length) throw new Error('approverEmails: each address once');
    if (props.signIn) checkSignIn(props.signIn);

    this.approvalKeySecret = new secretsmanager.Secret(this, 'LinkKey', {
      description: 'fleet-upgrade: HMAC key that signs approval links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      encryptionKey: props.encryptionKey,
    });

    this.pageFunction = props.pageFunction;
    this.pageFunction.addEnvironment('APPROVAL_KEY_SECRET_ARN', this.approvalKeySecret.secretArn);
    this.approvalKeySecret.grantRead(this.pageFunction);
    if (props.signIn) {
      const s = props.signIn;
      // Its own key, readable by the page alone: the functions that sign links cannot mint a session.
      const sessionKey = new secretsmanager.Secret(this, 'SessionKey', {
        description: "fleet-upgrade: HMAC key of the approval page's sign-in cookies",
        generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
        encryptionKey: props.encryptionKey,
      });
      sessionKey.grantRead(this.pageFunction);
      this.sessionKeySecret = sessionKey;
      this.pageFunction.addEnvironment('APPROVAL_SESSION_KEY_SECRET_ARN', sessionKey.secretArn);
      this.pageFunction
        .addEnvironment('APPROVAL_ISSUER', s.issuer)
        .addEnvironment('APPROVAL_CLIENT_ID', s.clientId)
        .addEnvironment('APPROVAL_CLIENT_SECRET_ARN', s.clientSecretArn)
        .addEnvironment('APPROVERS', s.approvers)
        .addEnvironment('APPROVAL_GROUPS_CLAIM', s.groupsClaim ?? 'groups');
      // The operator's secret, read only: a console ARN ends in the 6-character suffix Secrets Manager adds.
      const secret = /-[A-Za-z0-9]{6}$/.test(s.clientSecretArn)
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'ClientSecret', s.clientSecretArn)
        : secretsmanager.Secret.fromSecretPartialArn(this, 'ClientSecret', s.clientSecretArn);
      secret.grantRead(this.pageFunction);
    } else {
      Annotations.of(this).addWarningV2(
        'fleet-upgrade:approval-without-sign-in',
        'approvalIssuer is not set: anyone holding an approval link (a forwarded email, a shared mailbox, a ticket importer) can ' +
          'decide rollback, retry, skip or abort. Set approvalIssuer, approvalClientId, approvalClientSecretArn and approvers (docs/security.md).',
      );
    }
    // Only its own items: get, claim and un-list approvals, and list one again when its answer could not be
    // delivered (unclaimApproval puts the pending pointer back); nothing else in the table.
    this.pageFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*', 'APPROVALS#PENDING'] } },
      }),
    );
    grantTableKeyViaDynamoDb(this, props.table, this.pageFunction);
    // A decision answers the approval task; an answer that cannot be delivered is un-claimed (no SendTaskFailure).
    this.pageFunction.addToRolePolicy(taskAnswerStatement(props.stateMachine, ['states:SendTaskSuccess']));

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'fleet-upgrade approval page',
      createDefaultStage: false,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // People click links: a handful of requests a second is plenty, and caps what a flood costs.
      throttle: { rateLimit: 5, burstLimit: 20 },
      // Who asked what, when, and what it answered; the route key, not the URL, so link signatures stay out of the log.
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH })),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            httpMethod: '$context.httpMethod',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // ANY, so a wrong method gets the page's own 405 rather than API Gateway's 404.
    this.api.addRoutes({
      path: APPROVAL_PAGE_PATH,
      methods: [apigwv2.HttpMethod.ANY],
      integration: new HttpLambdaIntegration('Page', this.pageFunction, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 }),
    });
    // The identity provider returns here (GET only); registered only when sign-in is configured.
    if (props.signIn) {
      this.api.addRoutes({
        path: APPROVAL_CALLBACK_PATH,
        methods: [apigwv2.HttpMethod.GET],
        integration: new HttpLambdaIntegration('SignInCallback', this.pageFunction, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 }),
      });
    }
    this.approvalUrl = `${this.api.apiEndpoint}${APPROVAL_PAGE_PATH}`;
    this.callbackUrl = `${this.api.apiEndpoint}${APPROVAL_CALLBACK_PATH}`;

    for (const email of emails) props.topic.addSubscription(new subscriptions.EmailSubscription(email));

    if (props.signIn) {
      new CfnOutput(this, 'CallbackUrl', {
        value: this.callbackUrl,
        description: "register this as the redirect URI of the approval page's client at the identity provider",
      }).overrideLogicalId('ApprovalCallbackUrl');
    }
    new CfnOutput(this, 'Url', { value: this.approvalUrl, description: 'approval page (base of the links in approval emails)' }).overrideLogicalId(
      'ApprovalUrl',
    );
    new CfnOutput(this, 'KeySecret', { value: this.approvalKeySecret.secretArn, description: 'secret holding the approval link key' }).overrideLogicalId(
      'ApprovalKeySecretArn',
    );
  }
}
