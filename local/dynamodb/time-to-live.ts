import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, errorAnswer, jsonAnswer } from './answers.js';
import type { Answer, Engine } from './engine.js';

/** Where a data directory keeps each table's TTL setting. */
export const TIME_TO_LIVE_FILE = 'time-to-live.json';

interface Specification {
  AttributeName: string;
  Enabled: boolean;
}

/**
 * UpdateTimeToLive and DescribeTimeToLive, which dynalite lacks (the first is an UnknownOperationException, the
 * second always says DISABLED): the rehearsal enables TTL on `ttl` as the stack's template does. The setting is
 * kept per table (in the data directory when there is one). Expired items are not deleted: DynamoDB deletes
 * them in the background "typically within two days", and reads return them until then, so nothing may rely
 * on their being gone.
 */
export class TimeToLive {
  private readonly settings: Record<string, string>;

  constructor(
    private readonly engine: Engine,
    private readonly dir?: string,
  ) {
    const file = dir === undefined ? undefined : join(dir, TIME_TO_LIVE_FILE);
    this.settings = file !== undefined && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  }

  async update(request: { TableName?: unknown; TimeToLiveSpecification?: Partial<Specification> }): Promise<Answer> {
    const spec = request.TimeToLiveSpecification;
    if (typeof spec?.AttributeName !== 'string' || spec.AttributeName.length === 0 || typeof spec.Enabled !== 'boolean') {
      return errorAnswer('ValidationException', 'TimeToLiveSpecification needs an AttributeName and Enabled');
    }
    const table = await this.existing(request.TableName);
    if (typeof table !== 'string') return table;
    const current = this.settings[table];
    // "Any additional UpdateTimeToLive calls for the same table during this one hour duration result in a
    // ValidationException" (API_UpdateTimeToLive): enabling twice, or disabling what is not enabled, is refused.
    if (spec.Enabled && current !== undefined) return errorAnswer('ValidationException', 'TimeToLive is already enabled');
    if (!spec.Enabled && current === undefined) return errorAnswer('ValidationException', 'TimeToLive is already disabled');
    if (spec.Enabled) this.settings[table] = spec.AttributeName;
    else delete this.settings[table];
    this.save();
    return jsonAnswer(200, { TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: spec.Enabled } });
  }

  async describe(request: { TableName?: unknown }): Promise<Answer> {
    const table = await this.existing(request.TableName);
    if (typeof table !== 'string') return table;
    const attribute = this.settings[table];
    return jsonAnswer(200, {
      TimeToLiveDescription: attribute === undefined ? { TimeToLiveStatus: 'DISABLED' } : { TimeToLiveStatus: 'ENABLED', AttributeName: attribute },
    });
  }

  /** A deleted table's setting goes with it. */
  forget(table: unknown): void {
    if (typeof table !== 'string' || this.settings[table] === undefined) return;
    delete this.settings[table];
    this.save();
  }

  /** The table's name when it exists; otherwise the engine's own answer (ResourceNotFoundException, validation). */
  private async existing(table: unknown): Promise<string | Answer> {
    const described = await call(this.engine, 'DescribeTable', { TableName: table });
    return described.ok ? String(table) : described.answer;
  }

  private save(): void {
    if (this.dir !== undefined) writeFileSync(join(this.dir, TIME_TO_LIVE_FILE), `${JSON.stringify(this.settings, null, 2)}\n`);
  }
}
