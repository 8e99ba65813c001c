/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses
 * it for password logins (its default since version 14), on `crypto.subtle`
 * (PBKDF2, HMAC, SHA-256): the password never crosses the wire, and the
 * server must prove it knows the password's verifier, which the client
 * checks. No channel binding (`n,,`): the server then accepts the plain
 * mechanism, as libpq's `channel_binding = prefer` does without TLS.
 *
 * @module
 */

const encoder = new TextEncoder();
// Not btoa/atob: Deno loads them lazily, about a millisecond on a report's first use.
const b64 = (bytes: Uint8Array) => bytes.toBase64();
const unb64 = (text: string) => Uint8Array.fromBase64(text);

/** A failed exchange: the server's answer is malformed, or it did not prove it knows the password. */
export class ScramError extends Error {
  override name = "ScramError";
}

async function hmac(key: Uint8Array, text: string | Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", k, (typeof text === "string" ? encoder.encode(text) : text) as BufferSource),
  );
}

/** RFC 4013 SASLprep's mapping (B.1 to nothing, non-ASCII spaces to a space) and NFKC. */
function saslPrep(password: string): string {
  const mapped = password
    .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, "")
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, " ")
    .normalize("NFKC");
  // Prohibited output (controls, private use, surrogates, non-characters): PostgreSQL then uses the password as
  // given, and so must the client.
  // deno-lint-ignore no-control-regex
  if (mapped === "" || /[\u0000-\u001F\u007F-\u009F\uE000-\uF8FF\uFFF9-\uFFFF]/.test(mapped)) return password;
  return mapped;
}

/** The attributes of a SCRAM message (`k=v,k=v`). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const eq = part.indexOf("=");
    if (eq === 1) out.set(part[0] as string, part.slice(2));
  }
  return out;
}

/** One SCRAM-SHA-256 login: the messages to send, in order, and the check of the server's last one. */
export interface ScramLogin {
  /** The client-first-message, sent in SASLInitialResponse. */
  readonly clientFirst: string;
  /**
   * The client-final-message (with the proof) for the server-first-message;
   * a ScramError if the server's message is malformed, its nonce does not
   * extend ours or its iteration count is implausible.
   */
  clientFinal(serverFirst: string): Promise<string>;
  /** Checks the server-final-message's signature; a ScramError if it is wrong or an error. */
  verify(serverFinal: string): void;
}

/**
 * Starts a SCRAM-SHA-256 login with `password`; `nonce` (printable ASCII, no
 * comma) is for tests against the RFC's examples, random otherwise; `user`
 * is empty for PostgreSQL, which takes the user from the startup message.
 *
 * @example
 * ```ts
 * const login = scramLogin("pencil");
 * // send login.clientFirst; receive serverFirst
 * // send await login.clientFinal(serverFirst); receive serverFinal
 * // login.verify(serverFinal);
 * ```
 */
export function scramLogin(password: string, nonce?: string, user = ""): ScramLogin {
  const clientNonce = nonce ?? b64(crypto.getRandomValues(new Uint8Array(18)));
  const firstBare = `n=${user.replaceAll("=", "=3D").replaceAll(",", "=2C")},r=${clientNonce}`;
  let serverSignature: Uint8Array | undefined;
  return {
    clientFirst: `n,,${firstBare}`,
    async clientFinal(serverFirst: string): Promise<string> {
      const a = attributes(serverFirst);
      const serverNonce = a.get("r");
      const salt = a.get("s");
      const iterations = Number(a.get("i"));
      if (!serverNonce || !serverNonce.startsWith(clientNonce) || serverNonce === clientNonce) {
        throw new ScramError("the server's SCRAM nonce does not extend the client's");
      }
      if (salt === undefined || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
        throw new ScramError(`malformed SCRAM server-first-message (salt or iteration count)`);
      }
      let saltBytes: Uint8Array;
      try {
        saltBytes = unb64(salt);
      } catch {
        throw new ScramError("malformed SCRAM salt (not base64)");
      }
      const key = await crypto.subtle.importKey("raw", encoder.encode(saslPrep(password)), "PBKDF2", false, [
        "deriveBits",
      ]);
      const salted = new Uint8Array(
        await crypto.subtle.deriveBits(
          { name: "PBKDF2", hash: "SHA-256", salt: saltBytes as BufferSource, iterations },
          key,
          256,
        ),
      );
      const withoutProof = `c=biws,r=${serverNonce}`;
      const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
      // Independent steps side by side: each is a round through the event loop, slow while a report keeps it busy.
      const [clientKey, serverKey] = await Promise.all([hmac(salted, "Client Key"), hmac(salted, "Server Key")]);
      const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey as BufferSource));
      const [clientSignature, signature] = await Promise.all([
        hmac(storedKey, authMessage),
        hmac(serverKey, authMessage),
      ]);
      serverSignature = signature;
      const proof = clientKey.map((b, i) => b ^ (clientSignature[i] as number));
      return `${withoutProof},p=${b64(proof)}`;
    },
    verify(serverFinal: string): void {
      const a = attributes(serverFinal);
      const error = a.get("e");
      if (error !== undefined) throw new ScramError(`the server ended the SCRAM exchange: ${error}`);
      const v = a.get("v");
      if (!serverSignature || v === undefined || v !== b64(serverSignature)) {
        throw new ScramError("the server did not prove it knows the password (wrong SCRAM server signature)");
      }
    },
  };
}
