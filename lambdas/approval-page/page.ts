import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { APPROVAL_CALLBACK_PATH, isAnyDecision } from '../../core/approval.js';
import { deciderName } from '../../core/approvers.js';
import { verifyLink, type LinkCheck, type SignedLink } from '../../adapters/approval-links.js';
import type { SignInProvider } from '../../adapters/oidc.js';
import { DecisionNotOfferedError, ApprovalNotOpenError, decideApproval } from '../../adapters/approvals.js';
import type { FleetStore } from '../../adapters/store.js';
import { logger } from '../../adapters/logger.js';
import { SECURITY_HEADERS, confirmationPage, decisionPage, notAnApproverPage, problemPage, type PageViewer } from './html.js';
import { csrfHolds, csrfToken, currentSession, finishSignIn, startSignIn, type Session, type SignInAnswer } from './sign-in.js';

/** What the page needs: the table, Step Functions (to answer the task), the signing key, a clock, and sign-in (null: the link alone decides). */
export interface ApprovalPageDeps {
  store: FleetStore;
  sfn: SFNClient;
  key: Buffer;
  now: Date;
  /** Sign-in and the key of its cookies (null: the link alone decides). */
  signIn: { provider: SignInProvider; key: Buffer } | null;
}

/** A form post is a few hundred bytes; anything far larger is not ours. */
const MAX_BODY_BYTES = 4096;

type Result = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string; headers: Record<string, string>; cookies?: string[] };

function page(statusCode: number, body: string, extraHeaders: Record<string, string> = {}, cookies: string[] = []): Result {
  return { statusCode, headers: { ...SECURITY_HEADERS, ...extraHeaders }, body, ...(cookies.length > 0 ? { cookies } : {}) };
}

function fromSignIn(answer: SignInAnswer): Result {
  const body = answer.problem === undefined ? '' : problemPage(answer.problem.title, answer.problem.explanation);
  return page(answer.statusCode, body, answer.headers, answer.cookies);
}

function seconds(now: Date): number {
  return Math.floor(now.getTime() / 1000);
}

function linkQuery(link: SignedLink): string {
  return new URLSearchParams({ id: link.approvalId, exp: String(link.expiresAt), sig: link.signature }).toString();
}

/**
 * With sign-in: the session of an approver, or the answer to give instead (off to sign in on GET, a
 * refusal on POST or for someone who is not an approver). Without sign-in: no session and no answer.
 */
async function approver(
  event: APIGatewayProxyEventV2,
  deps: ApprovalPageDeps,
  link: SignedLink,
  again: boolean,
): Promise<{ session: Session | null; answer?: Result }> {
  if (deps.signIn === null) return { session: null };
  const { provider, key } = deps.signIn;
  const session = again ? null : currentSession(event, key, provider, seconds(deps.now));
  const method = event.requestContext.http.method.toUpperCase();
  if (session === null) {
    if (method === 'POST')
      return {
        session,
        answer: page(
          401,
          problemPage(
            'Sign in first',
            'Deciding requires signing in as an approver, and this browser has no valid session (it lasts 15 minutes). Open the approval link again to sign in.',
          ),
        ),
      };
    return { session, answer: fromSignIn(await startSignIn(event, key, provider, linkQuery(link), seconds(deps.now), again)) };
  }
  if (!session.check.allowed)
    return { session, answer: page(403, notAnApproverPage(session.check.reason, `${event.rawPath}?${linkQuery(link)}&signin=again`)) };
  return { session };
}

function viewer(session: Session | null, link: SignedLink, deps: ApprovalPageDeps, path: string): PageViewer {
  if (session === null || !session.check.allowed || deps.signIn === null) return { signedIn: null };
  const id = session.identity;
  return {
    signedIn: {
      name: deciderName(id),
      issuer: id.issuer,
      by: session.check.by,
      csrf: csrfToken(session, link.approvalId, deps.signIn.key),
      again: `${path}?${linkQuery(link)}&signin=again`,
    },
  };
}

