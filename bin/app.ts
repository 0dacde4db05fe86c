#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FleetUpgradeStack } from '../lib/fleet-upgrade-stack.js';

/**
 * CDK app: `npx cdk synth` / `npx cdk deploy -c artifactBaseUrl=https://… -c packageSigningPublicKey=MCowBQYDK2VwAyEA…
 * [-c runbook=release-dir] [-c approverEmails=a@x,b@y] [-c approvalIssuer=https://login.example.com]`.
 */
const app = new App();
// cdk-nag's AwsSolutions checks gate every synth and deploy: a finding the stack does not acknowledge
// (lib/nag.ts, each with its reason) fails the synth with a report.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
};
new FleetUpgradeStack(app, 'FleetUpgradeStack', {
  description: 'fleet-upgrade: rolling in-place upgrade of a role-based cluster (Step Functions, SSM, DynamoDB)',
  // Placeholder that cannot resolve: downloads fail before any node changes until an operator sets it.
  artifactBaseUrl: context('artifactBaseUrl') ?? 'https://artifacts.example.invalid/app',
  // No default: without the key nodes could not tell a real package from a forged one (synth refuses, naming it).
  packageSigningPublicKey: context('packageSigningPublicKey') ?? '',
  ...(context('runbook') ? { runbook: context('runbook') } : {}),
  ...(context('approverEmails') ? { approverEmails: context('approverEmails')?.split(',').map((e) => e.trim()) } : {}),
  ...(context('approvalIssuer') ? { approvalIssuer: context('approvalIssuer') } : {}),
});
