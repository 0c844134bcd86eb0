// Verify svidca's JWT-SVIDs with the jose library, against the JWKS that
// the trust bundle carries.  tests/interop/test_interop.py drives it.
//
// Standard input: {"cases": [{"name", "token", "bundle" (the bundle
// document), "sub", "aud": [...], "alg", "wrong_aud", "at" (Unix
// seconds to judge at, optional)}]}.
// Standard output: one JSON line per case, {"name", "ok", "problems"}.
//
// A SPIFFE bundle marks JWT authorities with use "jwt-svid", a value RFC
// 7517 does not define; jose only picks keys whose use is absent or
// "sig".  So the JWKS handed to jose holds the bundle's jwt-svid keys
// (and nothing else, as JWT bundles are defined in the Workload API)
// with "use" removed; every other member is passed as it is.
//
// Besides the real tokens, each case also proves the judge can say no:
// the same claims signed by a key that is not in the bundle (under the
// token's own kid, then under a kid nobody knows) and the real token
// with the wrong audience must all be refused.
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from "jose";

// JWT-SVID section 3: the algorithms a JWT-SVID may use.
const SVID_ALGS = [
  "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
  "PS256", "PS384", "PS512",
];

function jwksOf(bundle) {
  return {
    keys: bundle.keys
      .filter((k) => k.use === "jwt-svid")
      .map(({ use, ...rest }) => rest),
  };
}

async function refused(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return e.code || e.name || String(e);
  }
}

async function judge(c) {
  const problems = [];
  const jwks = createLocalJWKSet(jwksOf(c.bundle));
  const opts = {
    algorithms: [c.alg],
    typ: "JWT",
    requiredClaims: ["sub", "aud", "exp"],
  };
  if (c.at) opts.currentDate = new Date(c.at * 1000);
  const now = c.at || Math.floor(Date.now() / 1000);

  const header = decodeProtectedHeader(c.token);
  if (!SVID_ALGS.includes(header.alg))
    problems.push(`alg ${header.alg} is not a JWT-SVID algorithm`);
  if (header.alg !== c.alg)
    problems.push(`alg ${header.alg}, expected ${c.alg}`);
  if (typeof header.kid !== "string" || header.kid === "")
    problems.push("no kid in the header");
  // JWT-SVID section 2: no header parameter beyond alg, kid and typ.
  const extra = Object.keys(header).filter((k) => !["alg", "kid", "typ"].includes(k));
  if (extra.length > 0)
    problems.push(`header parameters beyond alg, kid, typ: ${extra.join(", ")}`);

  // Each audience on its own must be accepted.
  let payload = null;
  for (const aud of c.aud) {
    try {
      const r = await jwtVerify(c.token, jwks, { ...opts, audience: aud });
      payload = r.payload;
    } catch (e) {
      problems.push(`refused for audience ${aud}: ${e.code}: ${e.message}`);
    }
  }
  if (payload !== null) {
    if (payload.sub !== c.sub)
      problems.push(`sub ${payload.sub}, expected ${c.sub}`);
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if ([...aud].sort().join("\n") !== [...c.aud].sort().join("\n"))
      problems.push(`aud ${JSON.stringify(aud)}, expected ${JSON.stringify(c.aud)}`);
    if (!Number.isInteger(payload.exp) || payload.exp <= now)
      problems.push(`exp ${payload.exp} is not in the future`);
    if (payload.iat !== undefined && payload.iat > now + 60)
      problems.push(`iat ${payload.iat} is in the future`);
  }

  // The judge must be able to say no.
  if ((await refused(jwtVerify(c.token, jwks, { ...opts, audience: c.wrong_aud }))) === null)
    problems.push(`accepted with the wrong audience ${c.wrong_aud}`);
  const { privateKey } = await generateKeyPair(c.alg,
    c.alg.startsWith("ES") ? {} : { modulusLength: 2048 });
  const claims = { sub: c.sub, aud: c.aud };
  for (const kid of [header.kid, "not-in-the-bundle"]) {
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: c.alg, kid, typ: "JWT" })
      .setIssuedAt(now - 1)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    if ((await refused(jwtVerify(forged, jwks, { ...opts, audience: c.aud[0] }))) === null)
      problems.push(`accepted a token signed by a key outside the bundle (kid ${kid})`);
  }
  return { name: c.name, ok: problems.length === 0, problems };
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { cases } = JSON.parse(input);
let failed = 0;
for (const c of cases) {
  let r;
  try {
    r = await judge(c);
  } catch (e) {
    r = { name: c.name, ok: false, problems: [`${e.code || e.name}: ${e.message}`] };
  }
  if (!r.ok) failed++;
  console.log(JSON.stringify(r));
}
process.exit(failed === 0 ? 0 : 1);
