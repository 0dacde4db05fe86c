import { call } from './answers.js';
import type { Engine } from './engine.js';

type AttributeMap = Record<string, unknown>;

/**
 * Serializes the writes to one item that pass through the layer, so that a write and what the layer does right
 * after it (re-reading the item its condition failed on) are one step, as in DynamoDB, where the old item comes
 * with the failure itself. Writes to other items go on in parallel.
 */
export class ItemLocks {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly keySchemas = new Map<string, string[]>();

  constructor(private readonly engine: Engine) {}

  /**
   * The item's key (its key attributes only) and the name it is locked under; undefined when the table or a key
   * attribute is missing (the engine then answers the request with the error DynamoDB gives).
   */
  async keyOf(table: unknown, item: unknown): Promise<{ key: AttributeMap; name: string } | undefined> {
    if (typeof table !== 'string' || typeof item !== 'object' || item === null) return undefined;
    const names = await this.keyNames(table);
    if (names === undefined) return undefined;
    const key: AttributeMap = {};
    for (const name of names) {
      const value = (item as AttributeMap)[name];
      if (value === undefined) return undefined;
      key[name] = value;
    }
    return { key, name: JSON.stringify([table, ...names.map((n) => key[n])]) };
  }

  /** Forget what is known of a table's keys (it was created or deleted). */
  forget(table: unknown): void {
    if (typeof table === 'string') this.keySchemas.delete(table);
  }

  /**
   * Runs `work` once no earlier write to any of `names` is under way. Each caller takes its place in every
   * queue at once (synchronously), so two callers never wait for each other in a circle.
   */
  async run<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const unique = [...new Set(names)];
    const before = unique.map((name) => {
      const previous = this.tails.get(name) ?? Promise.resolve();
      this.tails.set(
        name,
        previous.then(() => mine),
      );
      return previous;
    });
    await Promise.all(before);
    try {
      return await work();
    } finally {
      release();
      // The last in a queue removes it, so the map holds only items with writes under way.
      for (const name of unique) {
        const tail = this.tails.get(name);
        if (tail !== undefined) void tail.then(() => this.tails.get(name) === tail && this.tails.delete(name));
      }
    }
  }

  private async keyNames(table: string): Promise<string[] | undefined> {
    const known = this.keySchemas.get(table);
    if (known !== undefined) return known;
    const described = await call(this.engine, 'DescribeTable', { TableName: table });
    if (!described.ok) return undefined;
    const schema = (described.body.Table as { KeySchema?: { AttributeName: string }[] } | undefined)?.KeySchema ?? [];
    const names = schema.map((k) => k.AttributeName);
    this.keySchemas.set(table, names);
    return names;
  }
}
