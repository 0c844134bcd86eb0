"""The OpenAPI contract checks of check_openapi.py as pytest tests, so the
suite runner counts them; each check also gets a hostile copy of the
document to prove it can fail."""
import copy
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check_openapi as chk  # noqa: E402


@pytest.fixture(scope="module")
def doc():
    return chk.load_spec()


@pytest.fixture
def hostile(doc):
    return copy.deepcopy(doc)


def assert_clean(faults):
    assert faults == [], "\n".join(faults)


# ---- the document as it is ------------------------------------------

def test_spec_is_valid_openapi_31(doc):
    assert_clean(chk.check_spec(doc))


def test_every_design_route_present_and_no_other(doc):
    assert_clean(chk.check_routes(doc))


def test_every_operation_has_the_design_roles(doc):
    assert_clean(chk.check_roles(doc))


def test_every_error_response_is_a_problem(doc):
    assert_clean(chk.check_problems(doc))


def test_request_and_success_bodies_have_examples(doc):
    assert_clean(chk.check_examples_present(doc))


def test_examples_validate_against_their_schemas(doc):
    assert_clean(chk.check_examples_valid(doc))


def test_route_table_in_c_matches(doc):
    rows = chk.routes_c_rows()
    if not rows:
        pytest.skip("api/routes.c has no route rows yet")
    assert_clean(chk.check_route_table(doc, rows))


def test_expected_list_covers_design_table_size():
    # 43 /v1 routes, the bundle endpoint and three health routes.
    assert len(chk.EXPECTED_ROUTES) == 47
    v1 = [p for _, p in chk.EXPECTED_ROUTES if p.startswith("/v1/")]
    assert len(v1) == 43


# ---- each check catches what it is for -------------------------------

def test_spec_check_catches_bad_scheme(hostile):
    hostile["components"]["securitySchemes"]["svidMutualTLS"]["type"] = \
        "tls"
    assert chk.check_spec(hostile)


def test_spec_check_catches_dangling_ref(hostile):
    props = hostile["components"]["schemas"]["Entry"]["properties"]
    props["spiffe_id"] = {"$ref": "#/components/schemas/Nope"}
    assert chk.check_spec(hostile)


def test_routes_check_catches_missing_route(hostile):
    del hostile["paths"]["/v1/agents/purge"]
    faults = chk.check_routes(hostile)
    assert "missing: POST /v1/agents/purge" in faults


def test_routes_check_catches_extra_route(hostile):
    hostile["paths"]["/v1/secret"] = copy.deepcopy(
        hostile["paths"]["/v1/log-level"])
    faults = chk.check_routes(hostile)
    assert "not in the design table: GET /v1/secret" in faults


def test_routes_check_wants_listener_of_health_routes(hostile):
    del hostile["paths"]["/live"]["servers"]
    assert any(f.startswith("/live:") for f in chk.check_routes(hostile))


def test_roles_check_catches_missing_roles(hostile):
    del hostile["paths"]["/v1/entries"]["get"]["x-roles"]
    assert "GET /v1/entries: no x-roles" in chk.check_roles(hostile)


def test_roles_check_catches_wrong_roles(hostile):
    hostile["paths"]["/v1/join-tokens"]["post"]["x-roles"] = ["anonymous"]
    faults = chk.check_roles(hostile)
    assert any("POST /v1/join-tokens: x-roles" in f for f in faults)


def test_roles_check_catches_unknown_role(hostile):
    hostile["paths"]["/v1/audit"]["get"]["x-roles"] = ["admin", "root"]
    faults = chk.check_roles(hostile)
    assert any("unknown roles ['root']" in f for f in faults)


def test_roles_check_catches_open_security(hostile):
    hostile["paths"]["/v1/audit"]["get"]["security"] = []
    faults = chk.check_roles(hostile)
    assert any("no security requirement" in f for f in faults)


def test_problems_check_catches_plain_json_error(hostile):
    op = hostile["paths"]["/v1/entries/{id}"]["delete"]
    op["responses"]["404"] = {
        "description": "gone",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    faults = chk.check_problems(hostile)
    assert any(f.startswith("DELETE /v1/entries/{id} 404") for f in faults)


def test_problems_check_catches_other_schema(hostile):
    resp = hostile["components"]["responses"]["Conflict"]
    resp["content"]["application/problem+json"]["schema"] = {
        "type": "object"}
    assert chk.check_problems(hostile)


def test_examples_check_catches_missing_example(hostile):
    media = (hostile["paths"]["/v1/agents/purge"]["post"]["requestBody"]
             ["content"]["application/json"])
    del media["example"]
    faults = chk.check_examples_present(hostile)
    assert any(f.startswith("POST /v1/agents/purge") for f in faults)


def test_examples_check_catches_invalid_example(hostile):
    media = (hostile["paths"]["/v1/entries/{id}"]["get"]["responses"]
             ["200"]["content"]["application/json"])
    media["example"] = {"id": "x", "spiffe_id": "spiffe://Example.org/x"}
    faults = chk.check_examples_valid(hostile)
    assert any("'parent_id' is a required property" in f for f in faults)
    assert any("does not match" in f for f in faults)


def test_route_table_check_both_directions(doc):
    rows = [(m, p) for (m, p) in chk.EXPECTED_ROUTES
            if p.startswith("/v1/")]
    assert_clean(chk.check_route_table(doc, rows))
    short = [r for r in rows if r != ("POST", "/v1/agents/ban")]
    assert chk.check_route_table(doc, short) == [
        "the document has POST /v1/agents/ban, api/routes.c does not"]
    extra = rows + [("GET", "/v1/debug")]
    assert chk.check_route_table(doc, extra) == [
        "api/routes.c has GET /v1/debug, the document does not"]


def test_route_table_capture_matches_fixed_segment(doc):
    rows = [(m, p) for (m, p) in chk.EXPECTED_ROUTES
            if p.startswith("/v1/") and not p.startswith(
                "/v1/authorities/")]
    rows += [("GET", "/v1/authorities/{kind}")]
    rows += [("POST", f"/v1/authorities/{{kind}}/{verb}")
             for verb in ("prepare", "activate", "taint", "revoke")]
    assert_clean(chk.check_route_table(doc, rows))
