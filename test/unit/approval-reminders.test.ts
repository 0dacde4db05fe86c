import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FRESH_LINK_LEAD_MS, LINK_LIFETIME_MS, linkExpiry, nextReminder, reminderSchedule, type ReminderFacts } from '../../core/approval-reminders.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-24T10:00:00.000Z');

interface Sent {
  at: number;
  reminder: string;
  linkExpiresAt: number;
}

/** Sweeps at the given times, carrying out each decision as remind-approvers does (recording what it sent). */
function sweep(createdAt: number, expiresAt: number, times: number[], link = true): Sent[] {
  let facts: ReminderFacts = { createdAt, expiresAt, reminded: [], ...(link ? { linkExpiresAt: linkExpiry(expiresAt, createdAt) } : {}) };
  const sent: Sent[] = [];
  for (const now of times) {
    const d = nextReminder(facts, now);
    if (!d.send) continue;
    sent.push({ at: now, reminder: d.reminder, linkExpiresAt: d.linkExpiresAt });
    facts = { ...facts, reminded: d.reminded, ...(link ? { linkExpiresAt: d.linkExpiresAt } : {}) };
  }
  return sent;
}

/** Sweep times every `step` ms from the first email to the deadline. */
const every = (step: number, from: number, to: number) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

describe('when reminders go out', () => {
  it('for the default 24-hour wait: halfway (12 h) and one hour before the deadline, each once', () => {
    const sent = sweep(T0, T0 + DAY, every(5 * MIN, T0, T0 + DAY));
    expect(sent.map((s) => [s.reminder, (s.at - T0) / HOUR])).toEqual([
      ['halfway', 12],
      ['final', 23],
    ]);
  });

  it('for a short wait keeps the shape: the final lead is a quarter of the wait (a 6-second rehearsal: 3 s and 4.5 s)', () => {
    expect(reminderSchedule(T0, T0 + 6000).at).toEqual({ halfway: T0 + 3000, final: T0 + 4500 });
    expect(reminderSchedule(T0, T0 + 2 * HOUR).at).toEqual({ halfway: T0 + HOUR, final: T0 + 1.5 * HOUR });
    expect(reminderSchedule(T0, T0 + 4 * HOUR).at.final).toBe(T0 + 3 * HOUR);
    expect(reminderSchedule(T0, T0 + 7 * DAY).at.final).toBe(T0 + 7 * DAY - HOUR);
  });

  it('sends one email when the sweep comes late and both reminders are due, worded as the final one', () => {
    const sent = sweep(T0, T0 + DAY, [T0 + 23.5 * HOUR, T0 + 23.6 * HOUR]);
    expect(sent.map((s) => s.reminder)).toEqual(['final']);
  });

  it('merges a reminder into the one going out when it would follow within a few minutes', () => {
    // A 30-minute wait: halfway at 15 min, final at 22.5 min, gap 3 min; a sweep at 20 min sends the final now.
    const d = nextReminder({ createdAt: T0, expiresAt: T0 + 30 * MIN, reminded: [] }, T0 + 20 * MIN);
    expect(d).toMatchObject({ send: true, reminder: 'final', reminded: ['halfway', 'final'] });
    const early = nextReminder({ createdAt: T0, expiresAt: T0 + 30 * MIN, reminded: [] }, T0 + 16 * MIN);
    expect(early).toMatchObject({ send: true, reminder: 'halfway', reminded: ['halfway'] });
  });

  it('sends nothing at or after the deadline, nor before the first reminder is due', () => {
    expect(nextReminder({ createdAt: T0, expiresAt: T0 + DAY, reminded: [] }, T0 + DAY)).toEqual({ send: false });
    expect(nextReminder({ createdAt: T0, expiresAt: T0 + DAY, reminded: [] }, T0 + DAY + HOUR)).toEqual({ send: false });
    expect(nextReminder({ createdAt: T0, expiresAt: T0 + DAY, reminded: [] }, T0 + 11 * HOUR)).toEqual({ send: false });
    expect(nextReminder({ createdAt: T0, expiresAt: T0, reminded: [] }, T0)).toEqual({ send: false });
  });

  it('never sends a reminder at or after the deadline, each reminder at most once, and two reminders at least the gap apart (any sweep times)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 6000, max: 7 * DAY }), fc.array(fc.integer({ min: 0, max: 8 * DAY }), { maxLength: 60 }), (wait, offsets) => {
        const times = [...offsets].sort((a, b) => a - b).map((o) => T0 + o);
        const sent = sweep(T0, T0 + wait, times).filter((s) => s.reminder !== 'fresh-link');
        const { gap } = reminderSchedule(T0, T0 + wait);
        expect(sent.every((s) => s.at < T0 + wait)).toBe(true);
        expect(new Set(sent.map((s) => s.reminder)).size).toBe(sent.length);
        for (let i = 1; i < sent.length; i++) expect((sent[i]?.at ?? 0) - (sent[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(gap);
      }),
    );
  });

  it('sends the final reminder before the deadline whenever the sweep runs at least as often as the final lead (any wait)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 6000, max: 30 * DAY }), fc.integer({ min: 10, max: 100 }), (wait, parts) => {
        const lead = T0 + wait - reminderSchedule(T0, T0 + wait).at.final;
        const step = Math.max(1, Math.floor((lead * parts) / 101));
        const sent = sweep(T0, T0 + wait, every(step, T0, T0 + wait));
        expect(sent.some((s) => s.reminder === 'final')).toBe(true);
      }),
    );
  });
});

