/*
 * bounds.h: every ceiling on input that grows, kept in one place so that
 * a reviewer can see at a glance how much a stranger can make us hold.
 */
#ifndef SVIDCA_BOUNDS_H
#define SVIDCA_BOUNDS_H

#define SPIFFEID_MAX		2048	/* bytes, SPIFFE-ID 2.3 */
#define SPIFFEID_TD_MAX		255	/* bytes, SPIFFE-ID 2.3 */

#define HTTP_HEADER_MAX		(16 * 1024)	/* bytes, all headers */
#define HTTP_BODY_MAX		(4 * 1024 * 1024) /* bytes, default body cap */
#define HTTP_CONN_MAX		1024	/* concurrent connections */
#define HTTP_CONN_PER_IP_MAX	256	/* concurrent connections per peer */
#define HTTP_CONN_TIMEOUT	30	/* seconds idle before a close */
#define HTTP_PEER_CHAIN_MAX	8	/* certificates a peer may present */

#define CSR_DER_MAX		(16 * 1024)	/* bytes of one CSR */
/* PEM grows DER by 4/3 plus line breaks and armour: twice covers it. */
#define CSR_PEM_MAX		(2 * CSR_DER_MAX)	/* bytes of one PEM CSR */
#define CERT_DNS_MAX		64	/* DNS SANs on one SVID */
#define CERT_DNS_NAME_MAX	253	/* bytes, RFC 1035 */
#define JWT_AUD_MAX		16	/* audiences on one JWT-SVID */
#define JWT_AUD_LEN_MAX		512	/* bytes of one audience */

#define CONF_FILE_MAX		(1024 * 1024)	/* bytes of a config file */
#define KEY_FILE_MAX		(64 * 1024)	/* bytes of a sealed key file */
#define CLI_FILE_MAX		(4 * 1024 * 1024) /* bytes, CLI input file */
#define PATH_MAX_SVIDCA		4096	/* bytes of a file path we build */

#define PAGE_SIZE_DEFAULT	500	/* list rows by default */
#define PAGE_SIZE_MAX		5000	/* list rows at most */

#define ATTEST_CHAIN_MAX	8	/* certificates of x509pop evidence */
#define ATTEST_CERT_MAX		(16 * 1024)	/* bytes of one of them */
#define ATTEST_SELECTORS_MAX	64	/* node selectors of one agent */
#define ATTEST_SELECTOR_MAX	1024	/* bytes of one selector value */
#define ATTEST_SESSIONS_MAX	1024	/* x509pop challenges open at once */
#define ATTEST_JWT_MAX		16384	/* bytes of a JWT as evidence */
#define ATTEST_JWKS_MAX		(256 * 1024)	/* bytes of one JWKS */
#define ATTEST_REPLAY_MAX	65536	/* JWTs remembered against replay */
#define ATTEST_PEERS_MAX	4096	/* source addresses rate-limited */

/* What one registration entry holds, and one batch of them. */
#define ENTRY_SELECTORS_MAX	64	/* selectors in one entry */
#define ENTRY_SELECTOR_TYPE_MAX	64	/* bytes of a selector type */
#define ENTRY_SELECTOR_VALUE_MAX 1024	/* bytes of a selector value */
#define ENTRY_DNS_NAMES_MAX	CERT_DNS_MAX	/* DNS names in one entry */
#define ENTRY_FEDERATES_MAX	64	/* federates_with names */
#define ENTRY_HINT_MAX		1024	/* bytes of a hint */
#define ENTRY_BATCH_MAX		10000	/* items in one batch request */

/*
 * Items in one agent X.509-SVID batch: about 5 ms of signing and a reply
 * of about 1 MiB.
 */
#define AGENT_BATCH_MAX		500

#endif
