import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { APPROVAL_CALLBACK_PATH, APPROVAL_PAGE_PATH } from '../../core/approval.js';
import { checkApprover, type ApproverCheck, type ApproverIdentity } from '../../core/approvers.js';
import { randomNonce, randomPKCECodeVerifier, randomState, type SignInProvider } from '../../adapters/oidc.js';
import {
  LOGIN_COOKIE_SECONDS,
  SESSION_COOKIE_SECONDS,
  clearCookie,
  cookieName,
  openCookie,
  readCookie,
  sealCookie,
  setCookie,
} from '../../adapters/sign-in-cookies.js';

/** A page answer before the security headers are added. */
export interface SignInAnswer {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  /** For a refusal: its title and explanation. */
  problem?: { title: string; explanation: string };
}

/** The signed-in person as the session cookie carries them, and whether they may decide. */
export interface Session {
  identity: ApproverIdentity;
  sid: string;
  check: ApproverCheck;
}

/** API Gateway speaks https and says so in X-Forwarded-Proto; the local server says http. */
export function isSecure(event: APIGatewayProxyEventV2): boolean {
  return (event.headers['x-forwarded-proto'] ?? 'https').toLowerCase() !== 'http';
}

function origin(event: APIGatewayProxyEventV2): string {
  return `${isSecure(event) ? 'https' : 'http'}://${event.requestContext.domainName}`;
}

export function callbackUri(event: APIGatewayProxyEventV2): string {
  return `${origin(event)}${APPROVAL_CALLBACK_PATH}`;
}

function cookie(event: APIGatewayProxyEventV2, name: 'login' | 'session'): string | undefined {
  return readCookie(event.cookies, event.headers.cookie, cookieName(name, isSecure(event)));
}

/** The session, if the request carries a valid one. */
export function currentSession(event: APIGatewayProxyEventV2, key: Buffer, provider: SignInProvider, nowSeconds: number): Session | null {
  const value = openCookie('session', cookie(event, 'session'), key, nowSeconds);
  if (value === null || typeof value.iss !== 'string' || typeof value.sub !== 'string' || typeof value.sid !== 'string' || !Array.isArray(value.groups))
    return null;
  const identity: ApproverIdentity = {
    issuer: value.iss,
    subject: value.sub,
    ...(typeof value.email === 'string' ? { email: value.email } : {}),
    ...(typeof value.ev === 'boolean' ? { emailVerified: value.ev } : {}),
    groups: value.groups.filter((g): g is string => typeof g === 'string'),
  };
  // A session from another issuer (the settings changed) is no session.
  if (identity.issuer !== provider.settings.issuer && identity.issuer.replace(/\/$/, '') !== provider.settings.issuer.replace(/\/$/, '')) return null;
  return { identity, sid: value.sid, check: checkApprover(identity, provider.settings.approvers) };
}

/** Sends the person to the identity provider; they come back to the callback, then to `linkQuery` on the page. */
export async function startSignIn(
  event: APIGatewayProxyEventV2,
  key: Buffer,
  provider: SignInProvider,
  linkQuery: string,
  nowSeconds: number,
  forceLogin = false,
): Promise<SignInAnswer> {
  const checks = { state: randomState(), nonce: randomNonce(), codeVerifier: randomPKCECodeVerifier() };
  const url = await provider.authorizationUrl(callbackUri(event), checks);
  if (forceLogin) url.searchParams.set('prompt', 'login');
  const login = sealCookie('login', { s: checks.state, n: checks.nonce, v: checks.codeVerifier, r: linkQuery }, key, nowSeconds + LOGIN_COOKIE_SECONDS);
  const secure = isSecure(event);
  return { statusCode: 302, headers: { location: url.toString() }, cookies: [setCookie(cookieName('login', secure), login, LOGIN_COOKIE_SECONDS, secure)] };
}

/** GET /approval/callback: finishes the sign-in and returns to the approval link it started from. */
export async function finishSignIn(event: APIGatewayProxyEventV2, key: Buffer, provider: SignInProvider, nowSeconds: number): Promise<SignInAnswer> {
  const secure = isSecure(event);
  const refused = (statusCode: number, title: string, explanation: string): SignInAnswer => ({
    statusCode,
    headers: {},
    cookies: [clearCookie(cookieName('login', secure), secure)],
    problem: { title, explanation },
  });
  const params = new URLSearchParams(event.rawQueryString ?? '');
  const providerError = params.get('error');
  if (providerError !== null) {
    return refused(
      401,
      'Sign-in did not complete',
      `The identity provider answered ${providerError}${params.get('error_description') ? `: ${params.get('error_description')}` : ''}. Open the approval link again to sign in.`,
    );
  }
  const login = openCookie('login', cookie(event, 'login'), key, nowSeconds);
  if (login === null || typeof login.s !== 'string' || typeof login.n !== 'string' || typeof login.v !== 'string' || typeof login.r !== 'string') {
    return refused(
      400,
      'This sign-in was not started here, or took too long',
      `Open the approval link from the email again; a sign-in must finish within ${LOGIN_COOKIE_SECONDS / 60} minutes, in the browser that started it.`,
    );
  }
  let identity: ApproverIdentity;
  try {
    identity = await provider.finish(new URL(`${callbackUri(event)}?${event.rawQueryString ?? ''}`), { state: login.s, nonce: login.n, codeVerifier: login.v });
  } catch (error) {
    return refused(
      401,
      'Sign-in failed',
      `The answer of the identity provider did not check out (${error instanceof Error ? error.message : String(error)}). Open the approval link again.`,
    );
  }
  // Only the groups that can matter, so the cookie stays small whatever the provider sends.
  const groups = identity.groups.filter((g) => provider.settings.approvers.groups.includes(g));
  const session = sealCookie(
    'session',
    {
      iss: identity.issuer,
      sub: identity.subject,
      ...(identity.email !== undefined ? { email: identity.email } : {}),
      ...(identity.emailVerified !== undefined ? { ev: identity.emailVerified } : {}),
      groups,
      sid: randomBytes(16).toString('hex'),
    },
    key,
    nowSeconds + SESSION_COOKIE_SECONDS,
  );
  return {
    statusCode: 302,
    headers: { location: `${APPROVAL_PAGE_PATH}?${login.r}` },
    cookies: [clearCookie(cookieName('login', secure), secure), setCookie(cookieName('session', secure), session, SESSION_COOKIE_SECONDS, secure)],
  };
}

/** Ties a form to the session that was shown it and to one approval: another site cannot post a decision. */
export function csrfToken(session: Session, approvalId: string, key: Buffer): string {
  return createHmac('sha256', key).update(`fleet-upgrade csrf ${session.sid} ${approvalId}`).digest('hex');
}

export function csrfHolds(session: Session, approvalId: string, key: Buffer, given: string | null): boolean {
  if (given === null || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(csrfToken(session, approvalId, key), 'hex'), Buffer.from(given, 'hex'));
}
