import { randomUUID } from 'node:crypto';
import { evaluate } from './iam/evaluate.js';
import { policiesOf, type TemplatePolicies } from './iam/template-policies.js';
import { AwsJsonError, type JsonOperation } from './json-protocol.js';
import { LOCAL_ACCOUNT } from './state-machine-runner.js';
import type { CfnTemplate } from './template.js';

/** What `fleet-upgrade doctor` asks of AWS, answered for the local runtime from its template and sandboxes. */
export interface DoctorWorld {
  template: CfnTemplate;
  policies: TemplatePolicies;
  documentName: string;
  nodeIds: readonly string[];
  stackName: string;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function meta(): string {
  return `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`;
}

/** Query-protocol members `Name.member.N` in order. */
function members(form: URLSearchParams, name: string): string[] {
  const found: string[] = [];
  for (let i = 1; form.has(`${name}.member.${i}`); i++) found.push(form.get(`${name}.member.${i}`) ?? '');
  return found;
}

/** STS GetCallerIdentity: the local operator. */
function callerIdentity(): string {
  return (
    `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${LOCAL_ACCOUNT}:user/local-operator</Arn>` +
    `<UserId>AIDALOCALOPERATOR</UserId><Account>${LOCAL_ACCOUNT}</Account></GetCallerIdentityResult>${meta()}</GetCallerIdentityResponse>`
  );
}

/** CloudFormation DescribeStackResources: the template's roles, their physical names being their logical ids locally. */
function stackResources(world: DoctorWorld): string {
  const rows = Object.entries(world.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(
      ([id, r]) =>
        `<member><StackName>${xml(world.stackName)}</StackName><LogicalResourceId>${xml(id)}</LogicalResourceId><PhysicalResourceId>${xml(id)}</PhysicalResourceId>` +
        `<ResourceType>${xml(r.Type)}</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><Timestamp>2026-01-01T00:00:00Z</Timestamp></member>`,
    )
    .join('');
  return (
    `<DescribeStackResourcesResponse ` +
    `xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStackResourcesResult>` +
    `<StackResources>${rows}</StackResources></DescribeStackResourcesResult>${meta()}</DescribeStackResourcesResponse>`
  );
}

/** IAM SimulatePrincipalPolicy for a role of the template, judged by the same evaluator that enforces the rehearsal's calls. */
function simulate(world: DoctorWorld, form: URLSearchParams): string {
  const source = form.get('PolicySourceArn') ?? '';
  const role = /^arn:aws:iam::\d{12}:role\/(.+)$/.exec(source)?.[1];
  if (role === undefined || world.policies.roles[role] === undefined)
    throw new AwsJsonError('NoSuchEntity', `The role with name ${role ?? source} cannot be found.`, 404);
  const context: Record<string, string[]> = {};
  for (let i = 1; form.has(`ContextEntries.member.${i}.ContextKeyName`); i++) {
    context[form.get(`ContextEntries.member.${i}.ContextKeyName`) ?? ''] = members(form, `ContextEntries.member.${i}.ContextKeyValues`);
  }
  const context1 = Object.fromEntries(Object.entries(context).map(([k, v]) => [k, v.length === 1 ? (v[0] ?? '') : v]));
  const results = members(form, 'ActionNames').flatMap((action) =>
    (members(form, 'ResourceArns').length > 0 ? members(form, 'ResourceArns') : ['*']).map((resource) => {
      const decision = evaluate({ action, resource, context: context1 }, policiesOf(world.policies, role)).decision;
      const said = decision === 'Allow' ? 'allowed' : decision === 'ExplicitDeny' ? 'explicitDeny' : 'implicitDeny';
      return (
        `<member><EvalActionName>${xml(action)}</EvalActionName><EvalResourceName>${xml(resource)}</EvalResourceName>` +
        `<EvalDecision>${said}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`
      );
    }),
  );
  return (
    `<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>` +
    `<EvaluationResults>${results.join('')}</EvaluationResults></SimulatePrincipalPolicyResult>${meta()}</SimulatePrincipalPolicyResponse>`
  );
}

/** A Query-protocol request doctor makes (STS, CloudFormation resources, IAM simulation), or null when it is not one. */
export function answerDoctorQuery(world: DoctorWorld, form: URLSearchParams): string | null {
  switch (form.get('Action')) {
    case 'GetCallerIdentity':
      return callerIdentity();
    case 'DescribeStackResources':
      return stackResources(world);
    case 'SimulatePrincipalPolicy':
      return simulate(world, form);
    default:
      return null;
  }
}

/** SSM (JSON 1.1) operations doctor asks: the stack's document, and the sandbox nodes' agents (always online here). */
export function doctorSsmOperations(world: DoctorWorld): Record<string, JsonOperation> {
  return {
    DescribeDocument: (r) => {
      if (r.Name !== world.documentName) throw new AwsJsonError('InvalidDocument', `document ${String(r.Name)} does not exist`);
      return {
        Document: {
          Name: world.documentName,
          Status: 'Active',
          DocumentVersion: '1',
          DefaultVersion: '1',
          LatestVersion: '1',
          DocumentType: 'Command',
          PlatformTypes: ['Linux'],
        },
      };
    },
    DescribeInstanceInformation: (r) => {
      const filter = (r.Filters as { Key?: string; Values?: string[] }[] | undefined)?.find((f) => f.Key === 'InstanceIds')?.Values;
      const ids = world.nodeIds.filter((id) => filter === undefined || filter.includes(id));
      return {
        InstanceInformationList: ids.map((id) => ({
          InstanceId: id,
          PingStatus: 'Online',
          PlatformType: 'Linux',
          PlatformName: 'sandbox',
          ResourceType: 'EC2Instance',
          LastPingDateTime: Date.now() / 1000,
        })),
      };
    },
  };
}