/** Each parameter exactly once: a repeated one is malformed, not "the first wins". */
function single(params: URLSearchParams, name: string): string | null {
  const all = params.getAll(name);
  return all.length === 1 ? (all[0] ?? null) : null;
}

function refusedLink(check: Exclude<LinkCheck, { ok: true }>): Result {
  switch (check.reason) {
    case 'malformed':
      return page(
        400,
        problemPage(
          'This approval link is incomplete',
          'The link must carry an approval id, an expiry and a signature, each once. Open the link from the email exactly as it was sent.',
        ),
      );
    case 'tampered':
      return page(
        403,
        problemPage(
          'This approval link is not valid',
          'Its signature does not match: the link was changed or was not issued by this fleet-upgrade installation.',
        ),
      );
    case 'expired':
      return page(410, problemPage('This approval link has expired', 'Nobody decided in time, so the run applied its timeout decision (see the run summary).'));
  }
}

function notOpen(error: ApprovalNotOpenError): Result {
  const a = error.approval;
  switch (error.reason) {
    case 'unknown':
      return page(404, problemPage('No such approval', `Approval ${error.approvalId} does not exist (it may have been removed after its run ended).`));
    case 'decided':
      return page(
        409,
        problemPage(
          'This approval was already decided',
          // Who decided is not shown to whoever holds the link: the run summary and the CLI say it.
          `Decision: ${a?.decision ?? 'unknown'} at ${a?.decidedAt ?? 'unknown'}${a?.byTimeout === true ? ' (by timeout)' : ''}.`,
          'A decision is taken once; this link no longer decides anything.',
        ),
      );
    case 'late':
      return page(
        410,
        problemPage(
          `Too late: the run already applied ${a?.onTimeout ?? 'its timeout decision'}`,
          `Your decision${a?.lateAttempt ? ` (${a.lateAttempt.decision})` : ''} reached the run after it had stopped waiting for one, so the run applied its timeout decision.`,
          'Your attempt is recorded on the approval; it decided nothing.',
          false,
        ),
      );
    case 'expired':
      return page(
        410,
        problemPage(
          'This approval has expired',
          `It expired at ${a?.expiresAt ?? 'unknown'}; the run applied its timeout decision (${a?.onTimeout ?? 'rollback'}).`,
        ),
      );
  }
}

/** GET (and HEAD): shows the evidence and the choices. Never decides: mail scanners prefetch links. */
async function show(event: APIGatewayProxyEventV2, deps: ApprovalPageDeps): Promise<Result> {
  const params = new URLSearchParams(event.rawQueryString ?? '');
  const link = { id: single(params, 'id'), exp: single(params, 'exp'), sig: single(params, 'sig') };
  const check = verifyLink(link, deps.key, seconds(deps.now));
  if (!check.ok) return refusedLink(check);
  // Nothing of the approval is shown before the person is known to be an approver.
  const who = await approver(event, deps, check.link, single(params, 'signin') === 'again');
  if (who.answer !== undefined) return who.answer;
  const approval = await deps.store.getApproval(check.link.approvalId);
  if (approval === null) return notOpen(new ApprovalNotOpenError(check.link.approvalId, 'unknown', null));
  if (approval.state !== 'PENDING') return notOpen(new ApprovalNotOpenError(approval.approvalId, 'decided', approval));
  if (Date.parse(approval.expiresAt) <= deps.now.getTime()) return notOpen(new ApprovalNotOpenError(approval.approvalId, 'expired', approval));
  return page(
    200,
    decisionPage(
      approval,
      { id: check.link.approvalId, exp: String(check.link.expiresAt), sig: check.link.signature },
      event.rawPath,
      viewer(who.session, check.link, deps, event.rawPath),
    ),
  );
}

function formBody(event: APIGatewayProxyEventV2): URLSearchParams | null {
  const type = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || event.body === undefined) return null;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return Buffer.byteLength(text) > MAX_BODY_BYTES ? null : new URLSearchParams(text);
}

