import * as iam from 'aws-cdk-lib/aws-iam';
import type { Stack } from 'aws-cdk-lib';
import { CLUSTER_TAG } from '../core/node-tags.js';

/**
 * ssm:SendCommand with the stack's own document only, on the account's instances and hybrid managed
 * instances that carry the cluster tag. SendCommand authorizes the document and every target node
 * separately, so the tag condition sits in its own statement (a document has no such tag).
 *
 * Why tag-key existence and not `<tag> = <cluster>`: the cluster is a per-execution input, unknown at
 * deploy time, and the function's role cannot see it. So the role may run the runbook on any node
 * tagged `fleet-upgrade:cluster` (whatever the value) and on nothing else: untagged instances — other
 * workloads of the account — are out of reach even with a forged input; and the plan refuses listed
 * nodes whose tag names another cluster (core/cluster-membership.ts). `ssm:resourceTag/…` rather than
 * the global `aws:ResourceTag/…`: the Run Command guide shows the former for instances, and a global
 * key on SendCommand additionally needs `aws:ViaAWSService`.
 */
export function sendCommandStatements(stack: Stack, documentArn: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources: [documentArn] }),
    new iam.PolicyStatement({
      actions: ['ssm:SendCommand'],
      resources: [
        stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
        stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }),
      ],
      conditions: { StringLike: { [`ssm:resourceTag/${CLUSTER_TAG}`]: '*' } },
    }),
  ];
}
