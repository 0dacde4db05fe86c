import { generateKeyPairSync } from 'node:crypto';

/** A fresh Ed25519 public key (PEM) for stacks a test synthesizes: the stack refuses to synthesize without one. */
export const TEST_PACKAGE_KEY = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
