/**
 * StopExecution, locally. Step Functions starts no state after it; aws-local-stepfunctions' abort() settles
 * the result but lets running Map iterations go on to their next tasks, and leaves tasks that wait (for a
 * task token: an approval, a step) waiting, with their timeout timers alive.
 */
export class StopSwitch {
  private stopped = false;
  private readonly waiting = new Set<(error: Error) => void>();

  get aborted(): boolean {
    return this.stopped;
  }

  /** Stops: no task starts any more, `abort` ends the execution, then the tasks still running are let go. */
  stop(abort: () => void): void {
    this.stopped = true;
    // The execution is aborted before the tasks fail, so that no failure of theirs is caught and handled.
    abort();
    for (const reject of this.waiting) reject(new Error('the execution was stopped'));
    this.waiting.clear();
  }

  /**
   * Every task checks the switch before it starts, and a task still running when the execution stops
   * is let go at once (its work on the node goes on, as in AWS). `onStart` sees each task as it starts.
   */
  tasks(
    overrides: Record<string, (input: unknown) => Promise<unknown>>,
    onStart?: (stateName: string, input: unknown) => void,
    onResult?: (stateName: string, input: unknown, result: unknown) => void,
  ): Record<string, (input: unknown) => Promise<unknown>> {
    return Object.fromEntries(
      Object.entries(overrides).map(([stateName, run]) => [
        stateName,
        async (taskInput: unknown) => {
          if (this.stopped) throw new Error(`"${stateName}" not started: the execution was stopped`);
          onStart?.(stateName, taskInput);
          let reject: (error: Error) => void = () => undefined;
          const stopped = new Promise<never>((_, r) => {
            reject = r;
          });
          this.waiting.add(reject);
          try {
            const result = await Promise.race([run(taskInput), stopped]);
            onResult?.(stateName, taskInput, result);
            return result;
          } finally {
            this.waiting.delete(reject);
          }
        },
      ]),
    );
  }
}
