#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FleetUpgradeStack } from '../lib/fleet-upgrade-stack.js';
import type { ApprovalSignInProps } from '../lib/approval-page.js';

/**
 * CDK app: `npx cdk synth` / `npx cdk deploy -c artifactBaseUrl=https://… -c packageSigningPublicKey=MCowBQYDK2VwAyEA…
 * [-c runbook=release-dir] [-c approverEmails=a@x,b@y] [-c approvalIssuer=https://… -c approvalClientId=… -c approvalClientSecretArn=arn:… -c approvers=a@x,group:ops]`.
 */
const app = new App();
// cdk-nag's AwsSolutions checks gate every synth and deploy: a finding the stack does not acknowledge
// (lib/nag.ts, each with its reason) fails the synth with a report.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
};
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

new FleetUpgradeStack(app, 'FleetUpgradeStack', {
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
});
