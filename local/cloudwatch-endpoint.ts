import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { AwsJsonError, startJsonProtocolServer, type JsonProtocolServer } from './json-protocol.js';
import { documentClient } from '../adapters/aws-clients.js';
import { outcomeKey } from '../adapters/keys.js';

/** `rehearse --alarm NAME:after=NODE`: alarm NAME goes to ALARM once NODE is upgraded. */
export interface ScriptedAlarm {
  name: string;
  afterNode: string;
}

/**
 * CloudWatch's DescribeAlarms over loopback: the SDK (3.1164) speaks AWS JSON 1.0 to CloudWatch
 * (`GraniteServiceVersion20100801`, query-compatible). Every alarm the run names exists and is OK, unless
 * scripted: it is in ALARM from the moment its node's outcome UPGRADED is in the table (read at each call,
 * so the check right after "Record version" sees it). Unnamed alarms do not exist (the gate's typo check).
 */
export async function startLocalCloudWatch(opts: {
  alarms: readonly string[];
  scripted: readonly ScriptedAlarm[];
  runId: string;
  tableName: string;
  region?: string;
  account?: string;
}): Promise<JsonProtocolServer> {
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '000000000000';
  const known = new Set([...opts.alarms, ...opts.scripted.map((a) => a.name)]);
  // When each scripted alarm went off (first seen), so its timestamp stays put across calls.
  const firedAt = new Map<string, Date>();
  const upgraded = async (nodeId: string): Promise<boolean> => {
    // The operator-side client (the rehearsal's own), like the scripted pause: not a Lambda's call.
    const out = await documentClient().send(new GetCommand({ TableName: opts.tableName, Key: outcomeKey(opts.runId, nodeId), ConsistentRead: true }));
    return out.Item?.status === 'UPGRADED';
  };
  const started = new Date();
  return startJsonProtocolServer({
    targetPrefix: 'GraniteServiceVersion20100801',
    contentType: 'application/x-amz-json-1.0',
    operations: {
      DescribeAlarms: async (request) => {
        const names = Array.isArray(request.AlarmNames) ? (request.AlarmNames as unknown[]).map(String) : [...known];
        if (names.length > 100) throw new AwsJsonError('InvalidParameterValue', 'AlarmNames: at most 100 names');
        const metricAlarms = await Promise.all(
          names
            .filter((n) => known.has(n))
            .map(async (name) => {
              const triggers = opts.scripted.filter((a) => a.name === name);
              const fired = firedAt.get(name) ?? ((await Promise.all(triggers.map((t) => upgraded(t.afterNode)))).some(Boolean) ? new Date() : undefined);
              if (fired !== undefined) firedAt.set(name, fired);
              const afterNode = triggers[0]?.afterNode ?? '';
              return {
                AlarmName: name,
                AlarmArn: `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`,
                StateValue: fired ? 'ALARM' : 'OK',
                StateReason: fired
                  ? `Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0) (rehearsal: after ${afterNode} was upgraded)`
                  : 'Threshold Crossed: 1 datapoint [0.0] was not greater than the threshold (5.0)',
                StateUpdatedTimestamp: Math.floor((fired ?? started).getTime() / 1000),
              };
            }),
        );
        return { MetricAlarms: metricAlarms, CompositeAlarms: [] };
      },
    },
  });
}
