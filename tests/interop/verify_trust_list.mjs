// Node's `jose` checks a trust list as a wallet or relay of another make would: signed by
// the operator's key (EdDSA only), typ gdpr-trust-list+jwt, version 1, not expired, every
// controller with signing and encryption keys. Prints the controller ids.
//
//     node verify_trust_list.mjs LIST.jwt OPERATOR_JWKS.json     # exit 0 valid, 1 refused
import { readFileSync } from "node:fs";
import { compactVerify, createLocalJWKSet } from "jose";

const [listFile, jwksFile] = process.argv.slice(2);
try {
  const token = readFileSync(listFile, "utf8").trim();
  const keys = createLocalJWKSet(JSON.parse(readFileSync(jwksFile, "utf8")));
  const { payload, protectedHeader } = await compactVerify(token, keys, { algorithms: ["EdDSA"] });
  if (protectedHeader.typ?.toLowerCase().replace(/^application\//, "") !== "gdpr-trust-list+jwt") {
    throw new Error(`typ ${protectedHeader.typ} is not a trust list`);
  }
  const list = JSON.parse(new TextDecoder().decode(payload));
  if (list.version !== 1) throw new Error("not a v1 trust list");
  if (!(list.exp > Date.now() / 1000)) throw new Error("expired");
  for (const c of list.controllers) {
    if (!c.jwks?.keys?.length || !c.encryption_jwks?.keys?.length) throw new Error(`${c.id} has no keys`);
  }
  console.log(list.controllers.map((c) => c.id).join(" "));
} catch (error) {
  console.error(`refused: ${error.message}`);
  process.exit(1);
}
