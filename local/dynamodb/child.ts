/**
 * The local DynamoDB's own process (started by start.ts): serves on loopback, prints `{"port":N}` once it
 * listens, and ends, closing its tables, on SIGTERM or when its parent goes (its stdin, a pipe from the parent,
 * closes however the parent ended, a kill -9 included).
 *
 *   tsx local/dynamodb/child.ts [--dir DIR]
 */
import { serveLocalDynamoDb } from './compat-server.js';

const at = process.argv.indexOf('--dir');
const dir = at >= 0 ? process.argv[at + 1] : undefined;
const server = await serveLocalDynamoDb(dir === undefined ? {} : { dir });

let closing: Promise<void> | undefined;
function shutdown(): void {
  closing ??= server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`local DynamoDB: closing failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
// Ctrl-C in a terminal goes to the foreground process group; this process has its own (start.ts), so a SIGINT
// here comes from someone who means it.
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
