// The jose side of tests/api/test_agent_e2e.py, one mode per run:
//
//   node jose_verify.mjs issuer
//       A test JWT issuer for the jwt node attestor: prints
//       {"private": <private JWK>, "jwks": {"keys": [<public JWK>]}}
//       for a fresh ES256 key with a kid.
//   node jose_verify.mjs sign        < {"private", "claims"}
//       Prints the compact ES256 JWT of the claims under that key.
//   node jose_verify.mjs verify      < {"token", "bundle", "sub", "aud"}
//       Judges a JWT-SVID against the jwt-svid keys of a SPIFFE bundle:
//       prints {"ok", "header", "payload", "problems", "wrong_aud_refused"}.
//       "ok" needs a valid signature by a bundle key with the token's
//       kid, alg ES256 and typ JWT in the header, sub equal to "sub",
//       every audience of "aud" in aud, and exp in the future; then the
//       same token is judged again with an audience it does not carry,
//       which must fail.
//
// jose is installed from tests/api/node (package-lock.json pins it); it
// is found from there, wherever node runs.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(new URL("./node/package.json",
  import.meta.url));
const jose = await import(pathToFileURL(require.resolve("jose")).href);

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// A SPIFFE bundle marks JWT authorities with use "jwt-svid", which RFC
// 7517 does not define and jose would skip: hand jose those keys only,
// without "use".
function jwksOf(bundle) {
  return {
    keys: bundle.keys
      .filter((k) => k.use === "jwt-svid")
      .map(({ use, ...rest }) => rest),
  };
}

async function issuer() {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256",
    { extractable: true });
  const kid = "test-issuer-" + Math.floor(Date.now() / 1000);
  const pub = { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256",
    use: "sig" };
  const priv = { ...(await jose.exportJWK(privateKey)), kid, alg: "ES256" };
  return { private: priv, jwks: { keys: [pub] } };
}

async function sign(req) {
  const key = await jose.importJWK(req.private, "ES256");
  return new jose.SignJWT(req.claims)
    .setProtectedHeader({ alg: "ES256", kid: req.private.kid, typ: "JWT" })
    .sign(key);
}

async function verify(req) {
  const out = { ok: false, problems: [], wrong_aud_refused: false };
  const keys = jose.createLocalJWKSet(jwksOf(req.bundle));
  try {
    const r = await jose.jwtVerify(req.token, keys, {
      algorithms: ["ES256"],
      typ: "JWT",
      subject: req.sub,
      audience: req.aud,
      requiredClaims: ["sub", "aud", "exp", "iat"],
    });
    out.header = r.protectedHeader;
    out.payload = r.payload;
    const auds = Array.isArray(r.payload.aud) ? r.payload.aud :
      [r.payload.aud];
    for (const a of req.aud) {
      if (!auds.includes(a)) out.problems.push("aud lacks " + a);
    }
    if (!r.protectedHeader.kid) out.problems.push("no kid");
    if (!(r.payload.exp > Date.now() / 1000)) out.problems.push("expired");
    out.ok = out.problems.length === 0;
  } catch (e) {
    out.problems.push(String(e.code || e.name) + ": " + e.message);
  }
  try {
    await jose.jwtVerify(req.token, keys, {
      algorithms: ["ES256"],
      audience: "spiffe://elsewhere.test/not-an-audience",
    });
  } catch (e) {
    out.wrong_aud_refused = e.code === "ERR_JWT_CLAIM_VALIDATION_FAILED";
  }
  return out;
}

const mode = process.argv[2];
if (mode === "issuer") {
  console.log(JSON.stringify(await issuer()));
} else if (mode === "sign") {
  console.log(await sign(await readStdin()));
} else if (mode === "verify") {
  console.log(JSON.stringify(await verify(await readStdin())));
} else {
  console.error("usage: node jose_verify.mjs issuer|sign|verify");
  process.exit(2);
}
