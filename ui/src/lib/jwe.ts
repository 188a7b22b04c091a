// End-to-end encryption of query results: the page's RSA-OAEP-256 key pair (the private key
// never leaves WebCrypto) and decryption of the broker's JWE compact tokens
// ({"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}, payload = raw-DEFLATE RowBatchData).

export interface PageKey {
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

let pageKey: Promise<PageKey> | null = null;

// 2048 bits: the broker's minimum; generated once per page load, kept in memory only.
const RSA_BITS = 2048;

export function getPageKey(): Promise<PageKey> {
  if (pageKey === null) {
    pageKey = (async () => {
      const pair = await crypto.subtle.generateKey(
        {
          name: 'RSA-OAEP',
          modulusLength: RSA_BITS,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        },
        false, // the private key is not extractable; public keys always are
        ['encrypt', 'decrypt'],
      );
      const exported = await crypto.subtle.exportKey('jwk', pair.publicKey);
      const publicJwk: JsonWebKey = {
        kty: exported.kty,
        n: exported.n,
        e: exported.e,
        alg: 'RSA-OAEP-256',
        use: 'enc',
      };
      return { privateKey: pair.privateKey, publicJwk };
    })();
  }
  return pageKey;
}

function b64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function inflateRaw(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function decryptJwe(token: string, key: PageKey): Promise<Uint8Array> {
  const parts = token.split('.');
  if (parts.length !== 5) throw new Error('malformed JWE: expected 5 parts');
  const [headerB64, keyB64, ivB64, ctB64, tagB64] = parts as [string, string, string, string, string];
  const header = JSON.parse(new TextDecoder().decode(b64urlDecode(headerB64))) as {
    alg?: string;
    enc?: string;
    zip?: string;
  };
  if (header.alg !== 'RSA-OAEP-256' || header.enc !== 'A256GCM') {
    throw new Error(`unsupported JWE suite ${header.alg}/${header.enc}`);
  }
  const cekBytes = await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, key.privateKey, b64urlDecode(keyB64));
  const cek = await crypto.subtle.importKey('raw', cekBytes, 'AES-GCM', false, ['decrypt']);
  const ciphertext = b64urlDecode(ctB64);
  const tag = b64urlDecode(tagB64);
  const sealed = new Uint8Array(ciphertext.length + tag.length);
  sealed.set(ciphertext);
  sealed.set(tag, ciphertext.length);
  const plain = new Uint8Array(
    await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: b64urlDecode(ivB64),
        additionalData: new TextEncoder().encode(headerB64),
        tagLength: 128,
      },
      cek,
      sealed,
    ),
  );
  if (header.zip === 'DEF') return inflateRaw(plain);
  if (header.zip !== undefined) throw new Error(`unsupported JWE zip ${header.zip}`);
  return plain;
}
