import { AsyncLocalStorage } from 'node:async_hooks';
import { accessDeniedMessage, evaluate, type IamRequest } from './evaluate.js';
import { assumedRoleArn, policiesOf, type TemplatePolicies } from './template-policies.js';

/** A call the rehearsal refused, as AWS would have. */
export interface IamDenial {
  /** Handler name (`command-finished`) or `state machine`. */
  principal: string;
  logicalId: string;
  action: string;
  resource: string;
  /** AWS's AccessDeniedException message. */
  message: string;
  /** Which statement decided, or why none allowed. */
  reason: string;
}

/** AccessDeniedException as the SDK raises it from a service's answer: what handlers and retriers match on. */
export class AccessDeniedError extends Error {
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
  constructor(message: string) {
    super(message);
    this.name = 'AccessDeniedException';
  }
}

/** The SDK middleware context and arguments the check reads (a subset of smithy's). */
interface CallContext {
  commandName?: string;
}
type Handler = (args: { input: Record<string, unknown> }) => Promise<unknown>;
/** Any SDK v3 client: the check is one initialize-step middleware on its stack. */
export interface SdkClientLike {
  middlewareStack: { add: (middleware: (next: Handler, context: CallContext) => Handler, options: { step: 'initialize'; name: string }) => void };
}

/** lib-dynamodb's command names → the DynamoDB API action they call. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
  Query: 'Query',
  Scan: 'Scan',
};

/** The service prefix IAM uses for each client (by the SDK's client name). */
const SERVICE_PREFIX: Record<string, string> = {
  DynamoDBClient: 'dynamodb',
  SSMClient: 'ssm',
  SFNClient: 'states',
  SNSClient: 'sns',
  ResourceGroupsTaggingAPIClient: 'tag',
  SecretsManagerClient: 'secretsmanager',
  STSClient: 'sts',
  CloudWatchLogsClient: 'logs',
};

export interface IamEnforcerOptions {
  policies: TemplatePolicies;
  account: string;
  region: string;
  /** The `fleet-upgrade:cluster` tag every sandbox node carries (the rehearsal's nodes are the cluster's). */
  clusterTag: string;
  /** The state machine ARN a task token was issued under (`<machine>/<label>` inside a Distributed Map child). */
  tokenIssuer: (token: string) => string | undefined;
  /** Told of each denial as it happens (the rehearsal prints it and stops the run). */
  onDenied: (denial: IamDenial) => void;
}

/**
 * IAM, locally: every AWS call a handler makes (and every call the state machine makes) is judged against
 * that principal's policies from the synthesized template before it is sent, and a denied call fails with
 * AccessDeniedException, as in AWS. Calls made outside any principal (the rehearsal's own bookkeeping) pass.
 */
export class IamEnforcer {
  checked = 0;
  readonly denials: IamDenial[] = [];
  private readonly current = new AsyncLocalStorage<{ logicalId: string; name: string }>();

  constructor(private readonly opts: IamEnforcerOptions) {}

  /** Runs `fn` as the function `logicalId` (its handler name `name`): its calls are judged against its role. */
  as<T>(logicalId: string, name: string, fn: () => T): T {
    return this.current.run({ logicalId, name }, fn);
  }

