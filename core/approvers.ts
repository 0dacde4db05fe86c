/**
 * Who may decide an approval when the page signs people in: listed emails and members of listed groups
 * (the ID token's groups claim). Pure: the page's adapter turns the ID token into an `ApproverIdentity`.
 */

/** The signed-in person, from the ID token's claims. */
export interface ApproverIdentity {
  issuer: string;
  subject: string;
  /** Absent when the provider sent none (then only a group can make the person an approver). */
  email?: string;
  /** False when the provider says the address is not verified: such an address never matches. */
  emailVerified?: boolean;
  groups: string[];
}

/** What a decision records of the person who took it (no groups: they are why, not who). */
export interface DeciderIdentity {
  issuer: string;
  subject: string;
  email?: string;
}

export interface Approvers {
  emails: string[];
  groups: string[];
}

const EMAIL = /^[^\s@<>(),;:"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9 ._:/@-]{0,127}$/;

/**
 * Parses `approvers`: comma-separated emails and `group:NAME` entries. Throws naming `field` and the expected
 * form; an empty list is refused because sign-in with nobody allowed would let no decision through.
 */
export function parseApprovers(spec: string, field = 'approvers'): Approvers {
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0)
    throw new Error(`${field}: expected comma-separated emails and/or group:NAME entries (e.g. alice@example.com,group:fleet-operators), got none`);
  const emails: string[] = [];
  const groups: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('group:')) {
      const name = entry.slice('group:'.length);
      if (!GROUP.test(name))
        throw new Error(`${field}: ${JSON.stringify(entry)} is not a group entry: expected group:NAME (letters, digits, space . _ : / @ -; at most 128)`);
      groups.push(name);
    } else {
      if (!EMAIL.test(entry)) throw new Error(`${field}: ${JSON.stringify(entry)} is neither an email address (alice@example.com) nor group:NAME`);
      emails.push(entry.toLowerCase());
    }
  }
  return { emails: [...new Set(emails)], groups: [...new Set(groups)] };
}

export type ApproverCheck = { allowed: true; by: string } | { allowed: false; reason: string };

/** Whether the signed-in person may decide, and if not, a reason the refusal page can show as it is. */
export function checkApprover(who: ApproverIdentity, approvers: Approvers): ApproverCheck {
  const email = who.email?.toLowerCase();
  if (email !== undefined && approvers.emails.includes(email)) {
    if (who.emailVerified === false)
      return { allowed: false, reason: `${email} is listed, but your identity provider says the address is not verified, so it does not count` };
    return { allowed: true, by: `email ${email}` };
  }
  const group = approvers.groups.find((g) => who.groups.includes(g));
  if (group !== undefined) return { allowed: true, by: `group ${group}` };
  const name = email ?? `subject ${who.subject}`;
  return { allowed: false, reason: `${name} is not an approver of this installation: neither the address nor any of its groups is in the approvers list` };
}

/** The name a decision is recorded under: the email when there is one, else issuer and subject. */
export function deciderName(who: DeciderIdentity): string {
  return who.email ?? `${who.subject} at ${who.issuer}`;
}
