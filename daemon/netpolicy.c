/* SPDX-License-Identifier: MIT */
/* Upstream address policy: the table of non-public IPv4 and IPv6 ranges,
 * CIDR parsing and the allow check that the fetcher's open-socket
 * callback runs for every connection. */
#include "netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

struct range4 {
	uint32_t	 net;		/* host order */
	unsigned	 prefix;
	const char	*name;
};

/* IANA IPv4 special-purpose ranges that are not reachable on the public
 * internet, or that reach a host's own or its neighbours' services. */
static const struct range4 ranges4[] = {
	{ 0x00000000, 8, "unspecified (0.0.0.0/8)" },
	{ 0x0a000000, 8, "private (RFC 1918)" },
	{ 0x64400000, 10, "shared address space (CGNAT, 100.64.0.0/10)" },
	{ 0x7f000000, 8, "loopback" },
	{ 0xa9fe0000, 16, "link-local (169.254.0.0/16)" },
	{ 0xac100000, 12, "private (RFC 1918)" },
	{ 0xc0000000, 24, "IETF protocol assignments (192.0.0.0/24)" },
	{ 0xc0a80000, 16, "private (RFC 1918)" },
	{ 0xc6120000, 15, "benchmarking (198.18.0.0/15)" },
	{ 0xe0000000, 4, "multicast" },
	{ 0xf0000000, 4, "reserved (240.0.0.0/4)" },
};

static const char *
classify4(uint32_t addr)
{
	size_t i;

	for (i = 0; i < sizeof(ranges4) / sizeof(ranges4[0]); i++) {
		uint32_t mask = 0xffffffffu << (32 - ranges4[i].prefix);

		if ((addr & mask) == ranges4[i].net)
			return ranges4[i].name;
	}
	return NULL;
}

static uint32_t
load32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *
classify6(const unsigned char *a)
{
	static const unsigned char zero[16];
	static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

	if (memcmp(a, zero, 15) == 0 && a[15] == 0)
		return "unspecified (::)";
	if (memcmp(a, zero, 15) == 0 && a[15] == 1)
		return "loopback";
	/* ::/96 is the deprecated IPv4-compatible form; nothing public is
	 * there, and it must not become a way to write 127.0.0.1. */
	if (memcmp(a, zero, 12) == 0)
		return "IPv4-compatible (::/96)";
	if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
		return "IPv4-mapped (::ffff:0:0/96)";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local (fe80::/10)";
	if ((a[0] & 0xfe) == 0xfc)
		return "unique local (fc00::/7)";
	if (a[0] == 0xff)
		return "multicast";
	/* NAT64 and 6to4 carry an IPv4 address that a gateway connects to. */
	if (memcmp(a, nat64, 12) == 0 && classify4(load32(a + 12)) != NULL)
		return "NAT64 (64:ff9b::/96) of a non-public IPv4 address";
	if (a[0] == 0x20 && a[1] == 0x02 && classify4(load32(a + 2)) != NULL)
		return "6to4 (2002::/16) of a non-public IPv4 address";
	return NULL;
}

const char *
netpolicy_classify(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		return classify4(ntohl(sin->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		return classify6(sin6->sin6_addr.s6_addr);
	}
	return "not an IP address";
}

int
netpolicy_parse_cidr(const char *text, size_t len,
    struct netpolicy_cidr *cidr, const char **err)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen, i, bits;
	unsigned long prefix;

	memset(cidr, 0, sizeof(*cidr));
	if (len == 0 || len >= sizeof(buf)) {
		*err = "expected ADDRESS/PREFIX";
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	alen = slash != NULL ? (size_t)(slash - buf) : len;
	buf[alen] = '\0';

	if (inet_pton(AF_INET, buf, cidr->addr) == 1) {
		cidr->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, cidr->addr) == 1) {
		cidr->family = AF_INET6;
		bits = 128;
	} else {
		*err = "not an IPv4 or IPv6 address";
		return -1;
	}

	prefix = bits;
	if (slash != NULL) {
		const char *p = buf + alen + 1;

		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
		    strlen(p) > 3) {
			*err = "prefix length must be a number";
			return -1;
		}
		prefix = 0;
		for (; *p != '\0'; p++)
			prefix = prefix * 10 + (unsigned long)(*p - '0');
		if (prefix > bits) {
			*err = cidr->family == AF_INET ?
			    "prefix length must be from 0 to 32" :
			    "prefix length must be from 0 to 128";
			return -1;
		}
	}
	cidr->prefix = (unsigned)prefix;

	/* Bits past the prefix are most likely a typo in the prefix. */
	for (i = prefix; i < bits; i++)
		if (cidr->addr[i / 8] & (0x80 >> (i % 8))) {
			*err = "address has bits set past the prefix length";
			return -1;
		}
	return 0;
}

int
netpolicy_init(struct netpolicy *policy, int allow_private,
    const char *text, const char **bad, size_t *badlen, const char **err)
{
	const char *s = text;

	memset(policy, 0, sizeof(*policy));
	policy->allow_private = allow_private;
	if (text == NULL)
		return 0;
	for (;;) {
		size_t len;

		s += strspn(s, " ,");
		if (*s == '\0')
			break;
		len = strcspn(s, " ,");
		if (policy->ncidrs == NETPOLICY_MAX_CIDRS) {
			*bad = text;
			*badlen = strlen(text);
			*err = "more than 64 CIDRs";
			return -1;
		}
		if (netpolicy_parse_cidr(s, len,
		    &policy->cidrs[policy->ncidrs], err) != 0) {
			*bad = s;
			*badlen = len;
			return -1;
		}
		policy->ncidrs++;
		s += len;
	}
	return 0;
}

static int
cidr_contains(const struct netpolicy_cidr *cidr, const unsigned char *addr)
{
	size_t full = cidr->prefix / 8, rest = cidr->prefix % 8;

	if (memcmp(cidr->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((cidr->addr[full] ^ addr[full]) & (0xff00 >> rest)) == 0;
}

const char *
netpolicy_check(const struct netpolicy *policy, const struct sockaddr *sa)
{
	const unsigned char *addr;
	const char *range;
	size_t i;

	range = netpolicy_classify(sa);
	if (range == NULL)
		return NULL;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return range;
	if (policy->allow_private)
		return NULL;
	if (sa->sa_family == AF_INET)
		addr = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	else
		addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	for (i = 0; i < policy->ncidrs; i++)
		if (policy->cidrs[i].family == sa->sa_family &&
		    cidr_contains(&policy->cidrs[i], addr))
			return NULL;
	return range;
}
