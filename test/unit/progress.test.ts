import { describe, expect, it } from 'vitest';
import { failureText, ProgressPrinter } from '../../local/progress.js';
import type { RunnerEvent } from '../../local/state-machine-runner.js';

describe('rehearsal progress lines', () => {
  it('say a failed step by its exit code and last line, a timeout as a timeout, anything else as it is', () => {
    expect(failureText('StepFailed', JSON.stringify({ nodeId: 'dea-2', step: 'upgrade', exitCode: 1, outputTail: 'unpacking\ndisk full' }))).toBe(
      'exit code 1: disk full',
    );
    expect(failureText('StepFailed', JSON.stringify({ nodeId: 'dea-2', step: 'upgrade', exitCode: null, outputTail: '' }))).toBe('exit code none');
    expect(failureText('States.Timeout', 'States.Timeout')).toBe("timed out: no result within the step's timeout");
    expect(failureText('Lambda.Unknown', 'boom\nstack')).toBe('Lambda.Unknown: boom');
    expect(failureText('X', 'X')).toBe('X');
  });

  it('says one line for a failed step, then that no node starts, then how the run ended; a gate that lets a node start says nothing', () => {
    const lines: string[] = [];
    const p = new ProgressPrinter((l) => lines.push(l), 0);
    const e = (over: Partial<RunnerEvent>): RunnerEvent =>
      ({ type: 'StateEntered', timestamp: 1000, stateType: 'Task', input: { node: { id: 'dea-2' } }, ...over }) as RunnerEvent;
    p.handle(e({ stateName: 'May this node start?' }));
    p.handle(e({ type: 'StateExited', stateName: 'May this node start?', output: { gate: { go: true } } }));
    p.handle(e({ stateName: 'Upgrade' }));
    p.handle(
      e({ type: 'StateFailed', stateName: 'Upgrade', timestamp: 1100, error: 'StepFailed', cause: JSON.stringify({ exitCode: 1, outputTail: 'injected' }) }),
    );
    p.handle(
      e({
        type: 'StateFailed',
        stateName: 'Stop if a node stopped the run',
        input: {},
        error: 'RunStopped',
        cause: 'the run stopped: rollback decided for dea-2 after upgrade failed',
      }),
    );
    p.handle(
      e({
        type: 'StateFailed',
        stateName: 'Upgrade failed',
        stateType: 'Fail',
        input: {},
        error: 'StepFailed',
        cause: 'upgrade failed on dea-2 (exit code 1)',
      }),
    );
    expect(lines.map((l) => l.replace(/^\[\s*[\d.]+s\] /, '').replace(/\s+/g, ' '))).toEqual([
      'dea-2 Upgrade: FAILED after 0.1s — exit code 1: injected',
      ' no further node starts: rollback decided for dea-2 after upgrade failed',
      ' run ended: upgrade failed on dea-2 (exit code 1)',
    ]);
  });
});

describe('the summary after a run that did not finish', () => {
  it('says the cluster is on two versions and how to carry on or go back', async () => {
    const { afterwards } = await import('../../cli/format-summary.js');
    const node = (to: string, status: string) => ({ roles: ['dea'], from: '3.0.0', to, status, steps: [] });
    // Only the fields afterwards() reads; the rest of a summary does not matter here (hence the casts).
    const lines = afterwards({
      status: 'ROLLED_BACK',
      runId: 'demo-3.1.0-x',
      targetVersion: '3.1.0',
      order: ['dea-1', 'dea-2'],
      nodes: { 'dea-1': node('3.1.0', 'UPGRADED'), 'dea-2': node('3.0.0', 'ROLLED_BACK') },
    } as never);
    expect(lines.join('\n')).toContain('The cluster is now on 2 versions: 3.1.0: dea-1; 3.0.0: dea-2.');
    expect(lines.join('\n')).toContain('fleet-upgrade start --resume-from demo-3.1.0-x');
    expect(lines.join('\n')).toContain('each kept its backup, named after the run (demo-3.1.0-x)');
    expect(afterwards({ status: 'SUCCEEDED', runId: 'r', targetVersion: '3.1.0', order: [], nodes: {} } as never)).toEqual([]);
  });
});

describe('start and plan take the same run options as rehearse', () => {
  it('builds approval, canary and pause limit from flags, and refuses a malformed one naming the flag', async () => {
    const { buildInput } = await import('../../cli/input-flags.js');
    const { input } = await buildInput({
      cluster: 'examples/demo-cluster.json',
      targetVersion: '3.1.0',
      approvalTimeoutMinutes: 5,
      onTimeout: 'abort',
      canary: 1,
      pauseLimitMinutes: 30,
    });
    expect(input).toMatchObject({ approval: { timeoutMinutes: 5, onTimeout: 'abort' }, canary: 1, pauseLimitMinutes: 30 });
    const { main } = await import('../../cli/main.js');
    expect(await main(['plan', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--on-timeout', 'retry'])).toBe(2);
  });
});

describe('--output json|text', () => {
  it("is the command's --json anywhere on the line; text is the default; anything else is refused", async () => {
    const { withOutputFlag } = await import('../../cli/main.js');
    expect(withOutputFlag(['--output', 'json', 'status'])).toEqual(['status', '--json']);
    expect(withOutputFlag(['status', '--output=json', '--json'])).toEqual(['status', '--json']);
    expect(withOutputFlag(['status', '--output', 'text'])).toEqual(['status']);
    expect(() => withOutputFlag(['status', '--output', 'yaml'])).toThrow('--output: expected json or text, got "yaml"');
  });
});

describe('--cluster-file FILE', () => {
  it('is --cluster FILE, and a path that is not a file is refused rather than taken for a cluster name', async () => {
    const { withClusterFileFlag } = await import('../../cli/main.js');
    expect(withClusterFileFlag(['plan', '--cluster-file', 'examples/demo-cluster.json'])).toEqual(['plan', '--cluster', 'examples/demo-cluster.json']);
    expect(withClusterFileFlag(['plan', '--cluster-file=examples/demo-cluster.json'])).toEqual(['plan', '--cluster', 'examples/demo-cluster.json']);
    expect(() => withClusterFileFlag(['plan', '--cluster-file', 'demo'])).toThrow('--cluster-file: expected the path of a cluster file, got "demo"');
    expect(() => withClusterFileFlag(['plan', '--cluster-file', 'examples'])).toThrow('got "examples" (not a file)');
    expect(withClusterFileFlag(['plan', '--', '--cluster-file', 'x'])).toEqual(['plan', '--', '--cluster-file', 'x']);
  });
});
