#!/usr/bin/env python3
"""Check docs/openapi.yaml, the REST contract of svidca.

The checks:
  spec      the document is valid OpenAPI 3.1 (openapi-spec-validator);
  routes    it has every route of DESIGN.md's route table, and no other;
  roles     every operation has x-roles, equal to the roles the table
            names, and anonymous operations turn security off;
  problems  every 4xx and 5xx response is application/problem+json with
            the Problem schema;
  examples  every request body and every 2xx body has an example, and
            every example in the document validates against its schema;
  table     when api/routes.c holds route rows, each of them is in the
            document and each /v1 route of the document has a row.

Each check returns a list of faults, empty when it passes.  Run as a
program it prints one line per check and exits 1 if any failed:

    python3 tests/openapi/check_openapi.py [docs/openapi.yaml]
"""
import os
import re
import sys

import yaml
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
SPEC_PATH = os.path.join(TOP, "docs", "openapi.yaml")
ROUTES_C_PATH = os.path.join(TOP, "api", "routes.c")

ROLES = ("anonymous", "agent", "downstream", "admin", "local")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options",
           "trace")
PROBLEM_TYPE = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "field", "rule")
SELF_URI = "urn:svidca:openapi"

ANON = ("anonymous",)
AGENT = ("agent",)
DOWN = ("downstream",)
ADMIN = ("admin", "local")

# DESIGN.md's route table, one row per (method, path), with its roles.
# The table's shorthand is spelled out: "GET /v1/authorities/{x509,jwt}"
# is two routes, ".../{prepare,activate,taint,revoke}" four with a {kind}
# capture, "/evict" is /v1/agents/evict, and so on.
EXPECTED_ROUTES = {
    ("GET", "/v1/bundle"): ANON,
    ("POST", "/v1/agent/attest"): ANON,
    ("POST", "/v1/agent/renew"): AGENT,
    ("GET", "/v1/agent/entries"): AGENT,
    ("POST", "/v1/agent/x509-svids"): AGENT,
    ("POST", "/v1/agent/jwt-svids"): AGENT,
    ("GET", "/v1/agent/bundles"): AGENT,
    ("GET", "/v1/entries"): ADMIN,
    ("POST", "/v1/entries"): ADMIN,
    ("GET", "/v1/entries/count"): ADMIN,
    ("GET", "/v1/entries/{id}"): ADMIN,
    ("PUT", "/v1/entries/{id}"): ADMIN,
    ("PATCH", "/v1/entries/{id}"): ADMIN,
    ("DELETE", "/v1/entries/{id}"): ADMIN,
    ("POST", "/v1/entries/batch-delete"): ADMIN,
    ("GET", "/v1/agents"): ADMIN,
    ("GET", "/v1/agents/count"): ADMIN,
    ("POST", "/v1/agents/ban"): ADMIN,
    ("POST", "/v1/agents/evict"): ADMIN,
    ("POST", "/v1/agents/purge"): ADMIN,
    ("POST", "/v1/join-tokens"): ADMIN,
    ("POST", "/v1/svids/x509"): ADMIN,
    ("POST", "/v1/svids/jwt"): ADMIN,
    ("GET", "/v1/bundles"): ADMIN,
    ("GET", "/v1/bundles/{trust_domain}"): ADMIN,
    ("PUT", "/v1/bundles/{trust_domain}"): ADMIN,
    ("DELETE", "/v1/bundles/{trust_domain}"): ADMIN,
    ("GET", "/v1/federation"): ADMIN,
    ("POST", "/v1/federation"): ADMIN,
    ("GET", "/v1/federation/{trust_domain}"): ADMIN,
    ("PUT", "/v1/federation/{trust_domain}"): ADMIN,
    ("DELETE", "/v1/federation/{trust_domain}"): ADMIN,
    ("POST", "/v1/federation/{trust_domain}/refresh"): ADMIN,
    ("GET", "/v1/authorities/x509"): ADMIN,
    ("GET", "/v1/authorities/jwt"): ADMIN,
    ("POST", "/v1/authorities/{kind}/prepare"): ADMIN,
    ("POST", "/v1/authorities/{kind}/activate"): ADMIN,
    ("POST", "/v1/authorities/{kind}/taint"): ADMIN,
    ("POST", "/v1/authorities/{kind}/revoke"): ADMIN,
    ("POST", "/v1/downstream/x509-ca"): DOWN,
    ("GET", "/v1/audit"): ADMIN,
    ("GET", "/v1/log-level"): ADMIN,
    ("PUT", "/v1/log-level"): ADMIN,
    # on the bundle endpoint listener
    ("GET", "/"): ANON,
    # on the health listener
    ("GET", "/live"): ANON,
    ("GET", "/ready"): ANON,
    ("GET", "/metrics"): ANON,
}