  /** Adds the check to an SDK client (through adapters/aws-clients' hook, and to clients the rehearsal builds). */
  instrument(client: SdkClientLike, clientName: string): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const principal = this.current.getStore();
        if (principal !== undefined) this.check(principal.logicalId, principal.name, this.requestsOf(clientName, context.commandName ?? '', args.input));
        return next(args);
      },
      { step: 'initialize', name: 'fleetUpgradeLocalIam' },
    );
  }

  /** Judges requests as a principal; throws AccessDeniedError on the first one denied. */
  check(logicalId: string, name: string, requests: readonly IamRequest[]): void {
    const policies = policiesOf(this.opts.policies, logicalId);
    for (const request of requests) {
      this.checked += 1;
      const decision = evaluate(request, policies);
      if (decision.decision === 'Allow') continue;
      const message = accessDeniedMessage(assumedRoleArn(this.opts.policies, logicalId, this.opts.account), request, decision);
      const denial: IamDenial = { principal: name, logicalId, action: request.action, resource: request.resource, message, reason: decision.reason };
      this.denials.push(denial);
      this.opts.onDenied(denial);
      throw new AccessDeniedError(message);
    }
  }

  /** What IAM authorizes for one SDK call: one request per resource it touches. */
  requestsOf(clientName: string, commandName: string, input: Record<string, unknown>): IamRequest[] {
    const service = SERVICE_PREFIX[clientName] ?? clientName.replace(/Client$/, '').toLowerCase();
    const bare = commandName.replace(/Command$/, '');
    const operation = service === 'dynamodb' ? (DOCUMENT_COMMANDS[bare] ?? bare) : bare;
    const action = `${service}:${operation}`;
    const { account, region } = this.opts;
    const arn = (svc: string, resource: string) => `arn:aws:${svc}:${region}:${account}:${resource}`;
    switch (service) {
      case 'dynamodb':
        return dynamoTables(input).map(({ table, keys }) => ({
          action,
          resource: arn('dynamodb', `table/${table}`),
          context: { 'dynamodb:LeadingKeys': keys },
        }));
      case 'ssm':
        if (operation !== 'SendCommand') return [{ action, resource: '*' }];
        // SendCommand is authorized against the document and against every target node (with its tags).
        return [
          { action, resource: arn('ssm', `document/${String(input.DocumentName)}`) },
          ...((input.InstanceIds as string[] | undefined) ?? []).map((id) => ({
            action,
            resource: id.startsWith('mi-') ? arn('ssm', `managed-instance/${id}`) : arn('ec2', `instance/${id}`),
            context: { 'ssm:resourceTag/fleet-upgrade:cluster': this.opts.clusterTag },
          })),
        ];
      case 'states': {
        const token = typeof input.taskToken === 'string' ? input.taskToken : undefined;
        if (token !== undefined) return [{ action, resource: this.opts.tokenIssuer(token) ?? arn('states', 'stateMachine:unknown-token-issuer') }];
        return [
          {
            action,
            resource: typeof input.executionArn === 'string' ? input.executionArn : typeof input.stateMachineArn === 'string' ? input.stateMachineArn : '*',
          },
        ];
      }
      case 'sns':
        return [{ action, resource: String(input.TopicArn ?? '*') }];
      case 'logs': {
        // Log-group actions are authorized on `log-group:NAME:*`, stream actions on the stream.
        const group = arn('logs', `log-group:${String(input.logGroupName)}`);
        return [{ action, resource: typeof input.logStreamName === 'string' ? `${group}:log-stream:${input.logStreamName}` : `${group}:*` }];
      }
      case 'secretsmanager':
        return [{ action, resource: String(input.SecretId ?? '*') }];
      default:
        return [{ action, resource: '*' }];
    }
  }
}

/** A DynamoDB attribute as the document client (plain) or the low-level client (`{S: …}`) gives it. */
function plain(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { S?: unknown }).S === 'string') return (value as { S: string }).S;
  return undefined;
}

/** The tables a DynamoDB call touches and the partition keys it names (`dynamodb:LeadingKeys`). */
function dynamoTables(input: Record<string, unknown>): { table: string; keys: string[] }[] {
  const pkOf = (item: unknown) => plain((item as Record<string, unknown> | undefined)?.pk);
  if (typeof input.TableName === 'string') {
    const keys: (string | undefined)[] = [pkOf(input.Key), pkOf(input.Item)];
    const condition = typeof input.KeyConditionExpression === 'string' ? /\bpk\s*=\s*(:[A-Za-z0-9_]+)/.exec(input.KeyConditionExpression) : null;
    if (condition?.[1] !== undefined) keys.push(plain((input.ExpressionAttributeValues as Record<string, unknown> | undefined)?.[condition[1]]));
    return [{ table: input.TableName, keys: keys.filter((k): k is string => k !== undefined) }];
  }
  const batch = (input.RequestItems ?? {}) as Record<string, unknown>;
  return Object.entries(batch).map(([table, requests]) => ({
    table,
    keys: (Array.isArray(requests) ? requests : ((requests as { Keys?: unknown[] }).Keys ?? [])).flatMap((r: unknown) => {
      const w = r as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };
      return [pkOf(w.PutRequest?.Item), pkOf(w.DeleteRequest?.Key), pkOf(r)].filter((k): k is string => k !== undefined);
    }),
  }));
}
