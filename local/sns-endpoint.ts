import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { LocalSubscriptions, queryError, xmlEscape } from './sns-subscriptions.js';

/** A message published to the local topic (what an email subscriber would receive). */
export interface PublishedMessage {
  topicArn: string;
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

export interface LocalSns {
  readonly endpoint: string;
  readonly published: PublishedMessage[];
  /** The topic's email subscriptions, pending until confirmed (with their tokens, as the emails would carry them). */
  readonly subscriptions: LocalSubscriptions;
  close(): Promise<void>;
}

/** The topic and its email subscribers, as the template names them (none: only Publish is answered). */
export interface LocalTopic {
  topicArn: string;
  emails: readonly string[];
  owner: string;
}

/**
 * A local SNS endpoint speaking the AWS Query protocol subset the SDK's Publish uses, so the real
 * @aws-sdk/client-sns works in the rehearsal. Every message is kept and handed to `onPublish`.
 * Given the topic's subscribers, it also answers ConfirmSubscription, ListSubscriptionsByTopic and
 * GetSubscriptionAttributes (local/sns-subscriptions.ts).
 */
export async function startLocalSns(onPublish: (message: PublishedMessage) => void, topic?: LocalTopic): Promise<LocalSns> {
  const published: PublishedMessage[] = [];
  const subscriptions = new LocalSubscriptions(topic?.topicArn, topic?.emails ?? [], topic?.owner ?? '');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const requestId = randomUUID();
      if (form.get('Action') !== 'Publish') {
        const answer = subscriptions.answer(form) ?? queryError(400, 'InvalidAction', `${form.get('Action') ?? 'no action'} is not served locally`);
        res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.xml);
        return;
      }
      const attributes: Record<string, string> = {};
      for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
        attributes[form.get(`MessageAttributes.entry.${i}.Name`) ?? ''] = form.get(`MessageAttributes.entry.${i}.Value.StringValue`) ?? '';
      }
      const message: PublishedMessage = {
        topicArn: form.get('TopicArn') ?? '',
        subject: form.get('Subject') ?? '',
        message: form.get('Message') ?? '',
        attributes,
      };
      published.push(message);
      const messageId = randomUUID();
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${xmlEscape(messageId)}</MessageId>` +
            `</PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
        );
      onPublish(message);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    published,
    subscriptions,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
