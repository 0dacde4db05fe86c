import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../core/version.js';
import { compareNatural } from '../../core/natural-sort.js';

describe('versions', () => {
  it.each([
    ['3.0.10', '3.0.9', 1],
    ['3.2.0-rc.1', '3.2.0', -1],
    ['3.2.0-rc.2', '3.2.0-rc.10', -1],
    ['3.1', '3.1.0', 0],
    ['3.0.0', '3.1.0', -1],
    ['4.0.0-alpha', '4.0.0-beta', -1],
  ])('compares %s with %s as %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });

  it('refuses strings that are not versions', () => {
    expect(() => compareVersions('3.0;ls', '3.0')).toThrow(/not a version/);
  });

  it('sorts node ids naturally', () => {
    expect(['dea-10', 'dea-2', 'dea-1', 'core'].sort(compareNatural)).toEqual(['core', 'dea-1', 'dea-2', 'dea-10']);
  });
});
