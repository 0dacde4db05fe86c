import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-arns.js';

/** The stack name `local serve` answers DescribeStacks for (the CLI's default `--stack`). */
export const LOCAL_STACK_NAME = 'FleetUpgradeStack';

/** CloudFormation DescribeStacks (query protocol, XML), with the outputs the CLI reads. */
export function describeStacksXml(outputs: Record<string, string>, stackName: string | null): string {
  const members = Object.entries(outputs)
    .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
    .join('');
  return (
    `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
    `<StackName>${stackName ?? LOCAL_STACK_NAME}</StackName><StackId>arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stack/${LOCAL_STACK_NAME}/local</StackId>` +
    `<StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs>` +
    `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`
  );
}