describe('links capped at 7 days, fresh links for longer waits', () => {
  it('a link expires at the deadline, or 7 days after it was issued when that comes first', () => {
    expect(linkExpiry(T0 + DAY, T0)).toBe(T0 + DAY);
    expect(linkExpiry(T0 + 10 * DAY, T0)).toBe(T0 + LINK_LIFETIME_MS);
  });

  it('sends a fresh link a day before the current one expires, when the deadline is later', () => {
    const facts: ReminderFacts = { createdAt: T0, expiresAt: T0 + 10 * DAY, reminded: ['halfway'], linkExpiresAt: T0 + 7 * DAY };
    expect(nextReminder(facts, T0 + 6 * DAY - MIN)).toEqual({ send: false });
    expect(nextReminder(facts, T0 + 7 * DAY - FRESH_LINK_LEAD_MS)).toEqual({
      send: true,
      reminder: 'fresh-link',
      reminded: ['halfway'],
      linkExpiresAt: T0 + 10 * DAY,
    });
  });

  it("counts a link in whole seconds: one that expires in the deadline's second lasts to the deadline", () => {
    expect(linkExpiry(T0 + 6789, T0)).toBe(T0 + 6000);
    expect(nextReminder({ createdAt: T0, expiresAt: T0 + 12_345, reminded: ['halfway', 'final'], linkExpiresAt: T0 + 12_000 }, T0 + 11_000)).toEqual({
      send: false,
    });
  });

  it('sends no fresh link when the emails carry none, or the link already lasts to the deadline', () => {
    expect(nextReminder({ createdAt: T0, expiresAt: T0 + 10 * DAY, reminded: ['halfway'] }, T0 + 6.5 * DAY)).toEqual({ send: false });
    expect(nextReminder({ createdAt: T0, expiresAt: T0 + 3 * DAY, reminded: ['halfway'], linkExpiresAt: T0 + 3 * DAY }, T0 + 2.5 * DAY)).toEqual({
      send: false,
    });
  });

  it("keeps a valid link in the approvers' hands until the deadline when the sweep runs at least hourly (waits up to 30 days)", () => {
    fc.assert(
      fc.property(fc.integer({ min: HOUR, max: 30 * DAY }), fc.integer({ min: 10 * MIN, max: HOUR }), (wait, step) => {
        let link = linkExpiry(T0 + wait, T0);
        for (const s of sweep(T0, T0 + wait, every(step, T0, T0 + wait))) {
          expect(s.at, 'a fresh link goes out before the one in hand expires').toBeLessThan(link);
          expect(s.linkExpiresAt - s.at).toBeLessThanOrEqual(LINK_LIFETIME_MS);
          link = s.linkExpiresAt;
        }
        expect(link).toBe(Math.floor((T0 + wait) / 1000) * 1000);
      }),
      { numRuns: 50, examples: [[HOUR + 1, HOUR]] },
    );
  });
});