# Routes served by a listener other than the API's: they must say which,
# with a path-level servers entry.
OTHER_LISTENER_PATHS = ("/", "/live", "/ready", "/metrics")


def load_spec(path=SPEC_PATH):
    """The document as plain Python data."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def pointer_escape(key):
    return str(key).replace("~", "~0").replace("/", "~1")


def resolve(doc, node):
    """Follow a local $ref (and refs to refs); other nodes as they are."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"not a local reference: {ref}")
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[part]
        seen += 1
        if seen > 32:
            raise ValueError(f"reference loop at {ref}")
    return node


def operations(doc):
    """Yield (METHOD, path, operation) for every operation."""
    for path, item in (doc.get("paths") or {}).items():
        item = resolve(doc, item)
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


# ---- spec -------------------------------------------------------------

def check_spec(doc):
    """Faults openapi-spec-validator finds, one line each."""
    faults = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        faults.append(f"openapi is {doc.get('openapi')!r}, expected 3.1.x")
    try:
        for err in OpenAPIV31SpecValidator(doc).iter_errors():
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            faults.append(f"{where}: {err.message}"[:400])
    except Exception as exc:  # a dangling $ref raises instead of reporting
        faults.append(f"validator stopped: {type(exc).__name__}: "
                      f"{str(exc)[:200]}")
    return faults


# ---- routes -----------------------------------------------------------

def check_routes(doc):
    """Every route of the design table is present, and no other."""
    have = {(m, p) for m, p, _ in operations(doc)}
    want = set(EXPECTED_ROUTES)
    faults = [f"missing: {m} {p}" for m, p in sorted(want - have)]
    faults += [f"not in the design table: {m} {p}"
               for m, p in sorted(have - want)]
    for path in OTHER_LISTENER_PATHS:
        item = (doc.get("paths") or {}).get(path)
        if item is not None and not item.get("servers"):
            faults.append(f"{path}: no path-level servers entry naming "
                          "its listener")
    return faults


# ---- roles ------------------------------------------------------------

def check_roles(doc):
    """x-roles on every operation, as the design table says."""
    faults = []
    for method, path, op in operations(doc):
        where = f"{method} {path}"
        roles = op.get("x-roles")
        if not isinstance(roles, list) or not roles:
            faults.append(f"{where}: no x-roles")
            continue
        bad = [r for r in roles if r not in ROLES]
        if bad:
            faults.append(f"{where}: unknown roles {bad}")
        if len(set(roles)) != len(roles):
            faults.append(f"{where}: a role is listed twice")
        want = EXPECTED_ROUTES.get((method, path))
        if want is not None and set(roles) != set(want):
            faults.append(f"{where}: x-roles {sorted(roles)}, the design "
                          f"table says {sorted(want)}")
        anonymous = "anonymous" in roles
        security = op.get("security", doc.get("security"))
        if anonymous and security != []:
            faults.append(f"{where}: anonymous, but security is not []")
        if not anonymous and not security:
            faults.append(f"{where}: not anonymous, but no security "
                          "requirement applies")
    return faults


# ---- problems ---------------------------------------------------------

def check_problems(doc):
    """Every 4xx/5xx response is problem+json with the Problem schema."""
    faults = []
    problem = (doc.get("components", {}).get("schemas", {})
               .get("Problem"))
    if not isinstance(problem, dict):
        return ["components/schemas/Problem is missing"]
    props = problem.get("properties") or {}
    for name in PROBLEM_FIELDS:
        if name not in props:
            faults.append(f"Problem has no property {name}")
    for method, path, op in operations(doc):
        for code, resp in (op.get("responses") or {}).items():
            code = str(code)
            if code[:1] not in ("4", "5"):
                continue
            where = f"{method} {path} {code}"
            resp = resolve(doc, resp)
            content = resp.get("content") or {}
            if list(content) != [PROBLEM_TYPE]:
                faults.append(f"{where}: content {sorted(content)}, "
                              f"expected only {PROBLEM_TYPE}")
                continue
            schema = content[PROBLEM_TYPE].get("schema")
            if schema != {"$ref": PROBLEM_REF}:
                faults.append(f"{where}: schema is not {PROBLEM_REF}")
    return faults


# ---- examples ---------------------------------------------------------

def has_example(media):
    return "example" in media or bool(media.get("examples"))


