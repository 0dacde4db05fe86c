import type { AnyDecision } from '../core/approval.js';
import type { StepId } from '../core/steps.js';
import type { Summary } from '../core/summary.js';
import type { ClusterFile } from './cluster-file.js';
import type { LocalDynamoDb } from './dynamodb/start.js';
import type { PublishedMessage } from './sns-endpoint.js';
import type { InjectedFailure } from './ssm-endpoint.js';
import type { StepTiming } from './step-timings.js';
import type { LambdaFault } from './local-stack-handlers.js';

export type { LambdaFault } from './local-stack-handlers.js';

export interface RehearsalOptions {
  cluster: ClusterFile;
  targetVersion: string;
  /** Where sandboxes, packages and command output go; emptied first. */
  workdir: string;
  roleOrder?: string[];
  force?: boolean;
  ignoreInspectFailures?: boolean;
  /** Nodes of a role upgraded at once (`unmatched` for the final group); default 1. */
  concurrency?: Record<string, number>;
  /** Nodes of a role that stay in service while its group upgrades: a count or "NN%". */
  minHealthy?: Record<string, number | string>;
  /** Only check every node and stage the package where needed; no maintenance window. */
  prepareOnly?: boolean;
  /**
   * Serve packages only through a forward proxy on loopback and hand the nodes its URL as HTTPS_PROXY:
   * `true` picks a free port, `http://127.0.0.1:PORT` listens there.
   */
  httpsProxy?: string | true;
  /** The runbook under `runbooks/` the SSM document is built from. @default 'release-dir' */
  runbook?: string;
  /** Absolute path of a runbook folder outside runbooks/ (benchmarks); wins over `runbook`. */
  runbookPath?: string;
  /** A template `cdk synth` wrote: rehearsed as it is (its policies, document and definition) instead of synthesizing one. */
  template?: string;
  /**
   * Bare sandboxes hold only `<root>/VERSION` (the node's version) and no service: for runbooks that
   * touch nothing else, such as the benchmarks' timed runbook. @default false
   */
  bareSandboxes?: boolean;
  /** Extra environment of the nodes' agent (e.g. the benchmarks' FU_BENCH_SCALE). */
  nodeEnv?: Record<string, string>;
  /** Directories put first on the nodes' PATH (a test's own tools); the kato runbook's simulated ALS `kato` comes after them. */
  nodePath?: string[];
  failures?: InjectedFailure[];
  /**
   * Caps every step's timeout (seconds) so injected hangs and lost events play out in seconds: the SSM
   * execution timeout (run-step's STEP_TIMEOUT_CAP_SECONDS) and the step tasks' own timeouts.
   */
  stepTimeoutSeconds?: number;
  /**
   * The steps `stepTimeoutSeconds` caps (default: every step). Capping only the faulted step keeps a
   * loaded machine's slow but healthy steps from timing out.
   */
  cappedSteps?: StepId[];
  /** The package repository serves the target version's package with bytes that do not match SHA256SUMS. */
  corruptPackage?: boolean;
  /**
   * Answers to the operator's approval requests, in order (`--decision`); when they run out the
   * rehearsal prints how to decide and waits (until approval.timeoutMinutes, then onTimeout).
   */
  decisions?: AnyDecision[];
  /**
   * Approvers sign in on the approval page with the rehearsal's OpenID provider (`--no-sign-in`: false, the
   * link alone decides). @default true
   */
  signIn?: boolean;
  /** Who may decide (`--approvers`): emails and group:NAME. @default 'group:fleet-operators' (alice and carol) */
  approvers?: string;
  /** Whom the scripted operator signs in as for each decision, in order (`--approver`); the last one stays. @default alice@example.com */
  decideAs?: string[];
  /** Minutes an approval waits before onTimeout decides (the input's approval.timeoutMinutes). */
  approvalTimeoutMinutes?: number;
  onTimeout?: 'rollback' | 'abort';
  /**
   * Resume the run with this id (same workdir: its table is kept there): the sandboxes stay as it left them;
   * upgraded nodes are skipped by their version check, an interrupted node restarts from a safe step.
   */
  resumeFrom?: string;
  /** Lambda handlers made to throw, as a crashing function would (fault injection). */
  lambdaFaults?: LambdaFault[];
  runId?: string;
  /** The operator pauses the run once this node started (`--pause-after`), and resumes after `resumeAfterSeconds` (`--resume-after`; absent: never). */
  pauseAfter?: string;
  resumeAfterSeconds?: number;
  /** The input's canary (`--canary N`): after N nodes, the run asks continue or abort (`decisions` answers it in turn). */
  canary?: number;
  /** The input's pauseLimitMinutes (`--pause-limit-minutes`): past it a pause stops the run as abort does. */
  pauseLimitMinutes?: number;
  /** A local DynamoDB the caller owns (kept running afterwards, e.g. for a test to inspect). */
  dynamodb?: LocalDynamoDb;
  /** Leave the sandbox services running at the end (a test inspects them, then stops them). */
  keepServices?: boolean;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  /**
   * Stops the run as `fleet-upgrade stop` does (StopExecution: no further state, no catch path), then
   * hands the status change to `run-stopped`, as the stack's EventBridge rule does: the step under way
   * finishes on its node, a node caught mid-upgrade is rolled back, maintenance mode goes off and the
   * lock is released. The abort reason (a string) is the stop's cause. The CLI aborts on Ctrl-C.
   */
  signal?: AbortSignal;
  /** Upgrade only these nodes (`--only`); the cluster's others get no command (the core node still switches maintenance mode). */
  only?: string[];
  /** Accept roles in roleOrder that no node has (`--allow-unused-roles`). */
  allowUnusedRoles?: boolean;
  /** A failed node: ask (default), or roll it back and go on without asking, within `maxFailedNodes` (the input's fields). */
  onFailure?: 'ask' | 'rollback-and-continue';
  maxFailedNodes?: number;
  /** No node starts that is estimated to finish after this ISO time (the input's notAfter). */
  notAfter?: string;
  /** The input's health gates (`--health-alarm`, `--bake-seconds`). */
  healthAlarms?: string[];
  bakeSeconds?: number;
  /** The local CloudWatch puts alarm `name` in ALARM once `afterNode` is upgraded (`--alarm NAME:after=NODE`). */
  alarms?: { name: string; afterNode: string }[];
}

export interface RehearsalResult {
  summary: Summary & {
    execution: {
      name: string;
      status: string;
      events: number;
      childEvents: number;
      childExecutions: number;
      stateTransitions: number;
      maxPayloadBytes: number;
      durationMs: number;
      /** The largest result a Map gathered from its iterations (held to 256 KiB like any payload). */
      maxMapResultBytes: number;
      /** AWS calls judged against the caller's IAM policies from the template, and how many were denied. */
      iam: { checked: number; denied: number };
    };
  };
  nodeRoots: Map<string, string>;
  tableName: string;
  /** Requests the loopback proxy forwarded (empty without `httpsProxy`). */
  proxied: string[];
  /** Messages published to the operators' topic (approval requests, failed rollbacks). */
  notifications: PublishedMessage[];
  /** Lambda invocations per handler, as AWS would bill them. */
  invocations: Record<string, number>;
  /** Every node step: its task state's time, and how long its script ran on the node. */
  steps: (StepTiming & { scriptMs: number })[];
}