/** POST: verifies the link again and decides, once. */
async function decide(event: APIGatewayProxyEventV2, deps: ApprovalPageDeps): Promise<Result> {
  const form = formBody(event);
  if (form === null) {
    return page(400, problemPage('This is not a decision form', 'Expected the form of the approval page (application/x-www-form-urlencoded, at most 4 KB).'));
  }
  const check = verifyLink({ id: single(form, 'id'), exp: single(form, 'exp'), sig: single(form, 'sig') }, deps.key, seconds(deps.now));
  if (!check.ok) return refusedLink(check);
  const who = await approver(event, deps, check.link, false);
  if (who.answer !== undefined) return who.answer;
  if (who.session !== null && deps.signIn !== null && !csrfHolds(who.session, check.link.approvalId, deps.signIn.key, single(form, 'csrf'))) {
    return page(
      403,
      problemPage(
        'This form was not issued to you',
        'The decision form must come from the approval page opened in this browser, in this session. Open the approval link again.',
      ),
    );
  }
  const decision = single(form, 'decision');
  if (!isAnyDecision(decision)) {
    return page(400, problemPage('No decision was chosen', 'decision: expected one of the choices on the page. Go back and choose one.'));
  }
  const identity = who.session?.identity;
  const decidedBy = identity === undefined ? `approval page (${event.requestContext.http.sourceIp})` : deciderName(identity);
  const decidedIdentity =
    identity === undefined
      ? undefined
      : { issuer: identity.issuer, subject: identity.subject, ...(identity.email !== undefined ? { email: identity.email } : {}) };
  try {
    const decided = await decideApproval({ store: deps.store, sfn: deps.sfn }, check.link.approvalId, decision, decidedBy, deps.now, false, decidedIdentity);
    logger.info('approval decided', { approvalId: decided.approvalId, decision, decidedBy, runId: decided.runId, nodeId: decided.nodeId });
    return page(200, confirmationPage(decided, decision, decided.decidedBy, decided.decidedAt));
  } catch (error) {
    if (error instanceof ApprovalNotOpenError) return notOpen(error);
    if (error instanceof DecisionNotOfferedError)
      return page(400, problemPage('This approval does not offer that decision', `${error.message}. Go back and choose one of the choices on the page.`));
    throw error;
  }
}

/** The page's logic, with its dependencies given (tests and the local server pass their own clock). */
export async function approvalPage(event: APIGatewayProxyEventV2, deps: ApprovalPageDeps): Promise<Result> {
  const method = event.requestContext.http.method.toUpperCase();
  try {
    if (event.rawPath === APPROVAL_CALLBACK_PATH) {
      if (deps.signIn === null)
        return page(404, problemPage('Sign-in is not configured', 'This installation has no identity provider configured, so there is nothing to sign in to.'));
      if (method !== 'GET') return page(405, problemPage('Method not allowed', 'The identity provider returns here with a GET.'), { allow: 'GET' });
      return fromSignIn(await finishSignIn(event, deps.signIn.key, deps.signIn.provider, seconds(deps.now)));
    }
    if (method === 'GET') return await show(event, deps);
    if (method === 'HEAD') return { ...(await show(event, deps)), body: '' };
    if (method === 'POST') return await decide(event, deps);
    return page(
      405,
      problemPage('Method not allowed', `${method} is not how an approval is seen or decided: open the link (GET) and submit the form (POST).`),
      { allow: 'GET, HEAD, POST' },
    );
  } catch (error) {
    logger.error('approval page failed', { error: error instanceof Error ? error.message : String(error), method });
    return unavailable();
  }
}

export function unavailable(): Result {
  return page(
    500,
    problemPage(
      'The approval service failed',
      'Try the link again in a minute, or decide with `fleet-upgrade decide <approval-id> <decision>`.',
      undefined,
      false,
    ),
  );
}
