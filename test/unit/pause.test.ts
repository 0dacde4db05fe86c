import { describe, expect, it } from 'vitest';
import { pauseCheck, pauseGate, pauseKeepsHeld, pausedLine } from '../../core/pause.js';

const pause = { pausedAt: '2026-11-29T10:00:00.000Z', pausedBy: 'alice' };
const hour = 3600;

describe('a paused run starts no node until it is resumed or its limit passes (core rules)', () => {
  it('no pause: the gate answers as it would', () => {
    expect(pauseCheck(null, hour, '2026-11-29T10:00:00.000Z')).toEqual({ kind: 'none' });
    expect(pauseGate({ go: true }, { kind: 'none' })).toEqual({ go: true });
  });

  it('an open pause holds a node that could start, until its limit, waking at the limit at the latest', () => {
    const check = pauseCheck(pause, 2 * hour, '2026-11-29T11:30:00.000Z');
    expect(check).toEqual({ kind: 'paused', until: '2026-11-29T12:00:00.000Z', recheckSeconds: 1800 });
    expect(pauseGate({ go: true }, check, 'alice')).toEqual({
      go: false,
      paused: true,
      until: '2026-11-29T12:00:00.000Z',
      pausedBy: 'alice',
      recheckSeconds: 1800,
    });
  });

  it('a paused node asks again within the hour even under a long limit (a lost release costs at most that)', () => {
    const check = pauseCheck(pause, 24 * hour, '2026-11-29T10:00:01.000Z');
    expect(check).toMatchObject({ kind: 'paused', recheckSeconds: 3600 });
  });

  it('a stop or an open question wins over the pause', () => {
    const check = pauseCheck(pause, hour, '2026-11-29T10:10:00.000Z');
    expect(pauseGate({ go: false, reason: 'the run stopped' }, check)).toEqual({ go: false, reason: 'the run stopped' });
    expect(pauseGate({ go: false, held: true, waitingFor: ['dea-1'] }, check)).toEqual({ go: false, held: true, waitingFor: ['dea-1'] });
  });

  it('past its limit the pause has expired, naming who paused and when', () => {
    const check = pauseCheck(pause, 90 * 60, '2026-11-29T11:30:00.000Z');
    expect(check.kind).toBe('expired');
    expect(check.kind === 'expired' && check.reason).toBe(
      'the run stopped: paused by alice at 2026-11-29T10:00:00.000Z and not resumed within its limit (90 min, until 2026-11-29T11:30:00.000Z)',
    );
    expect(pauseGate({ go: true }, check)).toEqual({ go: true });
  });

  it('held nodes stay held while the run is paused, unless the run is stopping or the pause expired', () => {
    expect(pauseKeepsHeld(pauseCheck(pause, hour, '2026-11-29T10:10:00.000Z'), false)).toBe(true);
    expect(pauseKeepsHeld(pauseCheck(pause, hour, '2026-11-29T10:10:00.000Z'), true)).toBe(false);
    expect(pauseKeepsHeld(pauseCheck(pause, hour, '2026-11-29T11:10:00.000Z'), false)).toBe(false);
    expect(pauseKeepsHeld({ kind: 'none' }, false)).toBe(false);
  });

  it('says PAUSED in progress lines and watch', () => {
    expect(pausedLine('2026-11-29T12:00:00.000Z')).toBe('PAUSED: waiting for fleet-upgrade resume (limit 2026-11-29T12:00:00.000Z)');
  });
});
