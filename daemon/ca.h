/* SPDX-License-Identifier: MIT */
/* The local certificate authority that signs the leaf certificates shown
 * to clients inside intercepted CONNECT tunnels. */
#ifndef HASHGATE_CA_H
#define HASHGATE_CA_H

#include <openssl/ssl.h>

struct ca;

/* Loads the CA from cert_path and key_path, or creates both (ECDSA P-256,
 * key file mode 0600) when neither exists. One file without the other, an
 * unreadable file or a key that does not match the certificate is an
 * error. max_leaves bounds the minted certificates kept in memory.
 * Returns NULL after logging. */
struct ca *ca_open(const char *cert_path, const char *key_path,
    unsigned max_leaves);
void ca_free(struct ca *ca);

/* Sets on ssl a leaf certificate for host, a DNS name or an IP literal
 * (IPv6 without brackets), minting it on first use. Not thread-safe: one
 * thread mints. Returns 0, or -1 after logging. */
int ca_use_leaf(struct ca *ca, SSL *ssl, const char *host);

/* Returns the CA certificate in PEM form, owned by ca. */
const char *ca_pem(const struct ca *ca);

#endif
