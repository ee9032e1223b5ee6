/* SPDX-License-Identifier: MIT */
/* The local certificate authority: loading or creating the CA, and minting
 * leaf certificates for intercepted hosts. */
#include "ca.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "log.h"

#define CA_DAYS		3650	/* validity of a created CA */
#define LEAF_DAYS	30	/* validity of a minted leaf */
#define HOST_MAX	253

/* A minted certificate, in a list ordered from most to least recently used. */
struct leaf {
	struct leaf	*next;
	char		 host[HOST_MAX + 1];
	X509		*cert;
};

struct ca {
	X509		*cert;
	EVP_PKEY	*key;
	EVP_PKEY	*leaf_key;	/* one key for every leaf */
	char		*pem;
	struct leaf	*leaves;
	unsigned	 nleaves, max_leaves;
};

static void
log_openssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	log_error("%s: %s", what, e ? buf : "unknown OpenSSL error");
	ERR_clear_error();
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* Fills the fields every certificate here shares: version 3, a random
 * 127-bit serial, and validity from an hour ago (clock skew) for days. */
static int
cert_init(X509 *cert, long days)
{
	unsigned char serial[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return -1;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL &&
	    X509_set_version(cert, 2) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(cert), days * 86400L) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
ca_create(struct ca *ca, const char *cert_path, const char *key_path)
{
	char host[64] = "localhost", cn[128];
	X509_NAME *name;
	FILE *fp = NULL;
	int fd = -1;

	ca->key = EVP_EC_gen("P-256");
	ca->cert = X509_new();
	if (ca->key == NULL || ca->cert == NULL || cert_init(ca->cert, CA_DAYS) != 0)
		goto fail;
	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "hashgate CA on %s", host);
	name = X509_get_subject_name(ca->cert);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"hashgate", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(ca->cert, name) != 1 ||
	    X509_set_pubkey(ca->cert, ca->key) != 1 ||
	    add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") != 0 ||
	    X509_sign(ca->cert, ca->key, EVP_sha256()) == 0)
		goto fail;

	/* The key is written first, with O_EXCL and mode 0600. */
	fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		log_errno("tls: cannot create CA key %s", key_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (PEM_write_PrivateKey(fp, ca->key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		log_errno("tls: cannot write CA key %s", key_path);
		fclose(fp);
		unlink(key_path);
		return -1;
	}
	fclose(fp);

	fd = open(cert_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		log_errno("tls: cannot create CA certificate %s", cert_path);
		if (fd >= 0)
			close(fd);
		unlink(key_path);
		return -1;
	}
	if (PEM_write_X509(fp, ca->cert) != 1 || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		log_errno("tls: cannot write CA certificate %s", cert_path);
		fclose(fp);
		unlink(cert_path);
		unlink(key_path);
		return -1;
	}
	fclose(fp);
	log_info("tls: created CA certificate %s and key %s (ECDSA P-256, "
	    "valid %d days); clients must trust the certificate", cert_path,
	    key_path, CA_DAYS);
	return 0;
fail:
	log_openssl("tls: cannot create the CA");
	return -1;
}

static int
ca_load(struct ca *ca, const char *cert_path, const char *key_path)
{
	FILE *fp;

	fp = fopen(cert_path, "r");
	if (fp == NULL) {
		log_errno("tls: cannot open CA certificate %s", cert_path);
		return -1;
	}
	ca->cert = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (ca->cert == NULL) {
		log_openssl("tls: CA certificate is not a PEM certificate");
		return -1;
	}
	fp = fopen(key_path, "r");
	if (fp == NULL) {
		log_errno("tls: cannot open CA key %s", key_path);
		return -1;
	}
	ca->key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (ca->key == NULL) {
		log_openssl("tls: CA key is not an unencrypted PEM private key");
		return -1;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		log_error("tls: CA key %s does not match CA certificate %s",
		    key_path, cert_path);
		ERR_clear_error();
		return -1;
	}
	if (X509_check_ca(ca->cert) == 0)
		log_warning("tls: %s is not marked as a CA certificate; clients "
		    "will reject the certificates it signs", cert_path);
	return 0;
}

struct ca *
ca_open(const char *cert_path, const char *key_path, unsigned max_leaves)
{
	struct ca *ca;
	BIO *bio = NULL;
	int have_cert, have_key;
	long len;
	char *data;

	ca = calloc(1, sizeof(*ca));
	if (ca == NULL) {
		log_error("tls: out of memory");
		return NULL;
	}
	ca->max_leaves = max_leaves;

	have_cert = access(cert_path, F_OK) == 0;
	have_key = access(key_path, F_OK) == 0;
	if (have_cert != have_key) {
		log_error("tls: %s exists but %s does not; give both the CA "
		    "certificate and its key, or neither to create a new CA",
		    have_cert ? cert_path : key_path,
		    have_cert ? key_path : cert_path);
		goto fail;
	}
	if (have_cert ? ca_load(ca, cert_path, key_path) :
	    ca_create(ca, cert_path, key_path))
		goto fail;

	ca->leaf_key = EVP_EC_gen("P-256");
	bio = BIO_new(BIO_s_mem());
	if (ca->leaf_key == NULL || bio == NULL ||
	    PEM_write_bio_X509(bio, ca->cert) != 1) {
		log_openssl("tls: cannot prepare the leaf key");
		goto fail;
	}
	len = BIO_get_mem_data(bio, &data);
	ca->pem = strndup(data, (size_t)len);
	BIO_free(bio);
	bio = NULL;
	if (ca->pem == NULL) {
		log_error("tls: out of memory");
		goto fail;
	}
	return ca;
fail:
	BIO_free(bio);
	ca_free(ca);
	return NULL;
}

void
ca_free(struct ca *ca)
{
	struct leaf *leaf, *next;

	if (ca == NULL)
		return;
	for (leaf = ca->leaves; leaf != NULL; leaf = next) {
		next = leaf->next;
		X509_free(leaf->cert);
		free(leaf);
	}
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->leaf_key);
	free(ca->pem);
	free(ca);
}

