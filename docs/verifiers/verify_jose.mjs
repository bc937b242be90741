// Verify a gdpr-gateway bundle (compact JWS) with Node's `jose`, as docs/bundle-format.md asks.
//
//     node verify_jose.mjs BUNDLE.jwt JWKS.json ISSUER      # exit 0 valid, 1 refused
import { readFileSync } from "node:fs";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose"; // jose >= 5

const FORBIDDEN_HEADER = ["crit", "b64", "jku", "x5u", "x5c", "jwk", "zip"];

// JSON.parse keeps the last of two equal member names, where another reader may take the
// first: refuse them, as the format does. Runs on text JSON.parse already accepted.
function refuseDuplicates(text) {
  let i = 0;
  const space = () => { while (/\s/.test(text[i])) i++; };
  const string = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    return JSON.parse(text.slice(start, ++i));
  };
  const value = () => {
    space();
    if (text[i] === "{" || text[i] === "[") {
      const object = text[i++] === "{";
      const seen = new Set();
      space();
      if (text[i] === (object ? "}" : "]")) return void i++;
      for (;;) {
        if (object) {
          space();
          const name = string();
          if (seen.has(name)) throw new Error(`the member ${name} appears twice`);
          seen.add(name);
          space();
          i++; // the colon
        }
        value();
        space();
        if (text[i++] !== ",") return;
      }
    }
    if (text[i] === '"') return void string();
    while (i < text.length && !/[,\]}\s]/.test(text[i])) i++;
  };
  value();
}

export async function verifyBundle(token, jwks, issuer) {
  const header = decodeProtectedHeader(token);
  const [headerText, payloadText] = token.split(".", 2).map((part) => Buffer.from(part, "base64url").toString());
  refuseDuplicates(headerText);
  if (FORBIDDEN_HEADER.some((name) => name in header)) {
    throw new Error("the header names keys or processing of its own"); // keys come only from jwks
  }
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    algorithms: ["EdDSA"],
    typ: "gdpr-bundle+jwt",
    issuer,
    requiredClaims: ["iss", "sub", "iat", "jti", "bundle"],
  });
  refuseDuplicates(payloadText);
  if (payload.bundle?.version !== 1) throw new Error("not a v1 bundle");
  const entry = jwks.keys.find((key) => key.kid === header.kid);
  if (payload.iat < (entry.nbf ?? payload.iat) || payload.iat > (entry.exp ?? payload.iat)) {
    throw new Error("signed outside the key's period of use");
  }
  return payload;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [file, jwksFile, issuer] = process.argv.slice(2);
  try {
    const claims = await verifyBundle(readFileSync(file, "utf8").trim(), JSON.parse(readFileSync(jwksFile, "utf8")), issuer);
    console.log(claims.iss, claims.sub, claims.bundle.categories.map((c) => c.id));
  } catch (error) {
    console.error(`refused: ${error.message}`);
    process.exit(1);
  }
}
