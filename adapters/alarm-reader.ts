import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DescribedAlarms } from '../core/health.js';

/** Reads the state of named alarms (metric and composite alike): the health gate's port. */
export interface AlarmReader {
  describe(names: readonly string[]): Promise<DescribedAlarms>;
}

/** DescribeAlarms takes at most 100 names a call. */
const BATCH = 100;

/** CloudWatch's DescribeAlarms by name, in batches of 100, following NextToken. */
export class CloudWatchAlarmReader implements AlarmReader {
  constructor(private readonly cloudwatch: CloudWatchClient) {}

  async describe(names: readonly string[]): Promise<DescribedAlarms> {
    const out: DescribedAlarms = { metric: [], composite: [] };
    for (let i = 0; i < names.length; i += BATCH) {
      let token: string | undefined;
      do {
        const page = await this.cloudwatch.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + BATCH),
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            MaxRecords: BATCH,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        for (const a of page.MetricAlarms ?? [])
          out.metric.push({ name: a.AlarmName ?? '', state: a.StateValue ?? 'INSUFFICIENT_DATA', ...(a.StateReason ? { reason: a.StateReason } : {}) });
        for (const a of page.CompositeAlarms ?? [])
          out.composite.push({ name: a.AlarmName ?? '', state: a.StateValue ?? 'INSUFFICIENT_DATA', ...(a.StateReason ? { reason: a.StateReason } : {}) });
        token = page.NextToken;
      } while (token);
    }
    return out;
  }
}
