import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { buildRunbookDocument, checkArtifactBaseUrl } from './runbook-document.js';
import { PACKAGE_KEY_SETTING, packageKeyDer } from './package-key.js';
import { EXECUTION_TIMEOUT_DAYS, DEFAULT_LOCK_TTL_SECONDS } from '../core/execution-timeout.js';
import { FINAL_COMMAND_STATUSES } from '../core/command-status.js';
import { ApprovalPage, type ApprovalSignInProps } from './approval-page.js';
import { ApprovalReminders, SIGN_IN_ISSUER_ENV } from './approval-reminders.js';
import { taskAnswerStatement } from './task-answers.js';
import { acknowledgeNagFindings } from './nag.js';
import { UpgradeWorkflow } from './workflow/workflow.js';
import { CommandDocument } from './command-document.js';
import { CLEAN_UP_RUN_TIMEOUT, STATE_MACHINE_METADATA_KEY, StoppedRunCleanup } from './stopped-run-cleanup.js';
import { FleetFunction } from './fleet-function.js';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// The local rehearsal and the tests find each function's handler by this key.
export { HANDLER_METADATA_KEY } from './fleet-function.js';

export interface FleetUpgradeStackProps extends StackProps {
  /** Base URL (https) of the package repository: `<url>/<version>/app-<version>.tar.gz`, its `.sig` and `<url>/<version>/SHA256SUMS`. */
  readonly artifactBaseUrl: string;
  /** PEM of the Ed25519 public key every package's detached signature is checked against on the node (docs/packages.md). */
  readonly packageSigningPublicKey: string;
  /** Runbook folder under `runbooks/` turned into the SSM document: `release-dir` or `kato`. @default 'release-dir' */
  readonly runbook?: string;
  /** Absolute path of a runbook folder outside `runbooks/` (benchmarks and tests); wins over `runbook`. @default the folder `runbook` names */
  readonly runbookPath?: string;
  /** Seconds a cluster lock lasts before another run may take it. @default 43200 (12 hours) */
  readonly lockTtlSeconds?: number;
  /** Email addresses subscribed to the operator topic: they receive approval requests. @default none */
  readonly approverEmails?: string[];
  /**
   * Sign-in on the approval page with the company's OpenID Connect provider: only approvers decide.
   * @default none: anyone holding an approval link can decide (synth warns)
   */
  readonly approvalSignIn?: ApprovalSignInProps;
}

/**
 * The whole product in one stack, top to bottom like the workflow it builds: the table, the SSM
 * document, the functions, the completion event path, then the state machine.
 */
