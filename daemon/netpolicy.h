/* SPDX-License-Identifier: MIT */
/* Upstream address policy: which resolved addresses hashgated may connect
 * to. Non-public addresses are refused unless upstream.allow_private is on
 * or an upstream.allow_addresses CIDR covers them. Pure functions, no I/O. */
#ifndef HASHGATE_NETPOLICY_H
#define HASHGATE_NETPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

/* Maximum number of CIDRs in upstream.allow_addresses. */
#define NETPOLICY_MAX_CIDRS 64

/* An IPv4 or IPv6 network: addr contains 4 or 16 bytes in network order, and
 * the bits past prefix are zero. */
struct netpolicy_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	unsigned	 prefix;	/* 0-32 or 0-128 */
};

struct netpolicy {
	int			 allow_private;
	size_t			 ncidrs;
	struct netpolicy_cidr	 cidrs[NETPOLICY_MAX_CIDRS];
};

/* Returns a static name of the non-public range that the address sa
 * belongs to, such as "loopback" or "private (RFC 1918)", or NULL when it
 * is public. An address of another family than AF_INET or AF_INET6 is
 * "not an IP address". */
const char *netpolicy_classify(const struct sockaddr *sa);

/* Parses the CIDR text of length len ("10.0.0.0/8", "::1/128", or a bare
 * address, meaning /32 or /128) into cidr. Returns 0, or -1 with *err
 * pointing at a static reason. */
int netpolicy_parse_cidr(const char *text, size_t len,
    struct netpolicy_cidr *cidr, const char **err);

/* Fills policy from allow_private and the CIDR list text (split by spaces
 * or commas; NULL or empty for none). Returns 0, or -1 with *bad and
 * *badlen set to the invalid entry (or to the whole text when there are
 * more than NETPOLICY_MAX_CIDRS) and *err to a static reason. */
int netpolicy_init(struct netpolicy *policy, int allow_private,
    const char *text, const char **bad, size_t *badlen, const char **err);

/* Returns NULL when policy allows connecting to sa, or else the name of
 * the range that refuses it, as netpolicy_classify returns it. */
const char *netpolicy_check(const struct netpolicy *policy,
    const struct sockaddr *sa);

#endif
