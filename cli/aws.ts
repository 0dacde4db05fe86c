import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Command } from 'commander';
import { PauseStore } from '../adapters/pause-store.js';
import { CanaryStore } from '../adapters/canary-store.js';
import { Table } from '../adapters/table.js';
import { FleetStore } from '../adapters/store.js';
import { AwsUnreachableError, isUnreachable, unreachableHint, UsageError } from './errors.js';

/** Options every command that talks to the stack accepts (on the root program). */
export interface GlobalFlags {
  endpoint?: string;
  profile?: string;
  region?: string;
  stack: string;
  stateMachineArn?: string;
  table?: string;
}

/** Adds the global options to the root program. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option(
      '--endpoint <url>',
      'talk to this endpoint instead of AWS (e.g. `fleet-upgrade local serve`); env FLEET_UPGRADE_ENDPOINT',
      process.env.FLEET_UPGRADE_ENDPOINT,
    )
    .option('--region <region>', 'AWS region (default: the usual chain, AWS_REGION / profile)')
    .option('--profile <name>', 'AWS profile from ~/.aws/config (default: the usual chain, AWS_PROFILE)')
    .option('--stack <name>', 'the deployed stack whose outputs name the state machine and table', process.env.FLEET_UPGRADE_STACK ?? 'FleetUpgradeStack')
    .option('--state-machine-arn <arn>', 'skip the stack lookup: the state machine to use')
    .option('--table <name>', 'skip the stack lookup: the DynamoDB table to use');
}

/**
 * The AWS side of the CLI: SDK v3 clients from the usual credential/region chain, pointed at `--endpoint`
 * when one is given (the local runtime speaks the same protocols), and the stack's outputs.
 */
export class StackClients {
  readonly sfn: SFNClient;
  readonly db: DynamoDBDocumentClient;
  private readonly cfn: CloudFormationClient;
  /** Region, endpoint and credentials every client shares. */
  readonly config: { region?: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string }; maxAttempts: number };
  private readonly regional: SNSClient[] = [];
  private outputs: Promise<Record<string, string>> | undefined;

  constructor(private readonly flags: GlobalFlags) {
    if (flags.endpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(flags.endpoint)) {
      throw new UsageError(`--endpoint: expected a URL like http://127.0.0.1:4599, got ${JSON.stringify(flags.endpoint)}`);
    }
    if (flags.profile !== undefined) {
      if (!/^[A-Za-z0-9_.+@=,-]{1,64}$/.test(flags.profile))
        throw new UsageError(`--profile: expected a profile name from ~/.aws/config, got ${JSON.stringify(flags.profile)}`);
      // The SDK's default chain reads it: every client, including the ones doctor builds.
      process.env.AWS_PROFILE = flags.profile;
    }
    const local = flags.endpoint !== undefined;
    const config = {
      ...(flags.region ? { region: flags.region } : local && !process.env.AWS_REGION ? { region: 'us-east-1' } : {}),
      ...(local ? { endpoint: flags.endpoint } : {}),
      // A local endpoint accepts any credentials; do not require an AWS profile to rehearse.
      ...(local && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
      maxAttempts: 3,
    };
    this.config = config;
    this.sfn = new SFNClient(config);
    this.cfn = new CloudFormationClient(config);
    this.db = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
  }

  private async stackOutputs(): Promise<Record<string, string>> {
    this.outputs ??= (async () => {
      let out;
      try {
        out = await this.cfn.send(new DescribeStacksCommand({ StackName: this.flags.stack }));
      } catch (error) {
        const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (isUnreachable(error))
          throw new AwsUnreachableError(`cannot read the outputs of stack ${this.flags.stack}: ${why} (${unreachableHint(this.flags.endpoint)})`);
        throw new UsageError(
          `cannot read the outputs of stack ${this.flags.stack}: ${why} (deploy it with \`npx cdk deploy\`, pass --stack NAME, or --state-machine-arn and --table)`,
        );
      }
      const stack = out.Stacks?.[0];
      return Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
    })();
    return this.outputs;
  }

  private async output(key: string, flag: string | undefined): Promise<string> {
    if (flag !== undefined) return flag;
    const value = (await this.stackOutputs())[key];
    if (value === undefined || value === '') throw new UsageError(`stack ${this.flags.stack} has no output ${key}: is it a fleet-upgrade stack?`);
    return value;
  }

  stateMachineArn(): Promise<string> {
    return this.output('StateMachineArn', this.flags.stateMachineArn);
  }

  /** The operator topic (approval emails): `--topic-arn`, else the stack's TopicArn output. */
  topicArn(flag?: string): Promise<string> {
    return this.output('TopicArn', flag);
  }

  /** An SNS client in the topic's region (a topic answers only there), or at `--endpoint`. */
  sns(region: string): SNSClient {
    const client = new SNSClient({ ...this.config, region });
    this.regional.push(client);
    return client;
  }

  /** The stack's table name (its output, or --table). */
  async tableName(): Promise<string> {
    return this.output('TableName', this.flags.table);
  }

  async store(): Promise<FleetStore> {
    return new FleetStore(this.db, await this.output('TableName', this.flags.table));
  }

  /** Runs' canaries (`resume` keeps nodes held by an undecided canary), in the same table. */
  async canaries(): Promise<CanaryStore> {
    return new CanaryStore(new Table(this.db, await this.output('TableName', this.flags.table)));
  }

  /** Runs' pauses (`pause`, `resume`, `status`), in the same table. */
  async pauses(): Promise<PauseStore> {
    return new PauseStore(new Table(this.db, await this.output('TableName', this.flags.table)));
  }

  /** A run id (execution name) or an execution ARN → the execution ARN. */
  async executionArn(run: string): Promise<string> {
    if (run.startsWith('arn:')) return run;
    if (!/^[A-Za-z0-9_.-]{1,80}$/.test(run)) throw new UsageError(`<run>: expected a run id (execution name) or an execution ARN, got ${JSON.stringify(run)}`);
    const arn = await this.stateMachineArn();
    return `${arn.replace(':stateMachine:', ':execution:')}:${run}`;
  }

  /** The execution's page in the Step Functions console. */
  consoleUrl(executionArn: string): string {
    const region = executionArn.split(':')[3] ?? '';
    return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
  }

  destroy(): void {
    this.sfn.destroy();
    this.cfn.destroy();
    this.db.destroy();
    for (const client of this.regional) client.destroy();
  }
}

/** The global flags of the command being run. */
export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}
