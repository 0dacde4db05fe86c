import { UnresolvableTemplateValueError } from './errors.js';
import type { NamedPolicy, PolicyDocument } from './evaluate.js';
import { localResources, resolvePolicyValue, type LocalResource, type TemplateResources } from './local-resources.js';

/** Every identity-based policy of the template's roles, and who runs under which role. */
export interface TemplatePolicies {
  /** Role logical id → its policies (inline `Policies`, AWS::IAM::Policy and template-defined managed policies). */
  roles: Record<string, NamedPolicy[]>;
  /** Lambda function logical id → role logical id. */
  functionRoles: Record<string, string>;
  /** State machine logical id → role logical id. */
  stateMachineRoles: Record<string, string>;
  /** What the policies were resolved with: the local name and ARNs of every resource (use the same when serving calls). */
  resources: Record<string, LocalResource>;
}

export interface TemplatePolicyOptions {
  account: string;
  region: string;
  /** Logical id → physical name (e.g. the table the rehearsal creates); the logical id when absent. */
  names?: Record<string, string>;
  /** Documents of managed policies attached by ARN (AWS managed ones are not in the template). */
  managedPolicies?: Record<string, PolicyDocument>;
}

/** Reads the policies of a synthesized template, resolved to plain ARNs of the local account and region. */
export function templatePolicies(template: TemplateResources, opts: TemplatePolicyOptions): TemplatePolicies {
  const resources = localResources(template, opts);
  const resolve = (v: unknown): unknown => resolvePolicyValue(v, resources, opts);
  const roles: Record<string, NamedPolicy[]> = {};
  const functionRoles: Record<string, string> = {};
  const stateMachineRoles: Record<string, string> = {};
  const add = (roleId: string, policy: NamedPolicy) => (roles[roleId] ??= []).push(policy);

  for (const [id, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Role') {
      roles[id] ??= [];
      for (const inline of (props.Policies as { PolicyName: unknown; PolicyDocument: unknown }[] | undefined) ?? []) {
        add(id, { name: `${id}/${String(resolve(inline.PolicyName))}`, document: resolve(inline.PolicyDocument) as PolicyDocument });
      }
      for (const raw of (props.ManagedPolicyArns as unknown[] | undefined) ?? []) {
        const managedId = templateManagedPolicy(raw, template);
        if (managedId !== undefined) {
          add(id, { name: managedId, document: resolve(template.Resources[managedId]?.Properties?.PolicyDocument) as PolicyDocument });
          continue;
        }
        const arn = String(resolve(raw));
        const document = opts.managedPolicies?.[arn];
        // An AWS managed policy is not in the template: judging without it would deny what AWS allows.
        if (document === undefined)
          throw new UnresolvableTemplateValueError(`role ${id} has the managed policy ${arn}, whose document is not given (managedPolicies)`);
        add(id, { name: arn, document });
      }
    }
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      const name = resource.Type === 'AWS::IAM::Policy' ? String(resolve(props.PolicyName ?? id)) : id;
      for (const roleRef of (props.Roles as unknown[] | undefined) ?? []) {
        const roleId = logicalIdOf(roleRef, 'Ref');
        if (roleId === undefined) throw new UnresolvableTemplateValueError(`${id} is attached to a role outside the template (${JSON.stringify(roleRef)})`);
        add(roleId, { name, document: resolve(props.PolicyDocument) as PolicyDocument });
      }
    }
    if (resource.Type === 'AWS::Lambda::Function') {
      const roleId = logicalIdOf(props.Role, 'Fn::GetAtt');
      if (roleId !== undefined) functionRoles[id] = roleId;
    }
    if (resource.Type === 'AWS::StepFunctions::StateMachine') {
      const roleId = logicalIdOf(props.RoleArn, 'Fn::GetAtt');
      if (roleId !== undefined) stateMachineRoles[id] = roleId;
    }
  }
  return { roles, functionRoles, stateMachineRoles, resources };
}

/** The policies a function, state machine or role runs with (by logical id). */
export function policiesOf(policies: TemplatePolicies, logicalId: string): NamedPolicy[] {
  const roleId = policies.functionRoles[logicalId] ?? policies.stateMachineRoles[logicalId] ?? logicalId;
  const found = policies.roles[roleId];
  if (found === undefined) throw new UnresolvableTemplateValueError(`${logicalId} has no role defined in the template`);
  return found;
}

/** The role ARN a principal's calls are made as, for AccessDenied messages (`assumed-role/<role>/<session>`). */
export function assumedRoleArn(policies: TemplatePolicies, logicalId: string, account: string): string {
  const roleId = policies.functionRoles[logicalId] ?? policies.stateMachineRoles[logicalId] ?? logicalId;
  return `arn:aws:sts::${account}:assumed-role/${policies.resources[roleId]?.ref ?? roleId}/${logicalId}`;
}

/** `{Ref: X}` or `{Fn::GetAtt: [X, Arn]}` → X; anything else (a literal ARN of an imported role) → undefined. */
function logicalIdOf(value: unknown, form: 'Ref' | 'Fn::GetAtt'): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const raw = (value as Record<string, unknown>)[form];
  if (form === 'Ref') return typeof raw === 'string' ? raw : undefined;
  if (Array.isArray(raw) && typeof raw[0] === 'string') return raw[0];
  return typeof raw === 'string' ? raw.split('.')[0] : undefined;
}

/** The logical id a ManagedPolicyArns entry refers to, when it is a template-defined managed policy. */
function templateManagedPolicy(value: unknown, template: TemplateResources): string | undefined {
  const id = logicalIdOf(value, 'Ref');
  return id !== undefined && template.Resources[id]?.Type === 'AWS::IAM::ManagedPolicy' ? id : undefined;
}
