/*
 * agent_attest.c: node attestation from the agent's side (see
 * agent_attest.h and POST /v1/agent/attest in docs/openapi.yaml).
 */
#include "agent_attest.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "../server/log.h"
#include "agent_files.h"

#define ATTEST_PATH		"/v1/agent/attest"
#define ATTEST_FILE_MAX		(256 * 1024)	/* bytes of an evidence file */
#define ATTEST_CHAIN_MAX	8	/* certificates of node evidence */
#define ATTEST_CHALLENGE_MAX	1024	/* bytes of a decoded challenge */
#define ATTEST_TOKEN_MAX	16384	/* bytes of a JWT (openapi.yaml) */

const char *
agent_attest_type_str(enum agent_attest_type t)
{
	switch (t) {
	case AGENT_ATTEST_JOIN_TOKEN:
		return "join_token";
	case AGENT_ATTEST_X509POP:
		return "x509pop";
	case AGENT_ATTEST_JWT:
		return "jwt";
	}
	return "unknown";
}

void
agent_attest_result_clear(struct agent_attest_result *res)
{
	agent_svid_free(res->svid);
	json_decref(res->bundle);
	memset(res, 0, sizeof(*res));
}

/* Standard base64 of bytes as a new JSON string, or NULL. */
static json_t *
b64_string(const unsigned char *p, size_t len)
{
	json_t *s;
	char *b64;
	size_t n;

	n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(n);
	if (b64 == NULL)
		return NULL;
	sodium_bin2base64(b64, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	s = json_string(b64);
	free(b64);
	return s;
}

/* A file's text with the blanks at its end cut; NULL if unreadable. */
static char *
read_trimmed(const char *path, size_t max)
{
	char *text = NULL;
	size_t len = 0;

	if (agent_files_read(path, max, &text, &len) != RC_OK) {
		log_warn("agent", "cannot read evidence file path=%s", path);
		return NULL;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
	    text[len - 1] == ' ' || text[len - 1] == '\t'))
		text[--len] = '\0';
	return text;
}

/*
 * The node's certificates from a PEM file as a JSON array of base64 DER,
 * leaf first (the "chain" of the x509pop evidence).
 */
static json_t *
read_node_chain(const char *path)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	json_t *arr = NULL, *s;
	unsigned char *der = NULL;
	char *text;
	int n;

	text = read_trimmed(path, ATTEST_FILE_MAX);
	if (text == NULL)
		return NULL;
	bio = BIO_new_mem_buf(text, -1);
	arr = json_array();
	if (bio == NULL || arr == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		n = i2d_X509(x, &der);
		if (n <= 0 || json_array_size(arr) >= ATTEST_CHAIN_MAX)
			goto fail;
		s = b64_string(der, (size_t)n);
		if (s == NULL || json_array_append_new(arr, s) != 0)
			goto fail;
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
	}
	ERR_clear_error();
	if (json_array_size(arr) == 0) {
		log_warn("agent", "no certificate in the x509pop file path=%s",
		    path);
		goto fail;
	}
	BIO_free(bio);
	free(text);
	return arr;
fail:
	ERR_clear_error();
	OPENSSL_free(der);
	X509_free(x);
	json_decref(arr);
	BIO_free(bio);
	free(text);
	return NULL;
}

/* The private key of a PEM file, or NULL. */
static EVP_PKEY *
read_node_key(const char *path)
{
	EVP_PKEY *key = NULL;
	BIO *bio;
	char *text = NULL;
	size_t len = 0;

	if (agent_files_read(path, ATTEST_FILE_MAX, &text, &len) != RC_OK)
		return NULL;
	bio = BIO_new_mem_buf(text, (int)len);
	if (bio != NULL)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	ERR_clear_error();
	BIO_free(bio);
	sodium_memzero(text, len);
	free(text);
	if (key == NULL)
		log_warn("agent",
		    "no private key in the x509pop key file path=%s", path);
	return key;
}

