import { setClientHook } from '../../adapters/aws-clients.js';
import { LOCAL_ACCOUNT, LOCAL_CLEANUP_STATE_MACHINE_NAME, LOCAL_REGION, localArns, type RunnerEvent } from '../state-machine-runner.js';
import { distributedMaps } from '../asl-states.js';
import type { LocalTaskTokens } from '../task-tokens.js';
import type { CfnTemplate, LocalStackParts } from '../template.js';
import { IamEnforcer, type IamDenial, type SdkClientLike } from './enforce.js';
import { templatePolicies, type TemplatePolicies } from './template-policies.js';

/** IAM for a local stack (the rehearsal, `local serve`): who may call what, from the template that runs. */
export interface LocalIam {
  readonly enforcer: IamEnforcer;
  /** The template's policies, resolved to local names (what the enforcer judges by; doctor's simulation too). */
  readonly policies: TemplatePolicies;
  /** The state machine's ARN locally: policies name it, task tokens are issued under it (or `<arn>/<label>`). */
  readonly stateMachineArn: string;
  /** The operator topic's ARN as the policies name it (TOPIC_ARN for the handlers), when the template has one. */
  readonly topicArn: string | undefined;
  /** A handler run as its function (by handler name): its AWS calls are judged against that function's role. */
  asFunction<E, R>(name: string, handler: (event: E) => Promise<R>): (event: E) => Promise<R>;
  /** The cleanup state machine's ARN locally (run-stopped starts it). */
  readonly cleanupStateMachineArn: string;
  /** Judges a call a state machine itself makes (invoking a function, starting Map children); throws when denied. */
  asStateMachine(action: string, resource: string, machine?: 'upgrade' | 'cleanup'): void;
  /**
   * A watcher of the upgrade execution's events: a Distributed Map starts its children as executions of the
   * state machine, which its role must allow (states:StartExecution). A denial is reported through onDenied.
   */
  mapChildrenCheck(definition: Record<string, unknown>): (event: RunnerEvent) => void;
  /** Takes the check off the SDK clients built from now on. */
  uninstall(): void;
}

/**
 * Reads the template's policies, and adds the check to every SDK client the handlers build from now on (the
 * client hook of adapters/aws-clients; none in Lambda). Names: the local table, document and state machine.
 */
export function localIam(
  template: CfnTemplate,
  parts: LocalStackParts,
  opts: {
    tableName: string;
    documentName: string;
    stateMachineName: string;
    /** The `fleet-upgrade:cluster` tag of every local node. */
    clusterTag: string;
    tokens: LocalTaskTokens;
    onDenied: (denial: IamDenial) => void;
  },
): LocalIam {
  const idOf = (type: string) => Object.entries(template.Resources).find(([, r]) => r.Type === type)?.[0];
  const machineId = parts.stateMachineLogicalId;
  const cleanupId = parts.cleanup.logicalId;
  const topicId = idOf('AWS::SNS::Topic');
  const policies = templatePolicies(template, {
    account: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
    names: {
      [parts.table.logicalId]: opts.tableName,
      [parts.documentLogicalId]: opts.documentName,
      [machineId]: opts.stateMachineName,
      [cleanupId]: LOCAL_CLEANUP_STATE_MACHINE_NAME,
    },
  });
  const enforcer = new IamEnforcer({
    policies,
    account: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
    clusterTag: opts.clusterTag,
    tokenIssuer: (token) => opts.tokens.issuerOf(token),
    onDenied: opts.onDenied,
  });
  const functionIds = new Map(Object.entries(parts.handlers).map(([id, name]) => [name, id]));
  // The cast: the check needs only the middleware stack's add(), which every v3 client has.
  setClientHook((client, name) => enforcer.instrument(client as unknown as SdkClientLike, name));
  return {
    enforcer,
    policies,
    stateMachineArn: localArns(opts.stateMachineName).stateMachine,
    cleanupStateMachineArn: localArns(LOCAL_CLEANUP_STATE_MACHINE_NAME).stateMachine,
    topicArn: topicId === undefined ? undefined : policies.resources[topicId]?.ref,
    asFunction: (name, handler) => (event) => enforcer.as(functionIds.get(name) ?? name, name, () => handler(event)),
    asStateMachine: (action, resource, machine = 'upgrade') =>
      enforcer.check(machine === 'upgrade' ? machineId : cleanupId, machine === 'upgrade' ? 'state machine' : 'cleanup state machine', [{ action, resource }]),
    mapChildrenCheck: (definition) => {
      const distributed = distributedMaps(definition);
      const machineArn = localArns(opts.stateMachineName).stateMachine;
      return (event) => {
        if (event.type !== 'MapStateEntered' || event.stateName === undefined || !distributed.has(event.stateName)) return;
        try {
          enforcer.check(machineId, 'state machine', [{ action: 'states:StartExecution', resource: machineArn }]);
        } catch {
          // Recorded, and reported through onDenied.
        }
      };
    },
    uninstall: () => setClientHook(undefined),
  };
}
