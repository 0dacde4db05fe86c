import { describe, expect, it } from 'vitest';
import { failureIgnored, ignoreFailure, interpretStepResult } from '../../core/step-result.js';
import { STEP_IDS } from '../../core/steps.js';

const failed = (step: 'pre-upgrade-validation' | 'post-upgrade-validation') =>
  interpretStepResult({ step, nodeId: 'dea-2', exitCode: 1, stdout: 'checking\n', stderr: 'service answers 503', targetVersion: '3.1.0' });

describe('ignoreInspectFailures (kato --ignore-inspect-failures)', () => {
  it('ignores failures of the pre- and post-upgrade validations only, and only when asked', () => {
    expect(STEP_IDS.filter((s) => failureIgnored(s, true))).toEqual(['pre-upgrade-validation', 'post-upgrade-validation']);
    expect(STEP_IDS.filter((s) => failureIgnored(s, false))).toEqual([]);
  });

  it('turns a failed pre-upgrade validation into a warning naming the step, exit code and last line', () => {
    const result = ignoreFailure(failed('pre-upgrade-validation'));
    expect(result.outcome).toBe('FAILED_IGNORED');
    expect(result.warnings).toEqual(['pre-upgrade-validation failed (exit code 1), ignored as asked (ignoreInspectFailures): service answers 503']);
  });

  it('turns a failed post-upgrade validation into a warning that says the node runs the new version', () => {
    const result = ignoreFailure(failed('post-upgrade-validation'));
    expect(result.outcome).toBe('FAILED_IGNORED');
    expect(result.warnings[0]).toBe(
      'post-upgrade-validation failed (exit code 1), ignored as asked (ignoreInspectFailures); the node runs the new version: service answers 503',
    );
  });

  it('leaves a step that did not fail as it was', () => {
    const ok = interpretStepResult({
      step: 'post-upgrade-validation',
      nodeId: 'dea-2',
      exitCode: 0,
      stdout: '{"version":"3.1.0"}',
      stderr: '',
      targetVersion: '3.1.0',
    });
    expect(ignoreFailure(ok)).toBe(ok);
  });
});
