import type { Answer, Engine } from './engine.js';

/** DynamoDB's JSON error answer: `__type` names the error, as the SDK reads it. */
export function errorAnswer(type: string, message: string): Answer {
  const namespace = type === 'ValidationException' ? 'com.amazon.coral.validate' : 'com.amazonaws.dynamodb.v20120810';
  return jsonAnswer(400, { __type: `${namespace}#${type}`, message });
}

export function jsonAnswer(status: number, body: unknown): Answer {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify(body) };
}

/** The error an answer carries (`ConditionalCheckFailedException`), or undefined for a success. */
export function errorType(answer: Answer): string | undefined {
  if (answer.status < 400) return undefined;
  try {
    const type = (JSON.parse(answer.body) as { __type?: unknown }).__type;
    return typeof type === 'string' ? type.slice(type.indexOf('#') + 1) : undefined;
  } catch {
    return undefined;
  }
}

/** Sends a request the layer makes itself and parses the answer; an error answer is returned as it is. */
export async function call(
  engine: Engine,
  operation: string,
  request: unknown,
): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; answer: Answer }> {
  const answer = await engine.send(operation, JSON.stringify(request));
  if (answer.status >= 400) return { ok: false, answer };
  return { ok: true, body: JSON.parse(answer.body) as Record<string, unknown> };
}
