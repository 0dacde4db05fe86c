import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FleetUpgradeStack } from '../../lib/fleet-upgrade-stack.js';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

function synth(approverEmails?: string[]): Template {
  mkdirSync('.tmp', { recursive: true });
  const app = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-test-')), context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(
    new FleetUpgradeStack(app, 'FleetUpgradeStack', {
      artifactBaseUrl: 'https://artifacts.example.com/app',
      packageSigningPublicKey: TEST_PACKAGE_KEY,
      ...(approverEmails ? { approverEmails } : {}),
    }),
  );
}

describe('the stack tells the deployer how approvers confirm their subscriptions', () => {
  it('outputs ConfirmSubscriptions (run confirm-subscription, do not click) beside the email subscriptions', () => {
    const template = synth(['ops@example.com', 'oncall@example.com']);
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasOutput('ConfirmSubscriptions', {
      Value: Match.stringLikeRegexp('^Do not click the Confirm subscription links: run fleet-upgrade confirm-subscription --link'),
    });
  });

  it('has no such output when nobody is subscribed', () => {
    expect(Object.keys(synth().findOutputs('ConfirmSubscriptions'))).toEqual([]);
  });
});
