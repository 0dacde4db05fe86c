/**
 * Dotted numeric versions with an optional pre-release: 3.0.10 > 3.0.9, 3.2.0-rc.1 < 3.2.0.
 * The pattern is also the SSM document's allowedPattern, so nothing else ever reaches a node.
 */
export const VERSION_PATTERN = /^[0-9]+(\.[0-9]+){0,3}(-[0-9A-Za-z]+(\.[0-9A-Za-z]+)*)?$/;

interface ParsedVersion {
  numbers: number[];
  pre: string[];
}

function parse(version: string): ParsedVersion {
  if (!VERSION_PATTERN.test(version)) throw new Error(`not a version: ${JSON.stringify(version)}`);
  const [main = '', pre] = splitOnce(version, '-');
  return { numbers: main.split('.').map(Number), pre: pre === undefined ? [] : pre.split('.') };
}

function splitOnce(value: string, sep: string): [string, string | undefined] {
  const at = value.indexOf(sep);
  return at < 0 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
}

function comparePre(a: string[], b: string[]): number {
  // A release sorts after any of its pre-releases (semver rule).
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^[0-9]+$/.test(x);
    const yn = /^[0-9]+$/.test(y);
    if (xn && yn && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (xn !== yn) return xn ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Negative when a < b, zero when equal, positive when a > b. Missing components count as 0 (3.1 == 3.1.0). */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < Math.max(pa.numbers.length, pb.numbers.length); i++) {
    const d = (pa.numbers[i] ?? 0) - (pb.numbers[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(comparePre(pa.pre, pb.pre));
}

export function isValidVersion(value: string): boolean {
  return VERSION_PATTERN.test(value);
}
