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
