/** The reminders an approval gets while it waits: halfway through the wait, and shortly before the deadline. */
export const REMINDER_KINDS = ['halfway', 'final'] as const;
export type ReminderKind = (typeof REMINDER_KINDS)[number];

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** The longest an emailed approval link stays valid: a link leaked from a mailbox stops working within a week. */
export const LINK_LIFETIME_MS = 7 * DAY_MS;
/** How long before the current link expires a fresh one goes out, when the approval waits longer than the link lives. */
export const FRESH_LINK_LEAD_MS = DAY_MS;

/**
 * When a link issued at `issuedAt` stops working: the approval's deadline, or a week after it was issued if that
 * comes first — in whole seconds, as the link's `exp` carries it (so a link to the deadline is not "earlier").
 */
export function linkExpiry(deadline: number, issuedAt: number): number {
  return Math.floor(Math.min(deadline, issuedAt + LINK_LIFETIME_MS) / 1000) * 1000;
}

/**
 * When each reminder is due, for an approval asked at `createdAt` (its first email) with its deadline at
 * `expiresAt` (epoch ms), and how close two emails may come before they merge into one.
 *
 *   createdAt ─────────── halfway ────────────────── final ─── lead ──► expiresAt
 *                          (T/2)               (expiresAt − min(1 h, T/4))
 *
 * The final lead is one hour for waits of four hours and more; a shorter wait (a rehearsal's seconds) keeps
 * the same shape with a quarter of it. Emails closer than `gap` = min(5 min, T/10) merge into one.
 */
export function reminderSchedule(createdAt: number, expiresAt: number): { at: Record<ReminderKind, number>; gap: number } {
  const wait = Math.max(0, expiresAt - createdAt);
  return {
    at: { halfway: createdAt + wait / 2, final: expiresAt - Math.min(HOUR_MS, wait / 4) },
    gap: Math.min(5 * MINUTE_MS, wait / 10),
  };
}

/** What the reminder sweep knows of one waiting approval (epoch ms). */
export interface ReminderFacts {
  /** When the approval request was emailed. */
  createdAt: number;
  /** The deadline: past it `onTimeout` decides and nothing more is sent. */
  expiresAt: number;
  /** Reminders already sent (or merged into one sent). */
  reminded: readonly ReminderKind[];
  /** When the latest emailed link expires; absent when the emails carry no link (no approval page). */
  linkExpiresAt?: number;
}

/** The sweep's answer for one approval: nothing now, or one email (a reminder, a fresh link, or both at once). */
export type ReminderDecision =
  | { send: false }
  | {
      send: true;
      /** The reminder the email is worded as; `fresh-link` when only the link needs renewing. */
      reminder: ReminderKind | 'fresh-link';
      /** Every reminder recorded as done once this email is sent (a reminder due a moment later is merged into it). */
      reminded: ReminderKind[];
      /** The expiry of the link the email carries (epoch ms). */
      linkExpiresAt: number;
    };

/**
 * Whether to email about a waiting approval now. A reminder is due from its time on; several due at once
 * (the sweep ran late) go out as one email, worded as the latest; a reminder that would follow the one being
 * sent within `gap` is said now instead. A link that would expire before the deadline is renewed a day before
 * it expires (every email carries a link valid for the full week, or to the deadline). Nothing after the deadline.
 */
export function nextReminder(facts: ReminderFacts, now: number): ReminderDecision {
  // Links expire in whole seconds: in the deadline's last part-second any link sent would be dead on arrival.
  if (now >= linkExpiry(facts.expiresAt, facts.expiresAt) || facts.expiresAt <= facts.createdAt) return { send: false };
  const { at, gap } = reminderSchedule(facts.createdAt, facts.expiresAt);
  const pending = REMINDER_KINDS.filter((kind) => !facts.reminded.includes(kind));
  const due = pending.filter((kind) => at[kind] <= now);
  const linkLapses =
    facts.linkExpiresAt !== undefined && facts.linkExpiresAt < linkExpiry(facts.expiresAt, facts.expiresAt) && now >= facts.linkExpiresAt - FRESH_LINK_LEAD_MS;
  if (due.length === 0 && !linkLapses) return { send: false };
  const soon = due.length === 0 ? [] : pending.filter((kind) => at[kind] > now && at[kind] - now < gap);
  const covered = [...due, ...soon];
  return {
    send: true,
    reminder: covered.at(-1) ?? 'fresh-link',
    reminded: [...facts.reminded, ...covered],
    linkExpiresAt: linkExpiry(facts.expiresAt, now),
  };
}
