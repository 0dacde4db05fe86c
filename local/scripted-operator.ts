import { randomBytes } from 'node:crypto';
import { APPROVAL_CALLBACK_PATH, type AnyDecision } from '../core/approval.js';
import type { FleetStore } from '../adapters/store.js';
import { ApprovalPageError, answerThroughPage } from './approval-client.js';
import { startApprovalServer, type ApprovalPageHandler } from './approval-server.js';
import { rehearsalUsers, startIdentityProvider, type TestUser } from './identity-provider.js';
import { startLocalSns, type LocalSns } from './sns-endpoint.js';

/**
 * The scripted operator decides as a person would: after the nodes that were in flight when it was asked have
 * finished their current node (or failed and asked too), and a moment to read; so a rehearsal shows the nodes
 * held meanwhile (and a node started while the question was open would show in the invariants).
 */
export async function inFlightSettled(store: FleetStore, approvalId: string, limitMs = 120_000): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + limitMs;
  const approval = await store.getApproval(approvalId);
  const inFlight = approval?.inFlight ?? [];
  if (approval === null || inFlight.length === 0) return;
  while (Date.now() < deadline) {
    // Polled: only the in-flight nodes' outcomes (by key) and the open questions, whatever the size of the run.
    const [outcomes, holds] = await Promise.all([store.nodeOutcomes(approval.runId, inFlight), store.openHolds(approval.runId)]);
    const settled = new Set([...outcomes.map((o) => o.nodeId), ...holds.map((h) => h.nodeId)]);
    if (inFlight.every((id) => settled.has(id))) break;
    await sleep(100);
  }
  // A moment to read, as a person would take; the tests shorten it (vitest.config.ts), since it is only wall time.
  await sleep(Number(process.env.FLEET_UPGRADE_OPERATOR_PAUSE_MS ?? 1_000));
}

/** Who the scripted operator signs in as, and who may decide (the rehearsal's sign-in). */
export interface LocalSignIn {
  /** The `approvers` setting: emails and group:NAME entries. */
  approvers: string;
  /** Emails the scripted operator signs in as, in the order of the decisions (the last one stays). */
  as: string[];
}

