#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FleetUpgradeStack } from '../lib/fleet-upgrade-stack.js';
import { stackPropsFromContext } from '../lib/app-context.js';

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
new FleetUpgradeStack(app, 'FleetUpgradeStack', stackPropsFromContext(context));