/* The "evidence" member for ev, or NULL (logged). */
static json_t *
make_evidence(const struct agent_evidence *ev)
{
	json_t *chain, *o = NULL;
	char *token;

	switch (ev->type) {
	case AGENT_ATTEST_JOIN_TOKEN:
		/*
		 * XXX(agent-token-argv): the join token comes from the
		 * command line, where other local users can read it in
		 * /proc until it is used.  It works once and expires (10
		 * minutes by default), which bounds the exposure.  Fix: a
		 * --join-token-file option read like --jwt-file.
		 */
		o = json_pack("{s:s}", "token", ev->join_token);
		break;
	case AGENT_ATTEST_JWT:
		token = read_trimmed(ev->jwt_file, ATTEST_TOKEN_MAX);
		if (token == NULL)
			return NULL;
		o = json_pack("{s:s}", "token", token);
		sodium_memzero(token, strlen(token));
		free(token);
		break;
	case AGENT_ATTEST_X509POP:
		chain = read_node_chain(ev->x509pop_cert);
		if (chain == NULL)
			return NULL;
		o = json_pack("{s:o}", "chain", chain);
		break;
	}
	return o;
}

/*
 * Sign the x509pop challenge with the node key, as the contract says:
 * over AGENT_ATTEST_CONTEXT, one zero byte, then the challenge; ECDSA
 * with SHA-256 (P-256) or SHA-384 (P-384), RSA-PSS with SHA-256.
 * Returns the signature as a base64 JSON string, or NULL (logged).
 */
static json_t *
sign_challenge(EVP_PKEY *key, const unsigned char *chal, size_t chal_len)
{
	unsigned char msg[sizeof(AGENT_ATTEST_CONTEXT) + ATTEST_CHALLENGE_MAX];
	unsigned char *sig = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *dgst = EVP_sha256();
	json_t *out = NULL;
	char ossl[256];
	size_t msg_len, sig_len = 0;
	bool rsa;

	/* sizeof counts the context's NUL: that is the zero byte. */
	memcpy(msg, AGENT_ATTEST_CONTEXT, sizeof(AGENT_ATTEST_CONTEXT));
	memcpy(msg + sizeof(AGENT_ATTEST_CONTEXT), chal, chal_len);
	msg_len = sizeof(AGENT_ATTEST_CONTEXT) + chal_len;

	rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
	if (!rsa && EVP_PKEY_get_bits(key) == 384)
		dgst = EVP_sha384();
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestSignInit(md, &pctx, dgst, NULL, key) != 1)
		goto out;
	if (rsa && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
	    1))
		goto out;
	if (EVP_DigestSign(md, NULL, &sig_len, msg, msg_len) != 1)
		goto out;
	sig = OPENSSL_malloc(sig_len);
	if (sig == NULL ||
	    EVP_DigestSign(md, sig, &sig_len, msg, msg_len) != 1)
		goto out;
	out = b64_string(sig, sig_len);
out:
	if (out == NULL)
		log_error("agent",
		    "cannot sign the x509pop challenge ossl=\"%s\"",
		    log_ossl(ossl, sizeof(ossl)));
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

/*
 * The second round of x509pop: reply (a 202) holds the session and the
 * challenge; answer it and replace reply with the server's last word.
 */
static enum rc
answer_challenge(struct agent_client *cl, const struct agent_evidence *ev,
    struct agent_client_reply *reply)
{
	unsigned char chal[ATTEST_CHALLENGE_MAX];
	const char *session, *b64;
	json_t *doc = NULL, *req = NULL, *sig = NULL;
	EVP_PKEY *key = NULL;
	char *body = NULL;
	size_t chal_len = 0;
	enum rc rc = RC_BAD_REQUEST;

