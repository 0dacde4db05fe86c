import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** The middle value (the mean of the two middle ones for an even count); 0 for none. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/** The value `p` percent of the way up the sorted values (nearest rank); 0 for none. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** The machine's load average over 1, 5 and 15 minutes: the numbers beside it are read in its light. */
export const loadAverage = () => loadavg().map((x) => round(x, 1));

/** CPU seconds a process used so far (user + system), from /proc; 0 where there is none. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
