import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { isDecision } from '../../core/approval.js';
import { approvalKey, verifyLink, type LinkCheck } from '../../adapters/approval-links.js';
import { ApprovalNotOpenError, decideApproval } from '../../adapters/approvals.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv, sfnClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { SECURITY_HEADERS, confirmationPage, decisionPage, problemPage } from './html.js';

/** What the page needs: the table, Step Functions (to answer the task), the signing key, a clock. */
export interface ApprovalPageDeps {
  store: FleetStore;
  sfn: SFNClient;
  key: Buffer;
  now: Date;
}

/** A form post is a few hundred bytes; anything far larger is not ours. */
const MAX_BODY_BYTES = 4096;

type Result = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string; headers: Record<string, string> };

function page(statusCode: number, body: string, extraHeaders: Record<string, string> = {}): Result {
  return { statusCode, headers: { ...SECURITY_HEADERS, ...extraHeaders }, body };
}

/** Each parameter exactly once: a repeated one is malformed, not "the first wins". */
function single(params: URLSearchParams, name: string): string | null {
  const all = params.getAll(name);
  return all.length === 1 ? (all[0] ?? null) : null;
}

function refusedLink(check: Exclude<LinkCheck, { ok: true }>): Result {
  switch (check.reason) {
    case 'malformed':
      return page(400, problemPage('This approval link is incomplete', 'The link must carry an approval id, an expiry and a signature, each once. Open the link from the email exactly as it was sent.'));
    case 'tampered':
      return page(403, problemPage('This approval link is not valid', 'Its signature does not match: the link was changed or was not issued by this fleet-upgrade installation.'));
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
      return page(410, problemPage('This approval has expired', `It expired at ${a?.expiresAt ?? 'unknown'}; the run applied its timeout decision (${a?.onTimeout ?? 'rollback'}).`));
  }
}

/** GET (and HEAD): shows the evidence and the choices. Never decides: mail scanners prefetch links. */
async function show(event: APIGatewayProxyEventV2, deps: ApprovalPageDeps): Promise<Result> {
  const params = new URLSearchParams(event.rawQueryString ?? '');
  const link = { id: single(params, 'id'), exp: single(params, 'exp'), sig: single(params, 'sig') };
  const check = verifyLink(link, deps.key, Math.floor(deps.now.getTime() / 1000));
  if (!check.ok) return refusedLink(check);
  const approval = await deps.store.getApproval(check.link.approvalId);
  if (approval === null) return notOpen(new ApprovalNotOpenError(check.link.approvalId, 'unknown', null));
  if (approval.state !== 'PENDING') return notOpen(new ApprovalNotOpenError(approval.approvalId, 'decided', approval));
  if (Date.parse(approval.expiresAt) <= deps.now.getTime()) return notOpen(new ApprovalNotOpenError(approval.approvalId, 'expired', approval));
  return page(200, decisionPage(approval, { id: check.link.approvalId, exp: String(check.link.expiresAt), sig: check.link.signature }, event.rawPath));
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
  const check = verifyLink({ id: single(form, 'id'), exp: single(form, 'exp'), sig: single(form, 'sig') }, deps.key, Math.floor(deps.now.getTime() / 1000));
  if (!check.ok) return refusedLink(check);
  const decision = single(form, 'decision');
  if (!isDecision(decision)) {
    return page(400, problemPage('No decision was chosen', 'decision: expected one of rollback, retry, skip, abort. Go back and choose one.'));
  }
  const decidedBy = `approval page (${event.requestContext.http.sourceIp})`;
  try {
    const decided = await decideApproval({ store: deps.store, sfn: deps.sfn }, check.link.approvalId, decision, decidedBy, deps.now);
    logger.info('approval decided', { approvalId: decided.approvalId, decision, decidedBy, runId: decided.runId, nodeId: decided.nodeId });
    return page(200, confirmationPage(decided, decision, decided.decidedBy, decided.decidedAt));
  } catch (error) {
    if (error instanceof ApprovalNotOpenError) return notOpen(error);
    throw error;
  }
}

/** The page's logic, with its dependencies given (tests and the local server pass their own clock). */
export async function approvalPage(event: APIGatewayProxyEventV2, deps: ApprovalPageDeps): Promise<Result> {
  const method = event.requestContext.http.method.toUpperCase();
  try {
    if (method === 'GET') return await show(event, deps);
    if (method === 'HEAD') return { ...(await show(event, deps)), body: '' };
    if (method === 'POST') return await decide(event, deps);
    return page(405, problemPage('Method not allowed', `${method} is not how an approval is seen or decided: open the link (GET) and submit the form (POST).`), { allow: 'GET, HEAD, POST' });
  } catch (error) {
    logger.error('approval page failed', { error: error instanceof Error ? error.message : String(error), method });
    return unavailable();
  }
}

function unavailable(): Result {
  return page(500, problemPage('The approval service failed', 'Try the link again in a minute, or decide with `fleet-upgrade decide <approval-id> <decision>`.', undefined, false));
}

/** API Gateway HTTP API (payload format 2.0) → the approval page. */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  let deps: ApprovalPageDeps;
  try {
    deps = { store: new FleetStore(documentClient(), requireEnv('TABLE_NAME')), sfn: sfnClient(), key: await approvalKey(), now: new Date() };
  } catch (error) {
    logger.error('approval page is misconfigured', { error: error instanceof Error ? error.message : String(error) });
    return unavailable();
  }
  return approvalPage(event, deps);
};
