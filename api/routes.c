/*
 * routes.c: the one route table.  Every route names the roles it admits
 * and nothing else gets in (DESIGN.md, "Authorization: default deny").
 * The first row matching method and path wins, so a fixed segment
 * ("/v1/entries/count") comes before a capture ("/v1/entries/{id}").
 */
#include "http.h"

#include <stddef.h>

#include "api.h"

#define ROLES_ALL	(HTTP_ROLE_ANON | HTTP_ROLE_AGENT | \
			    HTTP_ROLE_DOWNSTREAM | HTTP_ROLE_ADMIN | \
			    HTTP_ROLE_LOCAL)
#define ROLES_ADMIN	(HTTP_ROLE_ADMIN | HTTP_ROLE_LOCAL)
#define ROLES_AGENT	HTTP_ROLE_AGENT
#define ROLES_DOWN	HTTP_ROLE_DOWNSTREAM

/*
 * XXX(routes-501): the rows for federated bundles, federation,
 * authorities and downstream CAs answer 501 from
 * api_not_implemented; the table exists whole so that default deny
 * holds for each route from the start.  Fix: each resource's handler
 * file replaces its rows' handler.
 */
const struct http_route http_routes[] = {
	/* anonymous */
	{ "GET",	"/v1/bundle",		ROLES_ALL, api_bundle_get },
	{ "POST",	"/v1/agent/attest",	HTTP_ROLE_ANON,
	    api_agent_attest },

	/* agents */
	{ "POST",	"/v1/agent/renew",	ROLES_AGENT,
	    api_agent_renew },
	{ "GET",	"/v1/agent/entries",	ROLES_AGENT,
	    api_agent_entries },
	{ "POST",	"/v1/agent/x509-svids",	ROLES_AGENT,
	    api_agent_x509_svids },
	{ "POST",	"/v1/agent/jwt-svids",	ROLES_AGENT,
	    api_agent_jwt_svids },
	{ "GET",	"/v1/agent/bundles",	ROLES_AGENT,
	    api_agent_bundles },

	/* downstream CAs */
	{ "POST",	"/v1/downstream/x509-ca", ROLES_DOWN,
	    api_not_implemented },

	/* entries */
	{ "GET",	"/v1/entries",		ROLES_ADMIN,
	    api_entries_list },
	{ "POST",	"/v1/entries",		ROLES_ADMIN,
	    api_entries_create },
	{ "GET",	"/v1/entries/count",	ROLES_ADMIN,
	    api_entries_count },
	{ "POST",	"/v1/entries/batch-delete", ROLES_ADMIN,
	    api_entries_batch_delete },
	{ "GET",	"/v1/entries/{id}",	ROLES_ADMIN,
	    api_entry_get },
	{ "PUT",	"/v1/entries/{id}",	ROLES_ADMIN,
	    api_entry_put },
	{ "PATCH",	"/v1/entries/{id}",	ROLES_ADMIN,
	    api_entry_patch },
	{ "DELETE",	"/v1/entries/{id}",	ROLES_ADMIN,
	    api_entry_delete },

	/* agents, as an operator sees them */
	{ "GET",	"/v1/agents",		ROLES_ADMIN,
	    api_agents_list },
	{ "GET",	"/v1/agents/count",	ROLES_ADMIN,
	    api_agents_count },
	{ "POST",	"/v1/agents/ban",	ROLES_ADMIN,
	    api_agents_ban },
	{ "POST",	"/v1/agents/evict",	ROLES_ADMIN,
	    api_agents_evict },
	{ "POST",	"/v1/agents/purge",	ROLES_ADMIN,
	    api_agents_purge },
	{ "POST",	"/v1/join-tokens",	ROLES_ADMIN,
	    api_join_tokens_create },

	/* minting for any ID of the trust domain */
	{ "POST",	"/v1/svids/x509",	ROLES_ADMIN,
	    api_svids_x509 },
	{ "POST",	"/v1/svids/jwt",	ROLES_ADMIN,
	    api_svids_jwt },

	/* federated bundles by hand */
	{ "GET",	"/v1/bundles",		ROLES_ADMIN,
	    api_not_implemented },
	{ "GET",	"/v1/bundles/{trust_domain}", ROLES_ADMIN,
	    api_not_implemented },
	{ "PUT",	"/v1/bundles/{trust_domain}", ROLES_ADMIN,
	    api_not_implemented },
	{ "DELETE",	"/v1/bundles/{trust_domain}", ROLES_ADMIN,
	    api_not_implemented },

	/* federation relationships */
	{ "GET",	"/v1/federation",	ROLES_ADMIN,
	    api_not_implemented },
	{ "POST",	"/v1/federation",	ROLES_ADMIN,
	    api_not_implemented },
	{ "GET",	"/v1/federation/{trust_domain}", ROLES_ADMIN,
	    api_not_implemented },
	{ "PUT",	"/v1/federation/{trust_domain}", ROLES_ADMIN,
	    api_not_implemented },
	{ "DELETE",	"/v1/federation/{trust_domain}", ROLES_ADMIN,
	    api_not_implemented },
	{ "POST",	"/v1/federation/{trust_domain}/refresh", ROLES_ADMIN,
	    api_not_implemented },

	/* authorities: {kind} is x509 or jwt */
	{ "GET",	"/v1/authorities/x509",	ROLES_ADMIN,
	    api_not_implemented },
	{ "GET",	"/v1/authorities/jwt",	ROLES_ADMIN,
	    api_not_implemented },
	{ "POST",	"/v1/authorities/{kind}/prepare", ROLES_ADMIN,
	    api_not_implemented },
	{ "POST",	"/v1/authorities/{kind}/activate", ROLES_ADMIN,
	    api_not_implemented },
	{ "POST",	"/v1/authorities/{kind}/taint", ROLES_ADMIN,
	    api_not_implemented },
	{ "POST",	"/v1/authorities/{kind}/revoke", ROLES_ADMIN,
	    api_not_implemented },

	/* audit and operations */
	{ "GET",	"/v1/audit",		ROLES_ADMIN,
	    api_audit_list },
	{ "GET",	"/v1/log-level",	ROLES_ADMIN,
	    api_log_level_get },
	{ "PUT",	"/v1/log-level",	ROLES_ADMIN,
	    api_log_level_put },

	{ NULL, NULL, 0, NULL },
};