	doc = json_loadb(reply->body, reply->len, 0, NULL);
	session = json_string_value(json_object_get(doc, "session"));
	b64 = json_string_value(json_object_get(doc, "challenge"));
	if (session == NULL || b64 == NULL ||
	    sodium_base642bin(chal, sizeof(chal), b64, strlen(b64), NULL,
	    &chal_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		log_warn("agent", "the x509pop challenge is unreadable");
		goto out;
	}
	key = read_node_key(ev->x509pop_key);
	if (key == NULL)
		goto out;
	sig = sign_challenge(key, chal, chal_len);
	if (sig == NULL) {
		rc = RC_CRYPTO;
		goto out;
	}
	req = json_pack("{s:s,s:o}", "session", session, "signature", sig);
	sig = NULL;
	body = req == NULL ? NULL : json_dumps(req, JSON_COMPACT);
	if (body == NULL) {
		rc = RC_NOMEM;
		goto out;
	}

	agent_client_reply_clear(reply);
	rc = agent_client_request(cl, "POST", ATTEST_PATH, body, NULL, reply);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	free(body);
	json_decref(sig);
	json_decref(req);
	json_decref(doc);
	EVP_PKEY_free(key);
	return rc;
}

/* Read the 200 answer into res. */
static enum rc
take_result(const struct agent_client_reply *reply, EVP_PKEY *key,
    struct agent_attest_result *res)
{
	struct rc_why why;
	json_t *doc;
	const char *id;
	enum rc rc = RC_BAD_REQUEST;

	rc_why_clear(&why);
	doc = json_loadb(reply->body, reply->len, 0, NULL);
	id = json_string_value(json_object_get(doc, "spiffe_id"));
	if (id == NULL || !json_is_object(json_object_get(doc, "bundle"))) {
		log_warn("agent",
		    "attestation answer lacks spiffe_id or bundle");
		goto out;
	}
	res->svid = agent_svid_from_json(json_object_get(doc, "svid"), key,
	    &why);
	if (res->svid == NULL) {
		log_warn("agent", "attestation answer refused reason=\"%s\"",
		    why.detail);
		goto out;
	}
	if (strcmp(res->svid->id, id) != 0) {
		log_warn("agent",
		    "attestation answer names another ID id=%s svid=%s", id,
		    res->svid->id);
		goto out;
	}
	res->bundle = json_incref(json_object_get(doc, "bundle"));

	rc = RC_OK;
out:
	if (rc != RC_OK) {
		agent_svid_free(res->svid);
		res->svid = NULL;
	}
	json_decref(doc);
	return rc;
}

/* Attest with ev; see agent_attest.h. */
enum rc
agent_attest(struct agent_client *cl, const struct agent_evidence *ev,
    struct agent_attest_result *res)
{
	struct agent_client_reply reply;
	json_t *req = NULL, *evidence;
	EVP_PKEY *key = NULL;
	char *csr = NULL, *body = NULL, detail[256];
	enum rc rc = RC_NOMEM;

	memset(res, 0, sizeof(*res));
	memset(&reply, 0, sizeof(reply));
	key = agent_svid_new_key();
	if (key == NULL) {
		rc = RC_CRYPTO;
		goto out;
	}
	csr = agent_svid_make_csr(key);
	if (csr == NULL) {
		rc = RC_CRYPTO;
		goto out;
	}
	evidence = make_evidence(ev);
	if (evidence == NULL) {
		rc = RC_IO;
		goto out;
	}
	req = json_pack("{s:s,s:o,s:s}", "attestation_type",
	    agent_attest_type_str(ev->type), "evidence", evidence, "csr", csr);
	body = req == NULL ? NULL : json_dumps(req, JSON_COMPACT);
	if (body == NULL)
		goto out;

	rc = agent_client_request(cl, "POST", ATTEST_PATH, body, NULL, &reply);
	if (rc != RC_OK)
		goto out;
	if (ev->type == AGENT_ATTEST_X509POP && reply.status == 202) {
		rc = answer_challenge(cl, ev, &reply);
		if (rc != RC_OK)
			goto out;
	}
	if (reply.status != 200) {
		rc = agent_client_status_rc(reply.status);
		res->refused = reply.status >= 400 && reply.status < 500;
		res->retry_after = reply.retry_after;
		log_warn("agent",
		    "attestation refused type=%s status=%ld reason=\"%s\"",
		    agent_attest_type_str(ev->type),
		    reply.status, agent_client_reply_detail(&reply, detail,
		    sizeof(detail)));
		goto out;
	}
	rc = take_result(&reply, key, res);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	agent_client_reply_clear(&reply);
	if (body != NULL) {
		sodium_memzero(body, strlen(body));	/* holds the token */
		free(body);
	}
	json_decref(req);
	free(csr);
	EVP_PKEY_free(key);
	return rc;
}