const char *
ca_pem(const struct ca *ca)
{
	return ca->pem;
}

static X509 *
ca_mint(struct ca *ca, const char *host)
{
	unsigned char addr[16];
	char san[HOST_MAX + 8], cn[65];
	X509_NAME *name;
	X509 *cert;
	int is_ip;

	is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	snprintf(san, sizeof(san), "%s:%s", is_ip ? "IP" : "DNS", host);
	/* A common name is limited to 64 characters; the SAN carries the name. */
	snprintf(cn, sizeof(cn), "%s", host);

	cert = X509_new();
	if (cert == NULL || cert_init(cert, LEAF_DAYS) != 0)
		goto fail;
	name = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_set_pubkey(cert, ca->leaf_key) != 1 ||
	    add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth") != 0 ||
	    add_ext(cert, ca->cert, NID_subject_alt_name, san) != 0 ||
	    add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") != 0 ||
	    X509_sign(cert, ca->key, EVP_sha256()) == 0)
		goto fail;
	return cert;
fail:
	X509_free(cert);
	log_openssl("tls: cannot mint a certificate");
	return NULL;
}

int
ca_use_leaf(struct ca *ca, SSL *ssl, const char *host)
{
	struct leaf *leaf, **pp, *last = NULL, **last_pp = NULL;

	for (pp = &ca->leaves; (leaf = *pp) != NULL; pp = &leaf->next) {
		if (strcmp(leaf->host, host) == 0)
			break;
		last_pp = pp;
		last = leaf;
	}
	if (leaf != NULL) {
		/* Move to the front: the list is kept in order of use. */
		*pp = leaf->next;
		leaf->next = ca->leaves;
		ca->leaves = leaf;
	} else {
		if (strlen(host) > HOST_MAX)
			return -1;
		leaf = calloc(1, sizeof(*leaf));
		if (leaf == NULL)
			return -1;
		leaf->cert = ca_mint(ca, host);
		if (leaf->cert == NULL) {
			free(leaf);
			return -1;
		}
		snprintf(leaf->host, sizeof(leaf->host), "%s", host);
		leaf->next = ca->leaves;
		ca->leaves = leaf;
		if (++ca->nleaves > ca->max_leaves && last != NULL) {
			/* Drop the least recently used leaf. */
			*last_pp = last->next;
			X509_free(last->cert);
			free(last);
			ca->nleaves--;
		}
	}
	if (SSL_use_certificate(ssl, leaf->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, ca->leaf_key) != 1 ||
	    SSL_add1_chain_cert(ssl, ca->cert) != 1) {
		log_openssl("tls: cannot use the minted certificate");
		return -1;
	}
	return 0;
}
