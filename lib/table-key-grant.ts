import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * DynamoDB uses the table's customer-managed key on the caller's behalf: the key actions a table grant gives,
 * spelled out (no wildcard), and only through DynamoDB. Nothing when the table has no key of its own.
 */
export function grantTableKeyViaDynamoDb(scope: Construct, table: dynamodb.ITable, grantee: iam.IGrantable): void {
  if (table.encryptionKey === undefined) return;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:Encrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:GenerateDataKey',
        'kms:GenerateDataKeyWithoutPlaintext',
      ],
      resources: [table.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(scope).region}.amazonaws.com` } },
    }),
  );
}