def check_examples_present(doc):
    """Every request body and every 2xx body carries an example."""
    faults = []
    for method, path, op in operations(doc):
        where = f"{method} {path}"
        body = op.get("requestBody")
        if body is not None:
            body = resolve(doc, body)
            for mtype, media in (body.get("content") or {}).items():
                if not has_example(media):
                    faults.append(f"{where}: request {mtype} has no "
                                  "example")
        for code, resp in (op.get("responses") or {}).items():
            if not str(code).startswith("2"):
                continue
            resp = resolve(doc, resp)
            for mtype, media in (resp.get("content") or {}).items():
                if not has_example(media):
                    faults.append(f"{where} {code}: {mtype} has no "
                                  "example")
    return faults


def example_sites(node, pointer=""):
    """Yield (pointer to a schema, example value, where) for every example
    of a media type, parameter or header, and every entry of a schema's
    own examples list."""
    if isinstance(node, dict):
        if "schema" in node and isinstance(node["schema"], dict):
            spointer = pointer + "/schema"
            if "example" in node:
                yield spointer, node["example"], pointer + "/example"
            for name, ex in (node.get("examples") or {}).items():
                if isinstance(ex, dict) and "value" in ex:
                    yield (spointer, ex["value"],
                           f"{pointer}/examples/{pointer_escape(name)}")
        for key, value in node.items():
            child = f"{pointer}/{pointer_escape(key)}"
            if key == "schema":
                continue
            yield from example_sites(value, child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from example_sites(value, f"{pointer}/{i}")


def schema_example_sites(doc):
    for name, schema in (doc.get("components", {})
                         .get("schemas", {}).items()):
        if isinstance(schema, dict) and isinstance(
                schema.get("examples"), list):
            spointer = f"/components/schemas/{pointer_escape(name)}"
            for i, ex in enumerate(schema["examples"]):
                yield spointer, ex, f"{spointer}/examples/{i}"


def check_examples_valid(doc):
    """Every example validates against the schema beside it."""
    resource = DRAFT202012.create_resource(doc)
    registry = Registry().with_resource(SELF_URI, resource)
    faults = []
    sites = list(example_sites(doc.get("paths") or {}, "/paths"))
    sites += list(example_sites(doc.get("components") or {},
                                "/components"))
    sites += list(schema_example_sites(doc))
    if not sites:
        return ["the document has no examples"]
    for spointer, value, where in sites:
        validator = OAS31Validator({"$ref": f"{SELF_URI}#{spointer}"},
                                   registry=registry,
                                   format_checker=oas31_format_checker)
        for err in validator.iter_errors(value):
            at = "/".join(str(p) for p in err.absolute_path)
            faults.append(f"{where}: {at or '(top)'}: {err.message}"[:400])
    return faults


# ---- the C route table ------------------------------------------------

ROUTE_ROW = re.compile(
    r'\{\s*"(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS)"\s*,\s*"(/[^"]*)"')


def routes_c_rows(path=ROUTES_C_PATH):
    """(METHOD, pattern) of every row of the route table in routes.c."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    return ROUTE_ROW.findall(text)


def same_route(a, b):
    """Do two path patterns name the same route?  A {capture} in either
    matches any one segment of the other."""
    sa, sb = a.strip("/").split("/"), b.strip("/").split("/")
    if len(sa) != len(sb):
        return False
    for x, y in zip(sa, sb):
        if x.startswith("{") or y.startswith("{"):
            continue
        if x != y:
            return False
    return True


def check_route_table(doc, rows):
    """The C route table and the document name the same /v1 routes."""
    ops = [(m, p) for m, p, _ in operations(doc)]
    faults = []
    for method, pattern in rows:
        if not any(m == method and same_route(p, pattern)
                   for m, p in ops):
            faults.append(f"api/routes.c has {method} {pattern}, the "
                          "document does not")
    for method, path in ops:
        if not path.startswith("/v1/"):
            continue
        if not any(m == method and same_route(path, p) for m, p in rows):
            faults.append(f"the document has {method} {path}, "
                          "api/routes.c does not")
    return faults


# ---- all --------------------------------------------------------------

CHECKS = (
    ("spec", check_spec),
    ("routes", check_routes),
    ("roles", check_roles),
    ("problems", check_problems),
    ("examples present", check_examples_present),
    ("examples valid", check_examples_valid),
)


def main(argv):
    path = argv[1] if len(argv) > 1 else SPEC_PATH
    doc = load_spec(path)
    failed = 0
    results = [(name, fn(doc)) for name, fn in CHECKS]
    rows = routes_c_rows()
    if rows:
        results.append(("route table", check_route_table(doc, rows)))
    for name, faults in results:
        if faults:
            failed += 1
            print(f"FAIL {name}")
            for fault in faults:
                print(f"  {fault}")
        else:
            print(f"ok   {name}")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
