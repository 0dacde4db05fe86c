import { createPublicKey } from 'node:crypto';

/** The stack setting (prop and cdk context key) holding the public key packages are verified with. */
export const PACKAGE_KEY_SETTING = 'packageSigningPublicKey';

/**
 * An Ed25519 public key as base64 DER (SubjectPublicKeyInfo): a fixed 12-byte prefix, then the 32 key bytes.
 * The nodes receive the key in this one-line form, so the pattern alone proves it holds no shell syntax.
 */
export const PACKAGE_KEY_DER_PATTERN = /^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/;

const HOW = 'the Ed25519 public key that signs packages, as PEM or its one base64 line (see docs/packages.md)';

/**
 * The pinned key in the one-line form the nodes take; throws an Error naming the setting when it is missing
 * or not an Ed25519 public key. Takes PEM (props, cdk.json) or the PEM's base64 line alone: `cdk -c` keeps
 * only the first line of a multi-line value.
 */
export function packageKeyDer(given: string | undefined): string {
  const text = given?.trim() ?? '';
  if (text === '') throw new Error(`${PACKAGE_KEY_SETTING}: expected ${HOW}; none was given`);
  const pem = /^[A-Za-z0-9+/=]+$/.test(text) ? `-----BEGIN PUBLIC KEY-----\n${text}\n-----END PUBLIC KEY-----\n` : text;
  if (!pem.startsWith('-----BEGIN PUBLIC KEY-----')) throw new Error(`${PACKAGE_KEY_SETTING}: expected ${HOW}; got something else (never a private key)`);
  let der: string;
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`it is a ${String(key.asymmetricKeyType)} key`);
    der = key.export({ type: 'spki', format: 'der' }).toString('base64');
  } catch (error) {
    throw new Error(`${PACKAGE_KEY_SETTING}: expected ${HOW}; ${(error as Error).message}`, { cause: error });
  }
  if (!PACKAGE_KEY_DER_PATTERN.test(der)) throw new Error(`${PACKAGE_KEY_SETTING}: expected ${HOW}; the key does not have the Ed25519 form`);
  return der;
}
