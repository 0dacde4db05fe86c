import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { CLUSTER_TAG } from '../core/node-tags.js';

/** Properties of a {@link CommandDocument}. */
export interface CommandDocumentProps {
  /** The document: SSM Command document schema 2.2, as `buildRunbookDocument` makes it from a runbook. */
  readonly content: Record<string, unknown>;
}

/**
 * The SSM Command document every step runs on the nodes, and who may send it. Each update makes a new version
 * of the same document (its name does not change under a running execution).
 */
export class CommandDocument extends Construct {
  /** The document's name (SendCommand's DocumentName; the `document-name` of its status events). */
  readonly documentName: string;
  /** The document's ARN. */
  readonly documentArn: string;

  constructor(scope: Construct, id: string, props: CommandDocumentProps) {
    super(scope, id);
    // 'Default': the resource's logical id is this construct's (RunbookDocument), the one deployed stacks have.
    const resource = new ssm.CfnDocument(this, 'Default', {
      documentType: 'Command',
      documentFormat: 'JSON',
      content: props.content,
      updateMethod: 'NewVersion',
    });
    this.documentName = resource.ref;
    this.documentArn = Stack.of(this).formatArn({ service: 'ssm', resource: 'document', resourceName: this.documentName });
  }

  /**
   * ssm:SendCommand with this document only, on the account's instances and hybrid managed instances that
   * carry the cluster tag. SendCommand authorizes the document and every target node separately, so the tag
   * condition sits in its own statement (a document has no such tag).
   *
   * Why tag-key existence and not `<tag> = <cluster>`: the cluster is a per-execution input, unknown at
   * deploy time, and the function's role cannot see it. So the role may run the runbook on any node
   * tagged `fleet-upgrade:cluster` (whatever the value) and on nothing else: untagged instances — other
   * workloads of the account — are out of reach even with a forged input; and the plan refuses listed
   * nodes whose tag names another cluster (core/cluster-membership.ts). `ssm:resourceTag/…` rather than
   * the global `aws:ResourceTag/…`: the Run Command guide shows the former for instances, and a global
   * key on SendCommand additionally needs `aws:ViaAWSService`.
   */
  grantSendCommand(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    return iam.Grant.addToPrincipal({ grantee, actions: ['ssm:SendCommand'], resourceArns: [this.documentArn] }).combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['ssm:SendCommand'],
        resourceArns: [
          stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
          stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }),
        ],
        conditions: { StringLike: { [`ssm:resourceTag/${CLUSTER_TAG}`]: '*' } },
      }),
    );
  }
}
