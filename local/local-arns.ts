/** Account and region of everything local (the synthesized template's pseudo parameters too). */
export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

/** The state machine's name locally (rehearsal and local serve): policies name its ARN, tokens are issued under it. */
export const LOCAL_STATE_MACHINE_NAME = 'FleetUpgrade';
/** The cleanup state machine's name locally (run-stopped starts its executions). */
export const LOCAL_CLEANUP_STATE_MACHINE_NAME = 'FleetUpgradeCleanup';

/** The ARNs of a local state machine and of its executions. */
export function localArns(stateMachineName = LOCAL_STATE_MACHINE_NAME): { stateMachine: string; execution: (name: string) => string } {
  const base = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}`;
  return { stateMachine: `${base}:stateMachine:${stateMachineName}`, execution: (name) => `${base}:execution:${stateMachineName}:${name}` };
}

/** The resource type (`stateMachine`, `execution`, `mapRun`, …) and the rest of a Step Functions ARN; undefined for anything else. */
export function parseStatesArn(arn: unknown): { type: string; resource: string } | undefined {
  const match = typeof arn === 'string' ? /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:([A-Za-z]+):(.+)$/.exec(arn) : null;
  return match === null ? undefined : { type: match[1] as string, resource: match[2] as string };
}
