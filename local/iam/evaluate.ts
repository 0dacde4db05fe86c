import { UnsupportedPolicyError } from './errors.js';

/**
 * A focused evaluator of identity-based IAM policies: the features the synthesized stack uses and the
 * common ones around them, judged as the IAM User Guide documents them:
 * - "Policy evaluation logic" (reference_policies_evaluation-logic.html and
 *   reference_policies_evaluation-logic_policy-eval-denyallow.html): an explicit Deny wins, then any Allow,
 *   else an implicit deny.
 * - "IAM JSON policy elements: Resource" (reference_policies_elements_resource.html): wildcards within ARN
 *   segments; a `*` that ends a segment may reach past colons.
 * - "IAM JSON policy elements: Condition operators" (reference_policies_elements_condition_operators.html).
 * - "Conditions with multiple context keys or values" (reference_policies_condition-logic-multiple-context-keys-or-values.html):
 *   operators and keys ANDed, values ORed, values of a negated operator NORed.
 * - "Single-valued vs. multivalued context keys" and its set operators ForAllValues / ForAnyValue.
 *
 * Not covered (an UnsupportedPolicyError, never a silent guess): policy variables (`${aws:username}`),
 * IpAddress/NotIpAddress, Principal/NotPrincipal (identity policies have none), unknown operators.
 * Resource-based policies, permissions boundaries, SCPs and session policies are outside this function:
 * the stack has none that a handler's call meets.
 */

/** A value in the request context: multivalued keys (`dynamodb:LeadingKeys`) are arrays. */
export type ContextValue = string | number | boolean | readonly string[];

/** One authorization question: may the principal do `action` on `resource`? */
export interface IamRequest {
  /** `service:Action`, e.g. `ssm:SendCommand` (matched case-insensitively). */
  action: string;
  /** The resource ARN the call is authorized against, or `*` for actions without resource-level permissions. */
  resource: string;
  /** Condition keys of the request and of this resource (`ssm:resourceTag/…`, `dynamodb:LeadingKeys`, `kms:ViaService`). */
  context?: Readonly<Record<string, ContextValue | undefined>>;
}

type OneOrMany<T> = T | readonly T[];

/** A statement as written in a policy document (already plain JSON: no CloudFormation intrinsics). */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: OneOrMany<string>;
  NotAction?: OneOrMany<string>;
  Resource?: OneOrMany<string>;
  NotResource?: OneOrMany<string>;
  Condition?: Record<string, Record<string, OneOrMany<string | number | boolean>>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: OneOrMany<PolicyStatement>;
}

/** A policy attached to the principal, named so a decision can say where it came from. */
export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

export type DecisionKind = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface MatchedStatement {
  policy: string;
  /** Position of the statement in its policy (0-based). */
  index: number;
  sid?: string;
  statement: PolicyStatement;
}

export interface Decision {
  decision: DecisionKind;
  /** The Deny that decided, or the first Allow that matched. */
  matchedStatement?: MatchedStatement;
  /** One line an operator can act on: which statement decided, or why none allowed. */
  reason: string;
}

/** Decides one request against a principal's identity-based policies. */
export function evaluate(request: IamRequest, policies: readonly NamedPolicy[]): Decision {
  const context = lowerCaseKeys(request.context ?? {});
  let allow: MatchedStatement | undefined;
  // Statements that named the action and resource but whose condition failed: the likeliest fix for a denial.
  const nearMisses: string[] = [];
  for (const policy of policies) {
    for (const [index, statement] of statementsOf(policy.document).entries()) {
      const where = `${policy.name} statement ${statement.Sid ?? index}`;
      const applies = statementApplies(statement, request, context, where);
      const found: MatchedStatement = { policy: policy.name, index, statement, ...(statement.Sid === undefined ? {} : { sid: statement.Sid }) };
      if (applies === true) {
        // An explicit deny overrides any allow, so the first one decides.
        if (statement.Effect === 'Deny') return { decision: 'ExplicitDeny', matchedStatement: found, reason: `explicitly denied by ${where}` };
        allow ??= found;
      } else if (applies !== false && statement.Effect === 'Allow') {
        nearMisses.push(`${where} names it but its condition is false: ${applies.failed}`);
      }
    }
  }
  if (allow) return { decision: 'Allow', matchedStatement: allow, reason: `allowed by ${allow.policy} statement ${allow.sid ?? allow.index}` };
  const base = `no statement allows ${request.action} on ${request.resource}`;
  return { decision: 'ImplicitDeny', reason: nearMisses.length === 0 ? base : `${base}; ${nearMisses.join('; ')}` };
}

/** AWS's wording of a denial, for the AccessDeniedException message a local service answers with. */
export function accessDeniedMessage(principalArn: string, request: IamRequest, decision: Decision): string {
  const why =
    decision.decision === 'ExplicitDeny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${request.action} action`;
  return `User: ${principalArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`;
}

function statementsOf(document: PolicyDocument): readonly PolicyStatement[] {
  return toArray(document.Statement);
}

