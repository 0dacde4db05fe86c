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
  if (!id || !exp || !sig || !APPROVAL_ID_PATTERN.test(id) || !/^[0-9]{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(sign(id, Number(exp), key), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'tampered' };
  if (Number(exp) <= now) return { ok: false, reason: 'expired' };
  return { ok: true, link: { approvalId: id, expiresAt: Number(exp), signature: sig } };
}

let cachedKey: Buffer | undefined;

/**
 * The signing key: `APPROVAL_KEY` (hex, the local rehearsal) or the Secrets Manager secret named by
 * `APPROVAL_KEY_SECRET_ARN` (created by the stack), cached for the life of the Lambda container.
 */
export async function approvalKey(client?: SecretsManagerClient): Promise<Buffer> {
  if (cachedKey) return cachedKey;
  const local = process.env.APPROVAL_KEY;
  if (local) {
    cachedKey = Buffer.from(local, 'hex');
    return cachedKey;
  }
  const arn = process.env.APPROVAL_KEY_SECRET_ARN;
  if (!arn) throw new Error('neither APPROVAL_KEY nor APPROVAL_KEY_SECRET_ARN is set: approval links cannot be signed');
  const out = await (client ?? new SecretsManagerClient({ maxAttempts: 5 })).send(new GetSecretValueCommand({ SecretId: arn }));
  if (!out.SecretString || out.SecretString.length < 32) throw new Error('the approval key secret is empty or too short');
  cachedKey = Buffer.from(out.SecretString, 'utf8');
  return cachedKey;
}

/** Forgets the cached key (tests, local runtime). */
export function resetApprovalKey(): void {
  cachedKey = undefined;
}
