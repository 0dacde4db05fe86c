import { UnresolvableTemplateValueError } from './errors.js';

/** The subset of a synthesized template the policy reader needs. */
export interface TemplateResources {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

/** What `Ref` and `Fn::GetAtt` of one resource give locally. */
export interface LocalResource {
  type: string;
  ref: string;
  attributes: Record<string, string>;
}

export interface LocalResourceOptions {
  account: string;
  region: string;
  /** Logical id → physical name (table, document, state machine…); the logical id when absent. */
  names?: Record<string, string>;
}

/**
 * The local stand-in for every resource a policy may name, with real ARN shapes (unlike
 * `resolveIntrinsics`, which makes every `Fn::GetAtt …Arn` a Lambda ARN: right for the definition's
 * task resources, wrong for a table, key or log group in a policy). Functions keep their logical id as
 * name so their ARNs equal the placeholders the local definition invokes.
 */
export function localResources(template: TemplateResources, opts: LocalResourceOptions): Record<string, LocalResource> {
  const out: Record<string, LocalResource> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    const name = opts.names?.[id] ?? id;
    const local = describe(resource.Type, id, name, opts.account, opts.region);
    if (local) out[id] = { type: resource.Type, ...local };
  }
  return out;
}

function describe(type: string, id: string, name: string, account: string, region: string): Omit<LocalResource, 'type'> | undefined {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
  switch (type) {
    case 'AWS::Lambda::Function': {
      const a = arn('lambda', `function:${id}`);
      return { ref: id, attributes: { Arn: a } };
    }
    case 'AWS::DynamoDB::Table': {
      const a = arn('dynamodb', `table/${name}`);
      return { ref: name, attributes: { Arn: a, StreamArn: `${a}/stream/local` } };
    }
    case 'AWS::StepFunctions::StateMachine': {
      const a = arn('states', `stateMachine:${name}`);
      return { ref: a, attributes: { Arn: a, Name: name } };
    }
    case 'AWS::SSM::Document':
      return { ref: name, attributes: {} };
    case 'AWS::KMS::Key':
      return { ref: name, attributes: { Arn: arn('kms', `key/${name}`), KeyId: name } };
    case 'AWS::SNS::Topic': {
      const a = arn('sns', name);
      return { ref: a, attributes: { TopicArn: a, TopicName: name } };
    }
    case 'AWS::SecretsManager::Secret': {
      const a = arn('secretsmanager', `secret:${name}`);
      return { ref: a, attributes: { Id: a } };
    }
    case 'AWS::Logs::LogGroup':
      return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
    case 'AWS::IAM::Role':
      return { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: name } };
    case 'AWS::Events::Rule':
      return { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } };
    case 'AWS::SQS::Queue':
      return { ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`, attributes: { Arn: arn('sqs', name), QueueName: name } };
    default:
      return undefined;
  }
}

/**
 * Resolves the intrinsics CDK writes into policies (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split,
 * Fn::Sub) to plain strings. Anything else fails loudly: a policy half-resolved would allow or deny the
 * wrong thing.
 */
export function resolvePolicyValue(value: unknown, resources: Record<string, LocalResource>, opts: { account: string; region: string }): unknown {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': opts.region,
    'AWS::AccountId': opts.account,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const ref = (name: string): string => {
    const found = pseudo[name] ?? resources[name]?.ref;
    if (found === undefined) throw new UnresolvableTemplateValueError(`Ref ${name}: no such resource, or its type has no local stand-in`);
    return found;
  };
  const getAtt = (id: string, attr: string): string => {
    const found = resources[id]?.attributes[attr];
    if (found === undefined) throw new UnresolvableTemplateValueError(`Fn::GetAtt ${id}.${attr}: no local value (type ${resources[id]?.type ?? 'unknown'})`);
    return found;
  };
  const str = (v: unknown): string => {
    const r = resolve(v);
    if (typeof r !== 'string') throw new UnresolvableTemplateValueError(`expected a string, got ${JSON.stringify(r)}`);
    return r;
  };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v === null || typeof v !== 'object') return v;
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only === 'Ref') return ref(String(obj.Ref));
    if (only === 'Fn::GetAtt') {
      const raw = obj['Fn::GetAtt'];
      const [id, attr] = Array.isArray(raw) ? (raw as [string, string]) : (String(raw).split('.', 2) as [string, string]);
      return getAtt(id, attr);
    }
    if (only === 'Fn::Join') {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(str).join(sep);
    }
    if (only === 'Fn::Select') {
      const [index, list] = obj['Fn::Select'] as [unknown, unknown];
      const items = resolve(list);
      const picked = Array.isArray(items) ? (items as unknown[])[Number(resolve(index))] : undefined;
      if (picked === undefined) throw new UnresolvableTemplateValueError(`Fn::Select ${JSON.stringify(index)} is out of range`);
      return picked;
    }
    if (only === 'Fn::Split') {
      const [sep, source] = obj['Fn::Split'] as [string, unknown];
      return str(source).split(sep);
    }
    if (only === 'Fn::Sub') {
      const raw = obj['Fn::Sub'];
      const [text, vars] = Array.isArray(raw) ? (raw as [string, Record<string, unknown>]) : [String(raw), {}];
      return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
        if (bang === '!') return `\${${name}}`;
        if (name in vars) return str(vars[name]);
        const [id, attr] = name.split('.', 2) as [string, string | undefined];
        return attr === undefined ? ref(id) : getAtt(id, attr);
      });
    }
    if (only?.startsWith('Fn::') || only === 'Condition') throw new UnresolvableTemplateValueError(`${only} is not supported in policies`);
    return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve(value);
}
