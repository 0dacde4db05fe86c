import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

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
  close(): Promise<void>;
}

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A local SNS endpoint speaking the AWS Query protocol subset the SDK's Publish uses, so the real
 * @aws-sdk/client-sns works in the rehearsal. Every message is kept and handed to `onPublish`.
 */
export async function startLocalSns(onPublish: (message: PublishedMessage) => void): Promise<LocalSns> {
  const published: PublishedMessage[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const requestId = randomUUID();
      if (form.get('Action') !== 'Publish') {
        res.writeHead(400, { 'content-type': 'text/xml' }).end(
          `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>only Publish is served locally</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
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
      res.writeHead(200, { 'content-type': 'text/xml' }).end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${xmlEscape(messageId)}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
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
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
