/** A policy the evaluator cannot judge faithfully (malformed, or a feature it does not implement): never guess. */
export class UnsupportedPolicyError extends Error {
  constructor(
    message: string,
    /** Where in the policy: `<policy> statement <sid or index>`. */
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'UnsupportedPolicyError';
  }
}

/** A template value the policy reader cannot turn into a plain string (an unknown resource type or intrinsic). */
export class UnresolvableTemplateValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableTemplateValueError';
  }
}
