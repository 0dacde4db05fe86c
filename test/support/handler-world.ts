import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalSsm, type LocalSsm, type CommandStatusChange } from '../../local/ssm-endpoint.js';
import type { LocalTaskTokens } from '../../local/task-tokens.js';
import { clusterInstances, startLocalTagging } from '../../local/tagging-endpoint.js';
import { resetClients } from '../../adapters/aws-clients.js';
import { handler as commandFinished } from '../../lambdas/command-finished/index.js';
import { localTable } from './dynamodb.js';

/** The two nodes of cluster `handlers` the handler tests run on. */
export const HANDLER_NODES = [
  { id: 'core-1', roles: ['primary'] },
  { id: 'dea-1', roles: ['dea'] },
];

/** A tiny document with the stack's parameter shape: the "step" prints a version and exits as asked by the step name. */
const document = {
  parameters: {
    step: { type: 'String', allowedPattern: '^[a-z-]+$' },
    targetVersion: { type: 'String', allowedPattern: '^[0-9.]+$' },
    artifactBaseUrl: { type: 'String', allowedPattern: '^http://[a-z0-9.:/]+$' },
    httpsProxy: { type: 'String', default: '', allowedPattern: '^$' },
    runId: { type: 'String', allowedPattern: '^[A-Za-z0-9.-]+$' },
    executionTimeout: { type: 'String', default: '60', allowedPattern: '^[0-9]+$' },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      inputs: {
        timeoutSeconds: '{{ executionTimeout }}',
        runCommand: [
          "step='{{ step }}'",
          // A rollback that takes a moment, for the cleanup that runs out of time.
          'case \'{{ runId }}\' in stopped-run-slow) [ "$step" = rollback ] && sleep 1 ;; esac',
          'case "$step" in',
          '  version-check) echo "checking"; echo \'{"version":"3.0.0"}\' ;;',
          '  download) echo "curl: (22) 404 Not Found" >&2; exit 4 ;;',
          // More than GetCommandInvocation returns (24,000 characters), the result line last.
          '  pre-upgrade-validation) i=0; while [ $i -lt 2000 ]; do echo "checking item $i of 2000"; i=$((i+1)); done; echo \'{"checked":2000}\' ;;',
          '  *) echo \'{"ok":true}\' ;;',
          'esac',
        ],
      },
    },
  ],
};

/**
 * What the handler tests run against: the local DynamoDB, a local SSM endpoint running the tiny document on two
 * directories, the nodes' tags, and the caller's task tokens; command status changes reach command-finished.
 */
export async function startHandlerWorld(tokens: LocalTaskTokens, events: CommandStatusChange[]): Promise<{ ssm: LocalSsm; stop(): Promise<void> }> {
  const dynamodb = await localTable();
  mkdirSync('.tmp', { recursive: true });
  const workdir = mkdtempSync(join('.tmp', 'handlers-'));
  mkdirSync(join(workdir, 'core-1'));
  mkdirSync(join(workdir, 'dea-1'));
  const ssm = await startLocalSsm({
    documentName: 'test-doc',
    document,
    nodeRoots: new Map([
      ['core-1', join(workdir, 'core-1')],
      ['dea-1', join(workdir, 'dea-1')],
    ]),
    workdir,
    onStatusChange: async (event) => {
      events.push(event);
      await commandFinished(event);
    },
  });
  // The listed nodes carry the cluster's tag, as the plan checks.
  const tagging = await startLocalTagging(clusterInstances('handlers', HANDLER_NODES));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: tagging.endpoint,
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: ssm.logsEndpoint,
    AWS_ENDPOINT_URL_SFN: await tokens.start(),
    DOCUMENT_NAME: 'test-doc',
    COMMAND_OUTPUT_LOG_GROUP: 'test-command-output',
    ARTIFACT_BASE_URL: 'http://127.0.0.1:1/artifacts',
  });
  resetClients();
  return {
    ssm,
    async stop() {
      await tagging.close();
      await ssm.close();
      await tokens.close();
      await dynamodb.stop();
    },
  };
}
