/**
 * SSM's terminal command statuses: a command's (what the completion rule's events carry) and an invocation's
 * (GetCommandInvocation's Status) end in one of these, and nothing changes after.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html
 */
export const FINAL_COMMAND_STATUSES = ['Success', 'Failed', 'TimedOut', 'Cancelled'] as const;

/** The terminal StatusDetails that explain them; accepted as final too, should one arrive in place of a Status. */
export const FINAL_STATUS_DETAILS = ['DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated'] as const;

const FINAL: ReadonlySet<string> = new Set<string>([...FINAL_COMMAND_STATUSES, ...FINAL_STATUS_DETAILS]);

export function isFinalCommandStatus(status: string): boolean {
  return FINAL.has(status);
}

/** What GetCommandInvocation says about a command on one node (the fields the steps read). */
export interface CommandInvocation {
  status: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}
