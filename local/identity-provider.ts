import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

/** A person who can sign in to the local identity provider. */
export interface TestUser {
  email: string;
  groups: string[];
  password: string;
}

export interface LocalIdentityProvider {
  /** The issuer (`http://127.0.0.1:<port>`), what APPROVAL_ISSUER names. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly users: readonly TestUser[];
  close(): Promise<void>;
}

/** The rehearsal's people: alice and carol approve through their group, bob is signed in but not an approver. */
export const REHEARSAL_APPROVERS = 'group:fleet-operators';

export function rehearsalUsers(extra: readonly string[] = []): TestUser[] {
  const password = randomBytes(12).toString('hex');
  const users: TestUser[] = [
    { email: 'alice@example.com', groups: ['fleet-operators'], password },
    { email: 'bob@example.com', groups: ['developers'], password },
    { email: 'carol@example.com', groups: ['fleet-operators', 'dba'], password },
  ];
  for (const email of extra) if (!users.some((u) => u.email === email)) users.push({ email, groups: [], password });
  return users;
}

type Stored = Record<string, unknown> & { uid?: string; userCode?: string; grantId?: string; consumed?: number };

/**
 * The provider's storage for one rehearsal: a map per model, items dropped when they expire. Given
 * explicitly, because the built-in one prints a development warning on stdout (which `--json` owns).
 */
class RehearsalAdapter {
  constructor(
    private readonly model: string,
    private readonly items: Map<string, { payload: Stored; expiresAt: number }>,
  ) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  private static live(entry: { payload: Stored; expiresAt: number } | undefined): Stored | undefined {
    return entry === undefined || entry.expiresAt <= Date.now() ? undefined : entry.payload;
  }

  upsert(id: string, payload: Stored, expiresIn: number): Promise<void> {
    this.items.set(this.key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
    return Promise.resolve();
  }

  find(id: string): Promise<Stored | undefined> {
    return Promise.resolve(RehearsalAdapter.live(this.items.get(this.key(id))));
  }

  findByUid(uid: string): Promise<Stored | undefined> {
    return Promise.resolve(this.findWhere((p) => p.uid === uid));
  }

  findByUserCode(userCode: string): Promise<Stored | undefined> {
    return Promise.resolve(this.findWhere((p) => p.userCode === userCode));
  }

  consume(id: string): Promise<void> {
    const found = RehearsalAdapter.live(this.items.get(this.key(id)));
    if (found !== undefined) found.consumed = Math.floor(Date.now() / 1000);
    return Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.items.delete(this.key(id));
    return Promise.resolve();
  }

  revokeByGrantId(grantId: string): Promise<void> {
    // Called per model (tokens, codes): an interaction or session that mentions the grant stays.
    for (const [key, entry] of this.items) if (key.startsWith(`${this.model}:`) && entry.payload.grantId === grantId) this.items.delete(key);
    return Promise.resolve();
  }

  private findWhere(match: (p: Stored) => boolean): Stored | undefined {
    for (const [key, entry] of this.items) if (key.startsWith(`${this.model}:`) && match(entry.payload)) return RehearsalAdapter.live(entry);
    return undefined;
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function loginPage(uid: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: local identity provider</title></head>
<body><main>
<h1>Sign in</h1>
<p>The rehearsal's identity provider (OpenID Connect, on this machine only).</p>
${error === undefined ? '' : `<p role="alert">${escape(error)}</p>`}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="email">Email</label> <input id="email" name="email" type="email" required autofocus>
<label for="password">Password</label> <input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>`;
}

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function samePassword(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A real OpenID Connect provider (oidc-provider) on loopback, with the given users and one confidential
 * client whose redirect URI is the approval page's callback. Its own login page stands in for the
 * company's; consent is implied, as for a first-party client.
 */
export async function startIdentityProvider(opts: { redirectUri: string; users: TestUser[]; port?: number }): Promise<LocalIdentityProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const clientId = 'fleet-upgrade-approval-page';
  const clientSecret = randomBytes(24).toString('hex');
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const items = new Map<string, { payload: Stored; expiresAt: number }>();
  const byEmail = new Map(opts.users.map((u) => [u.email.toLowerCase(), u]));

  const configuration: Configuration = {
    adapter: (model: string) => new RehearsalAdapter(model, items),
    // Short-lived everything, set explicitly: a default ttl prints a notice on stdout.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: 600,
      RefreshToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    clients: [
      { client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUri], grant_types: ['authorization_code'], response_types: ['code'] },
    ],
    jwks: { keys: [{ ...signingKey, use: 'sig', kid: 'local' } as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified', 'groups'], profile: ['name'] },
    // The approval page reads email and groups from the ID token, as it must with most company providers.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    // Its own error page: the built-in one loads web fonts from the internet and prints a notice on stdout.
    renderError: (ctx: KoaContextWithOIDC, out: { error?: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body =
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><main><h1>Sign-in error</h1><p ` +
        `role="alert">${escape(String(out.error ?? 'error'))}: ${escape(String(out.error_description ?? ''))}</p></main></body></html>`;
      return Promise.resolve();
    },
    pkce: { required: () => true },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const user = byEmail.get(id);
      if (user === undefined) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: user.email, email_verified: true, groups: user.groups, name: user.email.split('@')[0] }) };
    },
    // First-party client: the grant is implied by signing in (no consent screen).
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? (ctx.oidc.client ? ctx.oidc.session?.grantIdFor(ctx.oidc.client.clientId) : undefined);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (ctx.oidc.client === undefined || ctx.oidc.session?.accountId === undefined) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const oidc = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(loginPage(details.uid));
      return;
    }
    if (req.method !== 'POST' || !path.endsWith('/login')) {
      res.writeHead(405).end();
      return;
    }
    const form = await formOf(req);
    const email = (form.get('email') ?? '').trim().toLowerCase();
    const user = byEmail.get(email);
    if (user === undefined || !samePassword(form.get('password') ?? '', user.password)) {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(loginPage(details.uid, 'Unknown email or wrong password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (!path.startsWith('/interaction/')) {
      void oidc(req, res);
      return;
    }
    interaction(req, res, path).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`sign-in failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    users: opts.users,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
