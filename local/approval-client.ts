import { isAnyDecision, type AnyDecision } from '../core/approval.js';

/** A page of the approval server that was not the expected one (link expired, already decided, …). */
export class ApprovalPageError extends Error {
  constructor(
    public readonly status: number,
    public readonly heading: string,
  ) {
    super(`approval page answered ${status}: ${heading}`);
    this.name = 'ApprovalPageError';
  }
}

/** What answering through the page did. */
export interface PageAnswer {
  decision: AnyDecision;
  /** The confirmation page's heading, e.g. "Decision recorded: retry". */
  confirmation: string;
}

/** Who signs in when the page asks (the local identity provider's login form). */
export interface SignInAs {
  email: string;
  password: string;
}

function heading(html: string): string {
  return (
    /<h1>([\s\S]*?)<\/h1>/
      .exec(html)?.[1]
      ?.replace(/<[^>]+>/g, '')
      .trim() ?? '(no heading)'
  );
}

function attribute(tag: string, name: string): string | null {
  const raw = new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  return raw === undefined
    ? null
    : raw
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
}

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/**
 * A browser's part, reduced: cookies kept per origin, redirects followed by hand, only ever to loopback
 * (the approval server and the local identity provider).
 */
class LoopbackBrowser {
  private readonly jar = new Map<string, Map<string, string>>();

  constructor(private readonly timeoutMs: number) {}

  async request(url: URL, init: { method?: string; form?: URLSearchParams } = {}): Promise<{ url: URL; status: number; html: string }> {
    let at = url;
    let method = init.method ?? 'GET';
    let body = init.form?.toString();
    for (let hop = 0; hop < 20; hop++) {
      if (!isLoopbackHttp(at))
        throw new Error(`answerThroughPage: expected only loopback addresses (the local approval server and identity provider), was sent to ${at.origin}`);
      const cookies = [...(this.jar.get(at.origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(at, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }), ...(cookies === '' ? {} : { cookie: cookies }) },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
      this.keep(at, res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.text();
        at = new URL(location, at);
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: at, status: res.status, html: await res.text() };
    }
    throw new Error(`answerThroughPage: more than 20 redirects from ${url.toString()}`);
  }

  private keep(at: URL, setCookies: string[]): void {
    const jar = this.jar.get(at.origin) ?? new Map<string, string>();
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1).trim());
    }
    this.jar.set(at.origin, jar);
  }
}

function hiddenFields(html: string): URLSearchParams {
  const fields = new URLSearchParams();
  for (const input of html.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
    const name = attribute(input[0], 'name');
    const value = attribute(input[0], 'value');
    if (name !== null && value !== null) fields.append(name, value);
  }
  return fields;
}

/**
 * Answers an approval as a person would: opens the link (GET), signs in on the identity provider's login
 * form when the page sends it there (as `signIn`), reads the form on the page, and submits it (POST) with
 * `decision`. Only for links to a loopback approval server (the rehearsal's).
 * Throws ApprovalPageError when a page is not the expected one (expired, already decided, not an approver, …).
 */
export async function answerThroughPage(link: string, decision: AnyDecision, opts: { timeoutMs?: number; signIn?: SignInAs } = {}): Promise<PageAnswer> {
  if (!isAnyDecision(decision)) throw new Error(`decision: expected one of rollback, retry, skip, abort, continue, got ${JSON.stringify(decision)}`);
  const url = new URL(link);
  if (!isLoopbackHttp(url))
    throw new Error(`answerThroughPage: expected a link to the local approval server (http://127.0.0.1:PORT/approval?…), got ${url.origin}`);
  const browser = new LoopbackBrowser(opts.timeoutMs ?? 10_000);
  let shown = await browser.request(url);
  if (shown.url.origin !== url.origin && shown.status === 200) {
    // The identity provider's login form.
    if (opts.signIn === undefined) throw new ApprovalPageError(401, 'the approval page asks to sign in, and no approver was given to sign in as');
    const login = /<form\b[^>]*>/.exec(shown.html)?.[0];
    if (login === undefined) throw new ApprovalPageError(shown.status, `the identity provider showed no login form: ${heading(shown.html)}`);
    const form = new URLSearchParams({ email: opts.signIn.email, password: opts.signIn.password });
    shown = await browser.request(new URL(attribute(login, 'action') ?? '', shown.url), { method: 'POST', form });
    if (shown.url.origin !== url.origin)
      throw new ApprovalPageError(
        shown.status,
        `signing in as ${opts.signIn.email} failed: ${/role="alert">([^<]*)/.exec(shown.html)?.[1] ?? heading(shown.html)}`,
      );
  }
  if (shown.status !== 200) throw new ApprovalPageError(shown.status, heading(shown.html));
  const formTag = /<form\b[^>]*>/.exec(shown.html)?.[0];
  if (formTag === undefined || attribute(formTag, 'method')?.toLowerCase() !== 'post')
    throw new ApprovalPageError(shown.status, 'the page has no decision form');
  if (!new RegExp(`<input\\b[^>]*name="decision"[^>]*value="${decision}"`).test(shown.html))
    throw new ApprovalPageError(shown.status, `the page offers no choice ${decision}`);
  const fields = hiddenFields(shown.html);
  fields.append('decision', decision);
  const posted = await browser.request(new URL(attribute(formTag, 'action') ?? '', shown.url), { method: 'POST', form: fields });
  const confirmation = heading(posted.html);
  if (posted.status !== 200) throw new ApprovalPageError(posted.status, confirmation);
  return { decision, confirmation };
}