function toArray<T>(value: OneOrMany<T> | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** true when the statement applies, false when action or resource do not match, else the condition that failed. */
function statementApplies(statement: PolicyStatement, request: IamRequest, context: ContextMap, where: string): boolean | { failed: string } {
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')
    throw new UnsupportedPolicyError(`Effect must be Allow or Deny, not ${String(statement.Effect)}`, where);
  if ((statement.Action === undefined) === (statement.NotAction === undefined))
    throw new UnsupportedPolicyError('a statement needs exactly one of Action and NotAction', where);
  if ((statement.Resource === undefined) === (statement.NotResource === undefined))
    throw new UnsupportedPolicyError('an identity-based statement needs exactly one of Resource and NotResource', where);
  if ('Principal' in statement || 'NotPrincipal' in statement)
    throw new UnsupportedPolicyError('Principal belongs in resource-based policies, not identity-based ones', where);

  const actionHit =
    statement.Action !== undefined
      ? toArray(statement.Action).some((p) => actionMatches(p, request.action))
      : !toArray(statement.NotAction).some((p) => actionMatches(p, request.action));
  if (!actionHit) return false;
  const resourceHit =
    statement.Resource !== undefined
      ? toArray(statement.Resource).some((p) => resourceMatches(p, request.resource, where))
      : !toArray(statement.NotResource).some((p) => resourceMatches(p, request.resource, where));
  if (!resourceHit) return false;
  const failed = failedCondition(statement.Condition ?? {}, context, where);
  return failed === undefined ? true : { failed };
}

/** Action names are case-insensitive; `*` and `?` wildcards match anywhere in the name. */
export function actionMatches(pattern: string, action: string): boolean {
  return globRegExp(pattern, { ignoreCase: true, arnSegments: false }).test(action);
}

/**
 * ARNs are case-sensitive. Wildcards stay within a colon-delimited segment, except a `*` that ends a
 * segment, which may reach past colons (IAM User Guide, "IAM JSON policy elements: Resource").
 */
export function resourceMatches(pattern: string, resource: string, where = 'policy'): boolean {
  rejectVariables(pattern, where);
  return globRegExp(pattern, { ignoreCase: false, arnSegments: true }).test(resource);
}

const globCache = new Map<string, RegExp>();

function globRegExp(pattern: string, opts: { ignoreCase: boolean; arnSegments: boolean }): RegExp {
  const cacheKey = `${opts.ignoreCase ? 'i' : 'c'}${opts.arnSegments ? 'a' : 's'}${pattern}`;
  const cached = globCache.get(cacheKey);
  if (cached) return cached;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const endsSegment = i === pattern.length - 1 || pattern[i + 1] === ':';
    if (c === '*') source += opts.arnSegments && !endsSegment ? '[^:]*' : '.*';
    else if (c === '?') source += opts.arnSegments ? '[^:]' : '.';
    else source += c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`, opts.ignoreCase ? 'is' : 's');
  globCache.set(cacheKey, re);
  return re;
}

function rejectVariables(value: string, where: string): void {
  if (value.includes('${')) throw new UnsupportedPolicyError(`policy variables are not supported (${value})`, where);
}

// ---- Conditions ----------------------------------------------------------------------------------

/** Context keys are case-insensitive (IAM User Guide, "IAM JSON policy elements: Condition"). */
type ContextMap = ReadonlyMap<string, readonly string[]>;

function lowerCaseKeys(context: Readonly<Record<string, ContextValue | undefined>>): ContextMap {
  const out = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(context)) {
    if (value === undefined) continue;
    out.set(key.toLowerCase(), Array.isArray(value) ? (value as readonly string[]).map(String) : [String(value)]);
  }
  return out;
}

type Compare = (requestValue: string, policyValue: string) => boolean;

interface BaseOperator {
  compare: Compare;
  /** StringNotEquals, ArnNotLike…: the request must match none of the policy's values. */
  negated: boolean;
}

const stringLike: Compare = (v, p) => globRegExp(p, { ignoreCase: false, arnSegments: false }).test(v);
const arnLike: Compare = (v, p) => v.split(':').length >= 6 && globRegExp(p, { ignoreCase: false, arnSegments: true }).test(v);
const numeric =
  (test: (a: number, b: number) => boolean): Compare =>
  (v, p) => {
    const a = Number(v);
    const b = Number(p);
    return v.trim() !== '' && p.trim() !== '' && !Number.isNaN(a) && !Number.isNaN(b) && test(a, b);
  };
/** Dates are ISO 8601 or epoch seconds. */
const toEpochMs = (s: string): number => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));
const date =
  (test: (a: number, b: number) => boolean): Compare =>
  (v, p) => {
    const a = toEpochMs(v);
    const b = toEpochMs(p);
    return !Number.isNaN(a) && !Number.isNaN(b) && test(a, b);
  };

const BASE_OPERATORS: Record<string, BaseOperator> = {
  StringEquals: { compare: (v, p) => v === p, negated: false },
  StringNotEquals: { compare: (v, p) => v === p, negated: true },
  StringEqualsIgnoreCase: { compare: (v, p) => v.toLowerCase() === p.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { compare: (v, p) => v.toLowerCase() === p.toLowerCase(), negated: true },
  StringLike: { compare: stringLike, negated: false },
  StringNotLike: { compare: stringLike, negated: true },
  // ArnEquals and ArnLike behave alike: both match segment by segment with wildcards.
  ArnEquals: { compare: arnLike, negated: false },
  ArnLike: { compare: arnLike, negated: false },
  ArnNotEquals: { compare: arnLike, negated: true },
  ArnNotLike: { compare: arnLike, negated: true },
  NumericEquals: { compare: numeric((a, b) => a === b), negated: false },
  NumericNotEquals: { compare: numeric((a, b) => a === b), negated: true },
  NumericLessThan: { compare: numeric((a, b) => a < b), negated: false },
  NumericLessThanEquals: { compare: numeric((a, b) => a <= b), negated: false },
  NumericGreaterThan: { compare: numeric((a, b) => a > b), negated: false },
  NumericGreaterThanEquals: { compare: numeric((a, b) => a >= b), negated: false },
  DateEquals: { compare: date((a, b) => a === b), negated: false },
  DateNotEquals: { compare: date((a, b) => a === b), negated: true },
  DateLessThan: { compare: date((a, b) => a < b), negated: false },
  DateLessThanEquals: { compare: date((a, b) => a <= b), negated: false },
  DateGreaterThan: { compare: date((a, b) => a > b), negated: false },
  DateGreaterThanEquals: { compare: date((a, b) => a >= b), negated: false },
  Bool: { compare: (v, p) => v.toLowerCase() === p.toLowerCase(), negated: false },
  BinaryEquals: { compare: (v, p) => v === p, negated: false },
};

interface ParsedOperator {
  name: string;
  set?: 'ForAllValues' | 'ForAnyValue';
  ifExists: boolean;
  /** undefined for Null, which tests presence only. */
  base?: BaseOperator;
}

function parseOperator(name: string, where: string): ParsedOperator {
  const [prefix, rest] = name.includes(':') ? (name.split(':', 2) as [string, string]) : [undefined, name];
  if (prefix !== undefined && prefix !== 'ForAllValues' && prefix !== 'ForAnyValue')
    throw new UnsupportedPolicyError(`unknown condition set operator ${prefix}`, where);
  if (rest === 'Null') {
    if (prefix !== undefined) throw new UnsupportedPolicyError(`${name}: Null takes no set operator`, where);
    return { name, ifExists: false };
  }
  const ifExists = rest.endsWith('IfExists');
  const baseName = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  const base = BASE_OPERATORS[baseName];
  if (base === undefined) throw new UnsupportedPolicyError(`condition operator ${name} is not supported`, where);
  return { name, ifExists, base, ...(prefix === undefined ? {} : { set: prefix }) };
}

/** The first condition (operator and key) that is false, or undefined when all hold: operators and keys are ANDed. */
function failedCondition(block: NonNullable<PolicyStatement['Condition']>, context: ContextMap, where: string): string | undefined {
  for (const [operatorName, keys] of Object.entries(block)) {
    const operator = parseOperator(operatorName, where);
    for (const [key, raw] of Object.entries(keys)) {
      const policyValues = toArray(raw).map((v) => String(v));
      for (const v of policyValues) rejectVariables(v, where);
      const requestValues = context.get(key.toLowerCase());
      if (!conditionHolds(operator, policyValues, requestValues)) {
        return `${operatorName} ${key}${requestValues === undefined ? ' (key absent from the request)' : ` = ${JSON.stringify(requestValues.length === 1 ? requestValues[0] : requestValues)}`}`;
      }
    }
  }
  return undefined;
}

function conditionHolds(operator: ParsedOperator, policyValues: readonly string[], requestValues: readonly string[] | undefined): boolean {
  // An empty multivalued key is as absent as a missing one.
  const present = requestValues !== undefined && requestValues.length > 0;
  if (operator.base === undefined) {
    // Null: "true" asks that the key be absent, "false" that it be present.
    return policyValues.some((p) => (p.toLowerCase() === 'true' ? !present : present));
  }
  if (!present) {
    if (operator.ifExists) return true;
    if (operator.set === 'ForAllValues') return true; // every one of no values matches
    if (operator.set === 'ForAnyValue') return false; // no value to match
    return operator.base.negated; // "must not match" holds when there is nothing to match
  }
  const { compare, negated } = operator.base;
  // One request value against the policy's values: ORed, or NORed for a negated operator.
  const valueHolds = (v: string) => {
    const any = policyValues.some((p) => compare(v, p));
    return negated ? !any : any;
  };
  if (operator.set === 'ForAllValues') return requestValues.every(valueHolds);
  if (operator.set === 'ForAnyValue') return requestValues.some(valueHolds);
  // No set operator on a single value (the normal case); several values are read as ForAnyValue for a
  // positive operator and as "none matches" for a negated one.
  return negated ? requestValues.every(valueHolds) : requestValues.some(valueHolds);
}
