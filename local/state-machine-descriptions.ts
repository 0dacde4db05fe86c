import { AwsJsonError } from './json-protocol.js';
import { page } from './list-page.js';
import { localResources, resolvePolicyValue } from './iam/local-resources.js';
import { LOCAL_ACCOUNT, LOCAL_CLEANUP_STATE_MACHINE_NAME, LOCAL_REGION, LOCAL_STATE_MACHINE_NAME, localArns, parseStatesArn } from './local-arns.js';
import type { CfnTemplate, LocalStackParts } from './template.js';

/** A state machine of the stack, as DescribeStateMachine answers for it (creationDate in epoch seconds). */
interface StateMachineDescription {
  stateMachineArn: string;
  name: string;
  status: 'ACTIVE';
  definition: string;
  roleArn: string;
  type: string;
  creationDate: number;
  loggingConfiguration: { level: string; includeExecutionData: boolean; destinations: { cloudWatchLogsLogGroup: { logGroupArn: string } }[] };
  tracingConfiguration: { enabled: boolean };
}

interface CfnLogging {
  Level?: string;
  IncludeExecutionData?: boolean;
  Destinations?: { CloudWatchLogsLogGroup?: { LogGroupArn?: string } }[];
}

/**
 * The stack's two state machines (the upgrade and the cleanup), described from the template as `local serve` runs
 * them: DescribeStateMachine and ListStateMachines, shapes as in the Step Functions API Reference
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html). The definition is the
 * one that runs locally: the template's, with the local placeholder function ARNs.
 */
export class LocalStateMachines {
  private readonly machines: StateMachineDescription[];

  constructor(template: CfnTemplate, parts: LocalStackParts, createdAt: number) {
    // Log groups keep the name the template gives them (the ARN a console links to); roles and the rest their logical id.
    const logGroupNames = Object.fromEntries(
      Object.entries(template.Resources)
        .filter(([, r]) => r.Type === 'AWS::Logs::LogGroup' && typeof r.Properties?.LogGroupName === 'string')
        .map(([id, r]) => [id, String(r.Properties?.LogGroupName)]),
    );
    const resources = localResources(template, { account: LOCAL_ACCOUNT, region: LOCAL_REGION, names: logGroupNames });
    const resolve = (value: unknown) => resolvePolicyValue(value, resources, { account: LOCAL_ACCOUNT, region: LOCAL_REGION });
    const describe = (logicalId: string, name: string, definition: Record<string, unknown>): StateMachineDescription => {
      const props = template.Resources[logicalId]?.Properties ?? {};
      const logging = (resolve(props.LoggingConfiguration ?? {}) ?? {}) as CfnLogging;
      return {
        stateMachineArn: localArns(name).stateMachine,
        name,
        status: 'ACTIVE',
        definition: JSON.stringify(definition),
        roleArn: String(resolve(props.RoleArn)),
        type: typeof props.StateMachineType === 'string' ? props.StateMachineType : 'STANDARD',
        creationDate: createdAt / 1000,
        loggingConfiguration: {
          level: logging.Level ?? 'OFF',
          includeExecutionData: logging.IncludeExecutionData ?? false,
          destinations: (logging.Destinations ?? []).map((d) => ({ cloudWatchLogsLogGroup: { logGroupArn: String(d.CloudWatchLogsLogGroup?.LogGroupArn) } })),
        },
        tracingConfiguration: { enabled: (props.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled === true },
      };
    };
    this.machines = [
      describe(parts.stateMachineLogicalId, LOCAL_STATE_MACHINE_NAME, parts.definition),
      describe(parts.cleanup.logicalId, LOCAL_CLEANUP_STATE_MACHINE_NAME, parts.cleanup.definition),
    ];
  }

  /** The role a state machine runs as (an execution's history names it). */
  roleArn(stateMachineArn: string): string {
    return this.find(stateMachineArn).roleArn;
  }

  /** DescribeStateMachine. A Distributed Map's labelled ARN (`<machine>/<label>`) is refused with ValidationException, as documented. */
  describe(r: Record<string, unknown>): StateMachineDescription {
    return this.find(r.stateMachineArn);
  }

  /** ListStateMachines, by name. */
  list(r: Record<string, unknown>): { stateMachines: unknown[]; nextToken?: string } {
    const sorted = [...this.machines].sort((a, b) => a.name.localeCompare(b.name));
    const { items, nextToken } = page(sorted, r);
    return {
      stateMachines: items.map((m) => ({ stateMachineArn: m.stateMachineArn, name: m.name, type: m.type, creationDate: m.creationDate })),
      ...(nextToken !== undefined ? { nextToken } : {}),
    };
  }

  private find(arn: unknown): StateMachineDescription {
    const parsed = parseStatesArn(arn);
    if (parsed?.type !== 'stateMachine') throw new AwsJsonError('InvalidArn', `Invalid Arn: '${String(arn)}' is not a state machine ARN`);
    const found = this.machines.find((m) => m.stateMachineArn === arn);
    if (found !== undefined) return found;
    const [name = '', label] = parsed.resource.split('/');
    if (label !== undefined && this.machines.some((m) => m.name === name))
      throw new AwsJsonError('ValidationException', `'${String(arn)}' names a Distributed Map's child workflows, not a state machine`);
    throw new AwsJsonError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
  }
}
