import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The approval page's two cookies, each an HMAC-signed JSON value with its own expiry:
 * - login: the authorization request in flight (state, nonce, PKCE verifier, the link to return to);
 * - session: who signed in.
 * Both are signed with a key derived from the link key per cookie name, so one cookie (or a link
 * signature) can never be replayed as another.
 */
export type CookieName = 'login' | 'session';

export const LOGIN_COOKIE_SECONDS = 10 * 60;
export const SESSION_COOKIE_SECONDS = 15 * 60;

/** `__Host-` binds the cookie to this host and path `/`, which browsers only allow on Secure cookies. */
export function cookieName(name: CookieName, secure: boolean): string {
  return secure ? `__Host-fleet-upgrade-${name}` : `fleet-upgrade-${name}`;
}

function derivedKey(key: Buffer, name: CookieName): Buffer {
  return createHmac('sha256', key).update(`fleet-upgrade cookie ${name}`).digest();
}

export function sealCookie(name: CookieName, value: object, key: Buffer, expiresAt: number): string {
  const payload = Buffer.from(JSON.stringify({ ...value, exp: expiresAt })).toString('base64url');
  return `${payload}.${createHmac('sha256', derivedKey(key, name)).update(payload).digest('base64url')}`;
}

/** The cookie's value when its signature holds and it has not expired (`now` in epoch seconds); else null. */
export function openCookie(name: CookieName, sealed: string | undefined, key: Buffer, now: number): Record<string, unknown> | null {
  if (sealed === undefined || sealed.length > 4096) return null;
  const [payload, mac, extra] = sealed.split('.');
  if (payload === undefined || mac === undefined || extra !== undefined) return null;
  const expected = createHmac('sha256', derivedKey(key, name)).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const exp = (value as { exp?: unknown }).exp;
  return typeof exp === 'number' && exp > now ? (value as Record<string, unknown>) : null;
}

/** The named cookie from a Cookie header (API Gateway v2 also passes them as `cookies`). */
export function readCookie(cookies: readonly string[] | undefined, header: string | undefined, name: string): string | undefined {
  const pairs = [...(cookies ?? []), ...(header ?? '').split(';')];
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * A Set-Cookie value. HttpOnly: scripts never see it; SameSite=Lax: sent on the top-level navigation back
 * from the identity provider but not on another site's POST; Secure except on a loopback http page.
 */
export function setCookie(name: string, value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

export function clearCookie(name: string, secure: boolean): string {
  return setCookie(name, '', 0, secure);
}
