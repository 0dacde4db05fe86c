import { GetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SFNClient, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { IamEnforcer, type IamDenial, type SdkClientLike } from '../../local/iam/enforce.js';
import type { TemplatePolicies } from '../../local/iam/template-policies.js';

// The rehearsal judges each SDK call before it is sent, as the caller's role in the template.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t`;
const MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:FleetUpgrade`;

const policies: TemplatePolicies = {
  roles: {
    WriterRole: [
      {
        name: 'writer',
        document: {
          Statement: [
            { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:Query'], Resource: TABLE },
            { Effect: 'Allow', Action: 'states:SendTaskSuccess', Resource: MACHINE },
          ],
        },
      },
    ],
  },
  functionRoles: { WriterFn: 'WriterRole' },
  stateMachineRoles: {},
  resources: { WriterRole: { type: 'AWS::IAM::Role', ref: 'WriterRole', attributes: {} } },
};

function enforcer(issuers: Record<string, string> = {}) {
  const denials: IamDenial[] = [];
  const iam = new IamEnforcer({
    policies,
    account: ACCOUNT,
    region: REGION,
    clusterTag: 'demo',
    tokenIssuer: (t) => issuers[t],
    onDenied: (d) => denials.push(d),
  });
  return { iam, denials };
}

/** A client whose requests cannot reach anything: an allowed call fails on the network, a denied one never gets there. */
const offline = { endpoint: 'http://127.0.0.1:9', region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 };

describe('IAM in the rehearsal: each call judged as its caller before it is sent', () => {
  it("maps calls to IAM requests: the table and partition keys, SendCommand on the document and each tagged node, a token's issuer", () => {
    const { iam } = enforcer({ tok: `${MACHINE}/UpgradeNodes` });
    expect(iam.requestsOf('DynamoDBClient', 'PutCommand', { TableName: 't', Item: { pk: 'RUN#r', sk: 'STOP' } })).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE, context: { 'dynamodb:LeadingKeys': ['RUN#r'] } },
    ]);
    expect(
      iam.requestsOf('DynamoDBClient', 'QueryCommand', {
        TableName: 't',
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': { S: 'RUN#r' } },
      })[0]?.context,
    ).toEqual({ 'dynamodb:LeadingKeys': ['RUN#r'] });
    expect(iam.requestsOf('SSMClient', 'SendCommandCommand', { DocumentName: 'doc', InstanceIds: ['dea-1'] })).toEqual([
      { action: 'ssm:SendCommand', resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/doc` },
      { action: 'ssm:SendCommand', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/dea-1`, context: { 'ssm:resourceTag/fleet-upgrade:cluster': 'demo' } },
    ]);
    expect(iam.requestsOf('SFNClient', 'SendTaskSuccessCommand', { taskToken: 'tok', output: '{}' })).toEqual([
      { action: 'states:SendTaskSuccess', resource: `${MACHINE}/UpgradeNodes` },
    ]);
  });

  it('refuses a denied call with AccessDeniedException before it is sent, naming the role and action; lets an allowed one through', async () => {
    const { iam, denials } = enforcer({ child: `${MACHINE}/UpgradeNodes`, parent: MACHINE });
    const ddb = new DynamoDBClient(offline);
    iam.instrument(ddb as unknown as SdkClientLike, 'DynamoDBClient');
    const doc = DynamoDBDocumentClient.from(ddb);
    const sfn = new SFNClient(offline);
    iam.instrument(sfn as unknown as SdkClientLike, 'SFNClient');
    await iam.as('WriterFn', 'writer', async () => {
      await expect(ddb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringMatching(
          /assumed-role\/WriterRole\/WriterFn is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:.*:table\/t/,
        ),
      });
      // Allowed: the call goes on to the (unreachable) endpoint.
      await expect(doc.send(new PutCommand({ TableName: 't', Item: { pk: 'a', sk: 'b' } }))).rejects.not.toMatchObject({ name: 'AccessDeniedException' });
      await expect(
        doc.send(new QueryCommand({ TableName: 't', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'a' } })),
      ).rejects.not.toMatchObject({ name: 'AccessDeniedException' });
      // A Map child's token is checked against `<machine>/<label>`, which this role does not name.
      await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'child', output: '{}' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
      await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'parent', output: '{}' }))).rejects.not.toMatchObject({ name: 'AccessDeniedException' });
    });
    expect(denials.map((d) => `${d.principal} ${d.action} ${d.resource}`)).toEqual([
      `writer dynamodb:GetItem ${TABLE}`,
      `writer states:SendTaskSuccess ${MACHINE}/UpgradeNodes`,
    ]);
    expect(iam.checked).toBe(5);
    // Outside any function (the rehearsal's own bookkeeping) nothing is judged.
    await expect(ddb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }))).rejects.not.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(iam.checked).toBe(5);
    ddb.destroy();
    sfn.destroy();
  });
});
