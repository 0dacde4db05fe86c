import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as client from 'openid-client';
import { parseApprovers, type ApproverIdentity, type Approvers } from '../core/approvers.js';

/** Sign-in on the approval page: which provider, which client, who may decide. */
export interface SignInSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  approvers: Approvers;
  /** The ID token claim that lists the person's groups (`groups`, Cognito's `cognito:groups`, …). */
  groupsClaim: string;
}

/** What the page asks of the identity provider: where to send the person, and who came back. */
export interface SignInProvider {
  readonly settings: SignInSettings;
  authorizationUrl(redirectUri: string, checks: { state: string; nonce: string; codeVerifier: string }): Promise<URL>;
  /** Exchanges the code at the token endpoint (PKCE, state and nonce checked) and reads the ID token. */
  finish(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<ApproverIdentity>;
}

/** Only a provider on this machine may be reached over plain http (the rehearsal's). */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

export function issuerUrl(issuer: string, field = 'approvalIssuer'): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`${field}: expected the identity provider's issuer URL (https://…), got ${JSON.stringify(issuer)}`);
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) throw new Error(`${field}: expected an https:// issuer URL, got ${JSON.stringify(issuer)}`);
  return url;
}

function groupsOf(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : [];
}

export class OpenIdSignIn implements SignInProvider {
  private config: Promise<client.Configuration> | undefined;

  constructor(readonly settings: SignInSettings) {}

  /** Discovered once per container; a failed discovery is tried again on the next request. */
  private configuration(): Promise<client.Configuration> {
    if (this.config === undefined) {
      const url = issuerUrl(this.settings.issuer);
      this.config = client
        .discovery(
          url,
          this.settings.clientId,
          this.settings.clientSecret,
          client.ClientSecretBasic(this.settings.clientSecret),
          isLoopbackHttp(url) ? { execute: [client.allowInsecureRequests] } : {},
        )
        .catch((error: unknown) => {
          this.config = undefined;
          throw error;
        });
    }
    return this.config;
  }

  async authorizationUrl(redirectUri: string, checks: { state: string; nonce: string; codeVerifier: string }): Promise<URL> {
    return client.buildAuthorizationUrl(await this.configuration(), {
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid email profile',
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  async finish(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<ApproverIdentity> {
    const tokens = await client.authorizationCodeGrant(await this.configuration(), callbackUrl, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (claims === undefined) throw new Error('the identity provider returned no ID token');
    return {
      issuer: claims.iss,
      subject: claims.sub,
      ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
      ...(typeof claims.email_verified === 'boolean' ? { emailVerified: claims.email_verified } : {}),
      groups: groupsOf(claims, this.settings.groupsClaim),
    };
  }
}

export { randomNonce, randomPKCECodeVerifier, randomState } from 'openid-client';

let cached: { key: string; provider: SignInProvider | null } | undefined;

/**
 * Sign-in from the environment: none without `APPROVAL_ISSUER` (the page then says anyone holding the link
 * can decide). The client secret comes from `APPROVAL_CLIENT_SECRET` (the rehearsal) or the Secrets Manager
 * secret `APPROVAL_CLIENT_SECRET_ARN`; cached for the life of the container.
 */
export async function signInFromEnv(secrets?: SecretsManagerClient): Promise<SignInProvider | null> {
  const env = process.env;
  const key = [
    env.APPROVAL_ISSUER,
    env.APPROVAL_CLIENT_ID,
    env.APPROVERS,
    env.APPROVAL_GROUPS_CLAIM,
    env.APPROVAL_CLIENT_SECRET_ARN,
    env.APPROVAL_CLIENT_SECRET,
  ].join('\n');
  if (cached?.key === key) return cached.provider;
  if (!env.APPROVAL_ISSUER) {
    cached = { key, provider: null };
    return null;
  }
  if (!env.APPROVAL_CLIENT_ID) throw new Error('APPROVAL_ISSUER is set but APPROVAL_CLIENT_ID is not');
  let secret = env.APPROVAL_CLIENT_SECRET;
  if (!secret) {
    if (!env.APPROVAL_CLIENT_SECRET_ARN) throw new Error('APPROVAL_ISSUER is set but neither APPROVAL_CLIENT_SECRET nor APPROVAL_CLIENT_SECRET_ARN is');
    const out = await (secrets ?? new SecretsManagerClient({ maxAttempts: 5 })).send(new GetSecretValueCommand({ SecretId: env.APPROVAL_CLIENT_SECRET_ARN }));
    if (!out.SecretString) throw new Error('the approval client secret is empty');
    secret = out.SecretString.trim();
  }
  issuerUrl(env.APPROVAL_ISSUER, 'APPROVAL_ISSUER');
  const provider = new OpenIdSignIn({
    issuer: env.APPROVAL_ISSUER,
    clientId: env.APPROVAL_CLIENT_ID,
    clientSecret: secret,
    approvers: parseApprovers(env.APPROVERS ?? '', 'APPROVERS'),
    groupsClaim: env.APPROVAL_GROUPS_CLAIM || 'groups',
  });
  cached = { key, provider };
  return provider;
}
