import { describe, expect, it } from 'vitest';
import { gateAnswer, heldReport, releasesHeldNodes } from '../../core/hold.js';

describe('a failed node holds the run (core rules)', () => {
  it('a stopping run starts nothing; an open question holds; otherwise the node starts', () => {
    expect(gateAnswer({ reason: 'the run stopped: rollback decided for dea-1' }, [{ nodeId: 'dea-2' }])).toEqual({
      go: false,
      reason: 'the run stopped: rollback decided for dea-1',
    });
    expect(gateAnswer(null, [{ nodeId: 'dea-2' }, { nodeId: 'dea-1' }])).toEqual({ go: false, held: true, waitingFor: ['dea-1', 'dea-2'] });
    expect(gateAnswer(null, [])).toEqual({ go: true });
  });

  it('held nodes are released only when every question is answered, or when the run stops', () => {
    expect(releasesHeldNodes(null, [{ nodeId: 'dea-2' }])).toBe(false);
    expect(releasesHeldNodes(null, [])).toBe(true);
    expect(releasesHeldNodes({ reason: 'stopped' }, [{ nodeId: 'dea-2' }])).toBe(true);
  });

  it('reports how long a node waited: ended waits plus the one still open', () => {
    expect(heldReport({ nodeId: 'dea-3', heldMs: 1_500, waitedFor: ['dea-1'] }, '2026-11-29T10:00:00.000Z')).toEqual({
      nodeId: 'dea-3',
      seconds: 1.5,
      waitedFor: ['dea-1'],
    });
    expect(heldReport({ nodeId: 'dea-3', heldMs: 1_000, since: '2026-11-29T09:59:58.000Z', waitedFor: [] }, '2026-11-29T10:00:00.000Z').seconds).toBe(3);
  });
});
