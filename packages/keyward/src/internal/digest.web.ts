// The digest on runtimes without node:crypto (workers, Deno, Bun without Node APIs):
// Web Crypto, which only digests asynchronously.
const encoder = new TextEncoder();

/** SHA-256 of a string (UTF-8), through Web Crypto. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** Constant-time equality of two digests of the same length: every byte is read whatever differs. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
