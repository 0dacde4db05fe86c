/** Exit codes (DESIGN): 0 succeeded, 1 the run ended otherwise, 2 bad input or usage — nothing touched. */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** A usage problem detected by the CLI itself: exit 2 with the message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
