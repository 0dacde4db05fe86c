import * as iam from 'aws-cdk-lib/aws-iam';
import type { Stack } from 'aws-cdk-lib';
import { CLUSTER_TAG } from '../core/node-tags.js';

/** SendCommand with the stack's document only, to nodes that carry the cluster tag only. */
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
