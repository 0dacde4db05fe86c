import type { ApprovalSignInProps } from './approval-page.js';
import type { FleetUpgradeStackProps } from './fleet-upgrade-stack.js';

/** A context value: `-c key=value` or cdk.json's context; empty counts as unset. */
export type ContextReader = (key: string) => string | undefined;

/**
 * The stack's props from the CDK context (`-c key=value`): what `cdk synth` and `cdk deploy` build. Refuses a
 * half-configured sign-in naming the setting; the stack refuses a bad URL or key the same way.
 */
export function stackPropsFromContext(context: ContextReader): FleetUpgradeStackProps {
  /** Sign-in settings: all or nothing, so a half-configured provider fails the synth naming what is missing. */
  function approvalSignIn(): { approvalSignIn?: ApprovalSignInProps } {
    const issuer = context('approvalIssuer');
    const rest = { clientId: context('approvalClientId'), clientSecretArn: context('approvalClientSecretArn'), approvers: context('approvers') };
    if (issuer === undefined) {
      const stray = Object.entries({ approvalClientId: rest.clientId, approvalClientSecretArn: rest.clientSecretArn, approvers: rest.approvers }).find(
        ([, v]) => v !== undefined,
      );
      if (stray)
        throw new Error(`${stray[0]} is set but approvalIssuer is not: sign-in needs approvalIssuer, approvalClientId, approvalClientSecretArn and approvers`);
      return {};
    }
    for (const [name, value] of Object.entries({ approvalClientId: rest.clientId, approvalClientSecretArn: rest.clientSecretArn, approvers: rest.approvers })) {
      if (value === undefined)
        throw new Error(`${name}: required with approvalIssuer (sign-in needs approvalIssuer, approvalClientId, approvalClientSecretArn and approvers)`);
    }
    const groupsClaim = context('approvalGroupsClaim');
    return {
      approvalSignIn: {
        issuer,
        clientId: rest.clientId ?? '',
        clientSecretArn: rest.clientSecretArn ?? '',
        approvers: rest.approvers ?? '',
        ...(groupsClaim ? { groupsClaim } : {}),
      },
    };
  }

  return {
    description: 'fleet-upgrade: rolling in-place upgrade of a role-based cluster (Step Functions, SSM, DynamoDB)',
    // No default: a placeholder would deploy a stack whose every run fails at download (synth refuses, naming it).
    artifactBaseUrl: context('artifactBaseUrl') ?? '',
    // No default: without the key nodes could not tell a real package from a forged one (synth refuses, naming it).
    packageSigningPublicKey: context('packageSigningPublicKey') ?? '',
    ...(context('runbook') ? { runbook: context('runbook') } : {}),
    ...(context('approverEmails')
      ? {
          approverEmails: context('approverEmails')
            ?.split(',')
            .map((e) => e.trim()),
        }
      : {}),
    ...approvalSignIn(),
  };
}