export class FleetUpgradeStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  /** Cleans up after an execution that ended without its catch paths. */
  readonly cleanup: StoppedRunCleanup;
  readonly table: dynamodb.Table;
  readonly document: CommandDocument;
  readonly topic: sns.Topic;
  /** Where SSM Run Command sends each step's whole output (CloudWatchOutputConfig of every SendCommand). */
  readonly commandOutputLogs: logs.LogGroup;
  /** Base URL of the approval page, for approval links (APPROVAL_URL). */
  readonly approvalUrl: string;
  /** The secret holding the approval link key (APPROVAL_KEY_SECRET_ARN). */
  readonly approvalKeySecret: secretsmanager.Secret;
  /** Customer-managed key (rotated yearly) encrypting the table, the topic and the link-key secret. */
  readonly dataKey: kms.Key;
  /** Every function of the stack by handler name (folder under lambdas/). */
  readonly functions: Readonly<Record<string, FleetFunction>>;
  /** The approval page: its function, HTTP API and stage. */
  readonly approvalPage: ApprovalPage;
  /** The reminders while a decision waits: a schedule rule and its function. */
  readonly approvalReminders: ApprovalReminders;

  constructor(scope: Construct, id: string, props: FleetUpgradeStackProps) {
    super(scope, id, props);
    checkArtifactBaseUrl(props.artifactBaseUrl);
    const packageKey = packageKeyDer(props[PACKAGE_KEY_SETTING]);
    const runbook = props.runbook ?? 'release-dir';
    if (!/^[a-z][a-z0-9-]{0,40}$/.test(runbook) || runbook === 'shared') {
      throw new Error(`runbook: expected the name of a folder under runbooks/ (release-dir, kato), got ${JSON.stringify(runbook)}`);
    }

    // One key for the data at rest. Retained like the table: a deleted key would make the retained table unreadable.
    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'fleet-upgrade: encrypts the node table, the operator topic and the approval link key',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      timeToLiveAttribute: 'ttl',
      // Node versions and run history outlive the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const runbookDocument = buildRunbookDocument(
      props.runbookPath ?? join(PROJECT_ROOT, 'runbooks', runbook),
      packageKey,
      join(PROJECT_ROOT, 'runbooks', 'shared'),
    );
    this.document = new CommandDocument(this, 'RunbookDocument', { content: runbookDocument.content });

    // Approval notifications arrive here (the approval flow builds on it).
    this.topic = new sns.Topic(this, 'OperatorTopic', {
      displayName: 'fleet-upgrade operator notifications',
      masterKey: this.dataKey,
      enforceSSL: true,
    });

    // Every step's whole output, written by the nodes' SSM agents: GetCommandInvocation returns only the first
    // 24,000 characters of stdout and 8,000 of stderr. The nodes' instance profile needs to write here (docs/operator-guide.md).
    this.commandOutputLogs = new logs.LogGroup(this, 'CommandOutputLogs', { retention: logs.RetentionDays.ONE_MONTH });

    const environment = {
      TABLE_NAME: this.table.tableName,
      DOCUMENT_NAME: this.document.documentName,
      COMMAND_OUTPUT_LOG_GROUP: this.commandOutputLogs.logGroupName,
      ARTIFACT_BASE_URL: props.artifactBaseUrl,
      LOCK_TTL_SECONDS: String(props.lockTtlSeconds ?? DEFAULT_LOCK_TTL_SECONDS),
      TOPIC_ARN: this.topic.topicArn,
      POWERTOOLS_SERVICE_NAME: 'fleet-upgrade',
      NODE_OPTIONS: '--enable-source-maps',
    };
    // One function per handler, each with its own role and log group; what each may do is granted where it is used.
    const validateInput = new FleetFunction(this, 'ValidateInputFunction', {
      handler: 'validate-input',
      description: 'validates the execution input',
      environment,
    });
    const lock = new FleetFunction(this, 'LockFunction', { handler: 'lock', description: 'takes and releases the cluster lock', environment });
    const plan = new FleetFunction(this, 'PlanFunction', { handler: 'plan', description: 'plans the upgrade: role order, groups, versions', environment });
    const runStep = new FleetFunction(this, 'RunStepFunction', {
      handler: 'run-step',
      description: 'starts a runbook step on a node through SSM Run Command',
      environment,
    });
    const commandFinished = new FleetFunction(this, 'CommandFinishedFunction', {
      handler: 'command-finished',
      description: 'answers the waiting task when an SSM command finishes',
      environment,
    });
    const recordNode = new FleetFunction(this, 'RecordNodeFunction', {
      handler: 'record-node',
      description: "records how a node's upgrade ended",
      environment,
    });
    const summarize = new FleetFunction(this, 'SummarizeFunction', { handler: 'summarize', description: 'summarizes the run from DynamoDB', environment });
    const requestApproval = new FleetFunction(this, 'RequestApprovalFunction', {
      handler: 'request-approval',
      description: 'asks the operators what to do after a node failed (SNS email with the approval link)',
      environment,
    });
    const runStopped = new FleetFunction(this, 'RunStoppedFunction', {
      handler: 'run-stopped',
      description: 'starts the cleanup of a run stopped, timed out or failed past its catch paths',
      environment,
    });
    const cleanUpRun = new FleetFunction(this, 'CleanUpRunFunction', {
      handler: 'clean-up-run',
      description: 'rolls back interrupted nodes, turns maintenance mode off and releases the lock of a stopped run',
      environment,
      timeout: CLEAN_UP_RUN_TIMEOUT,
    });
    const pageFunction = new FleetFunction(this, 'ApprovalPageFunction', {
      handler: 'approval-page',
      description: 'the approval page: shows the evidence (GET), decides once (POST)',
      environment,
    });
    const remindApprovers = new FleetFunction(this, 'RemindApproversFunction', {
      handler: 'remind-approvers',
      description: 'reminds the approvers of decisions still waiting (deadline, what the timeout does, a fresh link)',
      environment,
    });
    const all = [
      validateInput,
      lock,
      plan,
      runStep,
      commandFinished,
      recordNode,
      summarize,
      requestApproval,
      runStopped,
      cleanUpRun,
      pageFunction,
      remindApprovers,
    ];
    this.functions = Object.fromEntries(all.map((f) => [f.handlerName, f]));

    for (const f of [lock, plan, runStep, commandFinished, recordNode, summarize, requestApproval]) this.table.grantReadWriteData(f);
    this.topic.grantPublish(requestApproval);
    this.document.grantSendCommand(runStep);
    // A retried step finds the command its crashed attempt sent, reconciles the command its first attempt
    // started, or cancels it on an unresponsive node: none of these actions supports resource-level permissions.
    runStep.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetCommandInvocation', 'ssm:CancelCommand', 'ssm:ListCommands'], resources: ['*'] }));
    // Discovery by tag (input without "nodes"): neither API supports resource-level permissions.
    plan.addToRolePolicy(new iam.PolicyStatement({ actions: ['tag:GetResources', 'ssm:DescribeInstanceInformation'], resources: ['*'] }));
    // Health gates read the alarms the run names (run input, not known at deploy; composite alarms too): read-only.
    recordNode.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }));
    commandFinished.addToRolePolicy(
      // GetCommandInvocation supports no resource-level permissions.
      new iam.PolicyStatement({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] }),
    );

    // Completion path: SSM status change → EventBridge → command-finished → SendTaskSuccess/Failure.
    new events.Rule(this, 'CommandFinishedRule', {
      description: 'fleet-upgrade: an SSM command of the runbook document finished',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Invocation Status-change Notification'],
        // Only the statuses that end a command (core/command-status.ts).
        detail: { 'document-name': [this.document.documentName], status: [...FINAL_COMMAND_STATUSES] },
      },
      targets: [new targets.LambdaFunction(commandFinished, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'fleet-upgrade: rolling in-place upgrade of a role-based cluster',
      definitionBody: sfn.DefinitionBody.fromChainable(
        new UpgradeWorkflow(this, 'Workflow', { validateInput, lock, plan, runStep, recordNode, summarize, requestApproval }),
      ),
      timeout: Duration.days(EXECUTION_TIMEOUT_DAYS),
      // Every state transition to CloudWatch Logs, without state data (task tokens, output tails): the
      // execution history holds that, behind states:GetExecutionHistory.
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', {
          logGroupName: `/aws/vendedlogs/states/${this.stackName}`,
          retention: logs.RetentionDays.ONE_MONTH,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
      tracingEnabled: true,
    });
    // command-finished answers the step's token when its command ends; run-step when it takes over a command an
    // earlier attempt started; record-node releases held nodes by answering their waiting states. Policies of their
    // own, not the roles' default policies: a function depends on its default policy and the state machine on
    // these functions, so a default-policy grant would close a cycle.
    for (const [name, f, actions] of [
      ['RunStep', runStep, ['states:SendTaskSuccess', 'states:SendTaskFailure']],
      ['CommandFinished', commandFinished, ['states:SendTaskSuccess', 'states:SendTaskFailure']],
      ['RecordNode', recordNode, ['states:SendTaskSuccess']],
    ] as const) {
      new iam.Policy(this, `${name}TaskAnswers`, {
        roles: [f.role as iam.IRole],
        statements: [taskAnswerStatement(this.stateMachine, [...actions])],
      });
    }
    (this.stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata(STATE_MACHINE_METADATA_KEY, 'upgrade');
    this.cleanup = new StoppedRunCleanup(this, 'StoppedRunCleanup', {
      table: this.table,
      upgradeMachine: this.stateMachine,
      document: this.document,
      commandOutputLogs: this.commandOutputLogs,
      runStopped,
      cleanUpRun,
    });
    // Who reads a command's result reads the end of an output GetCommandInvocation cut off from its log stream.
    for (const reader of [runStep, commandFinished]) this.commandOutputLogs.grant(reader, 'logs:DescribeLogStreams', 'logs:GetLogEvents');

    // The human side of an approval: signed links, the page that decides, who gets the email.
    const approvalPage = new ApprovalPage(this, 'ApprovalPage', {
      table: this.table,
      stateMachine: this.stateMachine,
      topic: this.topic,
      approverEmails: props.approverEmails,
      pageFunction,
      encryptionKey: this.dataKey,
      ...(props.approvalSignIn ? { signIn: props.approvalSignIn } : {}),
    });
    this.approvalPage = approvalPage;
    this.approvalUrl = approvalPage.approvalUrl;
    this.approvalKeySecret = approvalPage.approvalKeySecret;
    // The approval request's email carries a link to the page, signed with the page's key.
    requestApproval.addEnvironment('APPROVAL_URL', this.approvalUrl).addEnvironment('APPROVAL_KEY_SECRET_ARN', this.approvalKeySecret.secretArn);
    this.approvalKeySecret.grantRead(requestApproval);
    if (props.approvalSignIn !== undefined) requestApproval.addEnvironment(SIGN_IN_ISSUER_ENV, props.approvalSignIn.issuer);
    this.approvalReminders = new ApprovalReminders(this, 'ApprovalReminders', {
      table: this.table,
      topic: this.topic,
      approvalUrl: this.approvalUrl,
      approvalKeySecret: this.approvalKeySecret,
      remindFunction: remindApprovers,
      ...(props.approvalSignIn !== undefined ? { signInIssuer: props.approvalSignIn.issuer } : {}),
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'CleanupStateMachineArn', {
      value: this.cleanup.stateMachine.stateMachineArn,
      description: 'cleans up after a stopped, timed-out or failed run; one execution per run, named after it',
    });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'DocumentName', { value: this.document.documentName });
    new CfnOutput(this, 'TopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'ArtifactBaseUrl', {
      value: props.artifactBaseUrl,
      description: 'where nodes download packages (fleet-upgrade doctor --probe-artifacts checks a node reaches it)',
    });
    // Said where the deployer looks as the confirmation emails arrive: a clicked link leaves unsubscribing to any GET.
    if ((props.approverEmails ?? []).length > 0) {
      new CfnOutput(this, 'ConfirmSubscriptions', {
        value:
          'Do not click the Confirm subscription links: run fleet-upgrade confirm-subscription --link <the link> for each, then fleet-upgrade subscriptions',
        description: 'approvers confirm with authenticated unsubscribe, so a mail scanner cannot unsubscribe them (docs/operator-guide.md)',
      });
    }
    new CfnOutput(this, 'CommandOutputLogGroup', {
      value: this.commandOutputLogs.logGroupName,
      description: "each step's whole output; the nodes' instance profile writes here",
    });
    new CfnOutput(this, 'RunbookVersion', { value: runbookDocument.runbookVersion });

    acknowledgeNagFindings(this);
  }
}
