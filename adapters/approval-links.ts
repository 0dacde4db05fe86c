import { createHmac, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { APPROVAL_ID_PATTERN } from '../core/approval.js';

/**
 * Approval links: `<base>?id=<approvalId>&exp=<epoch seconds>&sig=<hex HMAC-SHA256 of "id.exp">`.
 * The link carries no task token; it expires; single use is enforced by the approval record.
 */
export interface SignedLink {
  approvalId: string;
  expiresAt: number;
  signature: string;
}

export function sign(approvalId: string, expiresAt: number, key: Buffer): string {
  return createHmac('sha256', key).update(`${approvalId}.${expiresAt}`).digest('hex');
}

export function approvalLink(baseUrl: string, approvalId: string, expiresAt: number, key: Buffer): string {
  const url = new URL(baseUrl);
  url.searchParams.set('id', approvalId);
  url.searchParams.set('exp', String(expiresAt));
  url.searchParams.set('sig', sign(approvalId, expiresAt, key));
  return url.toString();
}

export type LinkCheck = { ok: true; link: SignedLink } | { ok: false; reason: 'malformed' | 'tampered' | 'expired' };

/** Checks a link's parameters: well-formed, signed with our key, not expired (`now` in epoch seconds). */
export function verifyLink(params: { id?: string | null; exp?: string | null; sig?: string | null }, key: Buffer, now: number): LinkCheck {
  const { id, exp, sig } = params;
  if (!id || !exp || !sig || !APPROVAL_ID_PATTERN.test(id) || !/^[0-9]{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig))
    return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(sign(id, Number(exp), key), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'tampered' };
  if (Number(exp) <= now) return { ok: false, reason: 'expired' };
  return { ok: true, link: { approvalId: id, expiresAt: Number(exp), signature: sig } };
}

const cachedKeys = new Map<string, Buffer>();

/** A key from `localVar` (hex, the rehearsal) or the Secrets Manager secret named by `arnVar`, cached for the life of the container. */
async function keyFromEnv(localVar: string, arnVar: string, what: string, client?: SecretsManagerClient): Promise<Buffer> {
  const cached = cachedKeys.get(localVar);
  if (cached) return cached;
  const local = process.env[localVar];
  let key: Buffer;
  if (local) {
    key = Buffer.from(local, 'hex');
    if (key.length < 16) throw new Error(`${localVar} must be at least 32 hex digits: a shorter ${what} can be guessed`);
  } else {
    const arn = process.env[arnVar];
    if (!arn) throw new Error(`neither ${localVar} nor ${arnVar} is set: no ${what}`);
    const out = await (client ?? new SecretsManagerClient({ maxAttempts: 5 })).send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString || out.SecretString.length < 32) throw new Error(`the ${what} secret is empty or too short`);
    key = Buffer.from(out.SecretString, 'utf8');
  }
  cachedKeys.set(localVar, key);
  return key;
}

/**
 * The signing key of approval links: `APPROVAL_KEY` (hex, the local rehearsal) or the Secrets Manager secret
 * named by `APPROVAL_KEY_SECRET_ARN` (created by the stack).
 */
export function approvalKey(client?: SecretsManagerClient): Promise<Buffer> {
  return keyFromEnv('APPROVAL_KEY', 'APPROVAL_KEY_SECRET_ARN', 'approval link key', client);
}

/**
 * The key of the page's sign-in cookies: `APPROVAL_SESSION_KEY` or the secret `APPROVAL_SESSION_KEY_SECRET_ARN`,
 * which only the page can read: whoever signs links (request-approval, reminders) cannot mint a session.
 */
export function sessionKey(client?: SecretsManagerClient): Promise<Buffer> {
  return keyFromEnv('APPROVAL_SESSION_KEY', 'APPROVAL_SESSION_KEY_SECRET_ARN', 'sign-in session key', client);
}

/** Forgets the cached keys (tests, local runtime). */
export function resetApprovalKey(): void {
  cachedKeys.clear();
}