/** The human side of a rehearsal: the approval page, the identity provider, the topic, and the scripted operator. */
export interface LocalOperator {
  readonly topic: LocalSns;
  /** The handlers' environment for the page and its sign-in (APPROVAL_URL, APPROVAL_ISSUER, …). */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** The sign-in variables a template may carry from `cdk synth -c approvalIssuer=…`: replaced by the local ones, or dropped. */
export const SIGN_IN_ENV = [
  'APPROVAL_ISSUER',
  'APPROVAL_CLIENT_ID',
  'APPROVAL_CLIENT_SECRET',
  'APPROVAL_CLIENT_SECRET_ARN',
  'APPROVERS',
  'APPROVAL_GROUPS_CLAIM',
  'APPROVAL_SESSION_KEY',
  'APPROVAL_SESSION_KEY_SECRET_ARN',
] as const;

/**
 * Starts the approval page (the same handler as in Lambda), with sign-in a local OpenID provider, and a
 * topic whose approval requests are answered as `decisions` say, through the page's real HTTP flow: sign
 * in, GET, POST. A refused answer (not an approver) leaves the approval open for the next decision.
 */
export async function startLocalOperator(opts: {
  handler: ApprovalPageHandler;
  decisions: AnyDecision[];
  signIn: LocalSignIn | null;
  store: () => FleetStore;
  say: (line: string) => void;
}): Promise<LocalOperator> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const server = await startApprovalServer({ handler: opts.handler });
    closers.push(() => server.close());
    const env: Record<string, string> = { APPROVAL_URL: server.url };
    let users: TestUser[] = [];
    if (opts.signIn !== null) {
      users = rehearsalUsers(opts.signIn.as);
      const idp = await startIdentityProvider({ redirectUri: `${new URL(server.url).origin}${APPROVAL_CALLBACK_PATH}`, users });
      closers.push(() => idp.close());
      Object.assign(env, {
        APPROVAL_ISSUER: idp.issuer,
        APPROVAL_CLIENT_ID: idp.clientId,
        APPROVAL_CLIENT_SECRET: idp.clientSecret,
        APPROVERS: opts.signIn.approvers,
        APPROVAL_SESSION_KEY: randomBytes(32).toString('hex'),
      });
      opts.say(
        `Approvers sign in at ${idp.issuer} (local OpenID provider: ${users.map((u) => u.email).join(', ')}; password ${users[0]?.password ?? ''}); approvers: ${opts.signIn.approvers}`,
      );
    } else {
      opts.say('No sign-in (--no-sign-in): anyone holding an approval link can decide');
    }
    const decisions = [...opts.decisions];
    const signInAs = opts.signIn === null ? [] : [...opts.signIn.as];
    let as = signInAs[0] ?? 'alice@example.com';
    const next = (): { decision: AnyDecision; as: string } | undefined => {
      const decision = decisions.shift();
      as = signInAs.shift() ?? as;
      return decision === undefined ? undefined : { decision, as };
    };
    const answering: Promise<void>[] = [];
    const answer = async (approvalId: string, link: string, first: { decision: AnyDecision; as: string }) => {
      await inFlightSettled(opts.store(), approvalId);
      for (let turn: { decision: AnyDecision; as: string } | undefined = first; turn !== undefined; turn = next()) {
        const password = users.find((u) => u.email === turn?.as)?.password;
        try {
          await answerThroughPage(link, turn.decision, opts.signIn === null || password === undefined ? {} : { signIn: { email: turn.as, password } });
          return;
        } catch (error) {
          const refused = error instanceof ApprovalPageError && error.status === 403 && error.heading === 'You are not an approver';
          opts.say(
            `approval ${approvalId}: the decision ${turn.decision}${opts.signIn === null ? '' : ` by ${turn.as}`} was not taken: ${String(error instanceof Error ? error.message : error)}`,
          );
          if (!refused) return;
        }
      }
      opts.say(`approval ${approvalId}: no decision left to try; it waits for a person (or its timeout): open ${link}`);
    };
    const topic = await startLocalSns((message) => {
      if (message.attributes.kind !== 'approval') {
        opts.say(`notification: ${message.subject}`);
        return;
      }
      const approvalId = message.attributes.approvalId ?? '';
      const link = message.attributes.link ?? '';
      const turn = next();
      if (turn === undefined) {
        // The deadline and what it decides come from the approval itself, as the email says them.
        answering.push(
          opts
            .store()
            .getApproval(approvalId)
            .then(
              (a) =>
                opts.say(
                  `approval ${approvalId}: ${message.subject}. Waiting for a decision until ${a?.expiresAt ?? '?'} (then ${a?.onTimeout ?? 'the timeout decision'}): ` +
                    `open ${link}${opts.signIn === null ? '' : ' and sign in'}, or run fleet-upgrade decide ${approvalId} rollback|retry|skip|abort`,
                ),
              () =>
                opts.say(
                  `approval ${approvalId}: ${message.subject}. Waiting for a decision: open ${link}, or run fleet-upgrade decide ${approvalId} rollback|retry|skip|abort`,
                ),
            ),
        );
        return;
      }
      opts.say(
        `approval ${approvalId}: ${message.subject}. Answering ` +
          `"${turn.decision}"${opts.signIn === null ? '' : ` as ${turn.as}`} through the approval page (--decision) once the nodes in flight have settled`,
      );
      answering.push(answer(approvalId, link, turn));
    });
    closers.push(async () => {
      await Promise.allSettled(answering);
      await topic.close();
    });
    return { topic, env, close };
  } catch (error) {
    await close();
    throw error;
  }
}
