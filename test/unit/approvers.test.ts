import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkApprover, deciderName, parseApprovers } from '../../core/approvers.js';
import { openCookie, readCookie, sealCookie, setCookie } from '../../adapters/sign-in-cookies.js';

describe('approvers', () => {
  it('parses emails (case-folded) and group: entries, each once', () => {
    expect(parseApprovers(' Alice@Example.com, group:fleet-operators ,bob@example.com,alice@example.com,group:fleet-operators')).toEqual({
      emails: ['alice@example.com', 'bob@example.com'],
      groups: ['fleet-operators'],
    });
  });

  it('refuses an empty list and malformed entries, naming the field', () => {
    expect(() => parseApprovers(' , ')).toThrow(/^approvers: expected comma-separated emails and\/or group:NAME/);
    expect(() => parseApprovers('alice')).toThrow(/^approvers: "alice" is neither an email address/);
    expect(() => parseApprovers('group:', 'APPROVERS')).toThrow(/^APPROVERS: "group:" is not a group entry/);
  });

  it('allows a listed, verified email or a listed group, and says why it refuses', () => {
    const approvers = parseApprovers('alice@example.com,group:ops');
    const base = { issuer: 'https://idp.example.com', subject: 's1', groups: [] };
    expect(checkApprover({ ...base, email: 'ALICE@example.com' }, approvers)).toEqual({ allowed: true, by: 'email alice@example.com' });
    expect(checkApprover({ ...base, email: 'alice@example.com', emailVerified: false }, approvers)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('not verified'),
    });
    expect(checkApprover({ ...base, email: 'carol@example.com', groups: ['dev', 'ops'] }, approvers)).toEqual({ allowed: true, by: 'group ops' });
    expect(checkApprover({ ...base, groups: ['dev'] }, approvers)).toEqual({
      allowed: false,
      reason: 'subject s1 is not an approver of this installation: neither the address nor any of its groups is in the approvers list',
    });
    expect(deciderName({ issuer: 'https://idp', subject: 's1' })).toBe('s1 at https://idp');
  });

  it('never allows someone whose email and groups are all unlisted (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c')), fc.constantFrom('x@example.com', 'y@example.com'), (groups, email) => {
        expect(checkApprover({ issuer: 'i', subject: 's', email, groups }, parseApprovers('alice@example.com,group:ops')).allowed).toBe(false);
      }),
    );
  });
});

describe('sign-in cookies', () => {
  const key = Buffer.alloc(32, 7);

  it('opens what it sealed until it expires, and nothing else', () => {
    const sealed = sealCookie('session', { sub: 'alice' }, key, 1_000);
    expect(openCookie('session', sealed, key, 999)).toEqual({ sub: 'alice', exp: 1_000 });
    expect(openCookie('session', sealed, key, 1_000)).toBeNull();
    // A login cookie is not a session, even with the same key.
    expect(openCookie('login', sealed, key, 999)).toBeNull();
    expect(openCookie('session', sealed, Buffer.alloc(32, 8), 999)).toBeNull();
    const [payload, mac] = sealed.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'mallory', exp: 1_000 })).toString('base64url');
    expect(openCookie('session', `${forged}.${mac}`, key, 999)).toBeNull();
    expect(openCookie('session', `${payload}.${mac}.x`, key, 999)).toBeNull();
    expect(openCookie('session', undefined, key, 999)).toBeNull();
  });

  it("reads a cookie from API Gateway's cookies or a Cookie header, and sets it HttpOnly, SameSite=Lax, Secure over https", () => {
    expect(readCookie(['a=1', 'fleet-upgrade-session=v.w'], undefined, 'fleet-upgrade-session')).toBe('v.w');
    expect(readCookie(undefined, 'x=1; __Host-fleet-upgrade-login=abc', '__Host-fleet-upgrade-login')).toBe('abc');
    expect(readCookie(undefined, undefined, 'x')).toBeUndefined();
    expect(setCookie('__Host-fleet-upgrade-session', 'v', 900, true)).toBe(
      '__Host-fleet-upgrade-session=v; Path=/; Max-Age=900; HttpOnly; SameSite=Lax; Secure',
    );
  });
});

describe('local keys', () => {
  it('refuses a local link or session key shorter than 16 bytes, naming the variable', async () => {
    const { approvalKey, sessionKey, resetApprovalKey } = await import('../../adapters/approval-links.js');
    const saved = { link: process.env.APPROVAL_KEY, session: process.env.APPROVAL_SESSION_KEY };
    try {
      resetApprovalKey();
      process.env.APPROVAL_KEY = 'abcd';
      await expect(approvalKey()).rejects.toThrow(/^APPROVAL_KEY must be at least 32 hex digits/);
      process.env.APPROVAL_SESSION_KEY = '00'.repeat(15);
      await expect(sessionKey()).rejects.toThrow(/^APPROVAL_SESSION_KEY must be at least 32 hex digits/);
      process.env.APPROVAL_SESSION_KEY = '00'.repeat(32);
      expect((await sessionKey()).length).toBe(32);
    } finally {
      resetApprovalKey();
      for (const [name, value] of [
        ['APPROVAL_KEY', saved.link],
        ['APPROVAL_SESSION_KEY', saved.session],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
