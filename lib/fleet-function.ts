import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HANDLER_METADATA_KEY } from './metadata-keys.js';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export { HANDLER_METADATA_KEY };

/** Properties of a {@link FleetFunction}. */
export interface FleetFunctionProps {
  /** The handler's folder under `lambdas/` (`run-step` is `lambdas/run-step/index.ts`); also its handler metadata. */
  readonly handler: string;
  /** What the function does, for the console: shown after `fleet-upgrade: `. */
  readonly description: string;
  /** Environment variables of the function (more can be added with `addEnvironment`). @default none */
  readonly environment?: Record<string, string>;
  /** How long an invocation may run. @default 30 seconds */
  readonly timeout?: Duration;
}

/**
 * One of the stack's Lambda functions, built the way all of them are: the handler bundled by esbuild as ESM for
 * Node 22 on arm64 (the SDK left to the runtime), JSON logs to a log group of its own, and a role of its own that
 * may write to that group only (not AWSLambdaBasicExecutionRole's logs:* on every group).
 *
 * The log group and the role are created beside the function in `scope`, as `<Handler>Logs` and `<Handler>Role`
 * (`RunStepLogs` for `run-step`): the logical ids deployed stacks have, so a deploy never replaces them.
 */
export class FleetFunction extends nodejs.NodejsFunction {
  /** The handler's folder under `lambdas/`. */
  readonly handlerName: string;

  constructor(scope: Construct, id: string, props: FleetFunctionProps) {
    if (!/^[a-z][a-z0-9-]*$/.test(props.handler) || !existsSync(join(PROJECT_ROOT, 'lambdas', props.handler, 'index.ts'))) {
      throw new Error(`FleetFunction ${id}: handler: expected the name of a folder under lambdas/ holding index.ts, got ${JSON.stringify(props.handler)}`);
    }
    const name = pascal(props.handler);
    const logGroup = new logs.LogGroup(scope, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(scope, `${name}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `fleet-upgrade: the ${props.handler} function`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(PROJECT_ROOT, 'lambdas', props.handler, 'index.ts'),
      handler: 'handler',
      description: `fleet-upgrade: ${props.description}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.seconds(30),
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      role,
      environment: props.environment,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // The SDK is in the Lambda runtime; powertools and zod are bundled.
        externalModules: ['@aws-sdk/*'],
        mainFields: ['module', 'main'],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    });
    this.handlerName = props.handler;
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(HANDLER_METADATA_KEY, props.handler);
  }
}

/** `run-step` → `RunStep`. */
function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
}
