/* SPDX-License-Identifier: MIT */
/* Unit tests for the upstream address policy: the classifier over a table
 * of addresses, CIDR parsing and allow_private / allow_addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netpolicy.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* Fills ss with the IPv4 or IPv6 literal text. */
static const struct sockaddr *
make_addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return (const struct sockaddr *)ss;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return (const struct sockaddr *)ss;
	}
	fail_msg("test table: %s is not an address", text);
	return NULL;
}

/* An address and the start of the range name the classifier must return,
 * or NULL for a public address. */
struct classify_case {
	const char	*addr;
	const char	*range;
};

static const struct classify_case classify_cases[] = {
	/* IPv4 public */
	{ "1.1.1.1", NULL },
	{ "8.8.8.8", NULL },
	{ "93.184.216.34", NULL },
	{ "9.255.255.255", NULL },
	{ "11.0.0.0", NULL },
	{ "100.63.255.255", NULL },
	{ "100.128.0.0", NULL },
	{ "126.255.255.255", NULL },
	{ "128.0.0.0", NULL },
	{ "169.253.255.255", NULL },
	{ "169.255.0.0", NULL },
	{ "172.15.255.255", NULL },
	{ "172.32.0.0", NULL },
	{ "192.0.1.0", NULL },
	{ "192.167.255.255", NULL },
	{ "192.169.0.0", NULL },
	{ "198.17.255.255", NULL },
	{ "198.20.0.0", NULL },
	{ "223.255.255.255", NULL },
	/* IPv4 refused */
	{ "0.0.0.0", "unspecified" },
	{ "0.1.2.3", "unspecified" },
	{ "10.0.0.1", "private" },
	{ "10.255.255.255", "private" },
	{ "100.64.0.0", "shared address space" },
	{ "100.127.255.255", "shared address space" },
	{ "127.0.0.1", "loopback" },
	{ "127.255.255.254", "loopback" },
	{ "169.254.169.254", "link-local" },
	{ "172.16.0.0", "private" },
	{ "172.31.255.255", "private" },
	{ "192.0.0.8", "IETF protocol assignments" },
	{ "192.168.1.1", "private" },
	{ "198.18.0.1", "benchmarking" },
	{ "198.19.255.255", "benchmarking" },
	{ "224.0.0.1", "multicast" },
	{ "239.255.255.250", "multicast" },
	{ "240.0.0.1", "reserved" },
	{ "255.255.255.255", "reserved" },
	/* IPv6 public */
	{ "2001:4860:4860::8888", NULL },
	{ "2606:4700::1111", NULL },
	{ "64:ff9b::808:808", NULL },		/* NAT64 of 8.8.8.8 */
	{ "2002:808:808::1", NULL },		/* 6to4 of 8.8.8.8 */
	{ "fec0::1", NULL },			/* outside fe80::/10 */
	{ "::1:0:0:0", NULL },
	/* IPv6 refused */
	{ "::", "unspecified" },
	{ "::1", "loopback" },
	{ "::7f00:1", "IPv4-compatible" },
	{ "::ffff:127.0.0.1", "IPv4-mapped" },
	{ "::ffff:8.8.8.8", "IPv4-mapped" },
	{ "fe80::1", "link-local" },
	{ "febf:ffff::1", "link-local" },
	{ "fc00::1", "unique local" },
	{ "fd12:3456::1", "unique local" },
	{ "ff02::1", "multicast" },
	{ "64:ff9b::7f00:1", "NAT64" },		/* 127.0.0.1 */
	{ "64:ff9b::a9fe:a9fe", "NAT64" },	/* 169.254.169.254 */
	{ "2002:a00:1::1", "6to4" },		/* 10.0.0.1 */
	{ "2002:c0a8:101::", "6to4" },		/* 192.168.1.1 */
};

static void
test_classify_table(void **state)
{
	struct sockaddr_storage ss;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(classify_cases); i++) {
		const struct classify_case *c = &classify_cases[i];
		const char *got = netpolicy_classify(make_addr(c->addr, &ss));

		if (c->range == NULL && got != NULL)
			fail_msg("%s: expected public, got \"%s\"", c->addr, got);
		if (c->range != NULL && got == NULL)
			fail_msg("%s: expected \"%s\", got public", c->addr,
			    c->range);
		if (c->range != NULL &&
		    strncmp(got, c->range, strlen(c->range)) != 0)
			fail_msg("%s: expected \"%s\", got \"%s\"", c->addr,
			    c->range, got);
	}
}

static void
test_classify_other_family(void **state)
{
	struct sockaddr sa;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_string_equal(netpolicy_classify(&sa), "not an IP address");
}

struct cidr_case {
	const char	*text;
	int		 ok;
	int		 family;
	unsigned	 prefix;
};

static const struct cidr_case cidr_cases[] = {
	{ "127.0.0.1/32", 1, AF_INET, 32 },
	{ "127.0.0.1", 1, AF_INET, 32 },
	{ "10.0.0.0/8", 1, AF_INET, 8 },
	{ "0.0.0.0/0", 1, AF_INET, 0 },
	{ "::1/128", 1, AF_INET6, 128 },
	{ "::1", 1, AF_INET6, 128 },
	{ "fd00::/8", 1, AF_INET6, 8 },
	{ "::/0", 1, AF_INET6, 0 },
	{ "10.0.0.1/8", 0, 0, 0 },		/* host bits set */
	{ "fd00::1/8", 0, 0, 0 },
	{ "10.0.0.0/33", 0, 0, 0 },
	{ "::/129", 0, 0, 0 },
	{ "10.0.0.0/", 0, 0, 0 },
	{ "10.0.0.0/-1", 0, 0, 0 },
	{ "10.0.0.0/8x", 0, 0, 0 },
	{ "10.0.0.0/0008", 0, 0, 0 },
	{ "10.0.0/8", 0, 0, 0 },
	{ "localhost", 0, 0, 0 },
	{ "/8", 0, 0, 0 },
	{ "", 0, 0, 0 },
};

static void
test_parse_cidr_table(void **state)
{
	struct netpolicy_cidr cidr;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(cidr_cases); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		int rc;

		err = NULL;
		rc = netpolicy_parse_cidr(c->text, strlen(c->text), &cidr, &err);
		if (c->ok && rc != 0)
			fail_msg("\"%s\": expected valid, got \"%s\"", c->text, err);
		if (!c->ok && rc == 0)
			fail_msg("\"%s\": expected invalid", c->text);
		if (!c->ok) {
			assert_non_null(err);
			continue;
		}
		assert_int_equal(cidr.family, c->family);
		assert_int_equal(cidr.prefix, c->prefix);
	}
}

static void
test_init_list(void **state)
{
	struct netpolicy policy;
	const char *bad = NULL, *err = NULL;
	size_t badlen = 0;

	(void)state;
	assert_int_equal(netpolicy_init(&policy, 0,
	    " 127.0.0.1/32, ::1/128,,10.1.0.0/16 ", &bad, &badlen, &err), 0);
	assert_int_equal(policy.ncidrs, 3);
	assert_int_equal(policy.cidrs[1].family, AF_INET6);

	assert_int_equal(netpolicy_init(&policy, 0, NULL, &bad, &badlen, &err), 0);
	assert_int_equal(policy.ncidrs, 0);
	assert_int_equal(netpolicy_init(&policy, 0, "", &bad, &badlen, &err), 0);
	assert_int_equal(policy.ncidrs, 0);
}

static void
test_init_names_bad_entry(void **state)
{
	struct netpolicy policy;
	const char *bad = NULL, *err = NULL;
	size_t badlen = 0;

	(void)state;
	assert_int_equal(netpolicy_init(&policy, 0,
	    "127.0.0.1/32 10.0.0.1/8,::1", &bad, &badlen, &err), -1);
	assert_non_null(bad);
	assert_int_equal(badlen, strlen("10.0.0.1/8"));
	assert_memory_equal(bad, "10.0.0.1/8", badlen);
	assert_non_null(err);
}

static void
test_init_too_many(void **state)
{
	struct netpolicy policy;
	const char *bad = NULL, *err = NULL;
	size_t badlen = 0, i;
	char text[NETPOLICY_MAX_CIDRS * 16 + 32] = "";

	(void)state;
	for (i = 0; i <= NETPOLICY_MAX_CIDRS; i++) {
		char one[16];

		snprintf(one, sizeof(one), "10.0.%zu.0/24 ", i);
		strcat(text, one);
	}
	assert_int_equal(netpolicy_init(&policy, 0, text, &bad, &badlen, &err), -1);
	assert_non_null(err);
}

static void
test_check_default_refuses(void **state)
{
	struct netpolicy policy;
	struct sockaddr_storage ss;
	const char *bad, *err;
	size_t badlen;

	(void)state;
	assert_int_equal(netpolicy_init(&policy, 0, NULL, &bad, &badlen, &err), 0);
	assert_null(netpolicy_check(&policy, make_addr("8.8.8.8", &ss)));
	assert_string_equal(netpolicy_check(&policy, make_addr("127.0.0.1", &ss)),
	    "loopback");
	assert_non_null(netpolicy_check(&policy, make_addr("::1", &ss)));
	assert_non_null(netpolicy_check(&policy, make_addr("169.254.169.254", &ss)));
}

static void
test_check_allow_private(void **state)
{
	struct netpolicy policy;
	struct sockaddr_storage ss;
	struct sockaddr other;
	const char *bad, *err;
	size_t badlen;

	(void)state;
	assert_int_equal(netpolicy_init(&policy, 1, NULL, &bad, &badlen, &err), 0);
	assert_null(netpolicy_check(&policy, make_addr("127.0.0.1", &ss)));
	assert_null(netpolicy_check(&policy, make_addr("fd00::1", &ss)));
	assert_null(netpolicy_check(&policy, make_addr("::ffff:10.0.0.1", &ss)));
	assert_null(netpolicy_check(&policy, make_addr("1.1.1.1", &ss)));

	/* allow_private covers IP addresses only. */
	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;
	assert_non_null(netpolicy_check(&policy, &other));
}

static void
test_check_allow_addresses(void **state)
{
	struct netpolicy policy;
	struct sockaddr_storage ss;
	const char *bad, *err;
	size_t badlen;

	(void)state;
	assert_int_equal(netpolicy_init(&policy, 0,
	    "127.0.0.1/32 10.20.0.0/14 fd00:1::/32", &bad, &badlen, &err), 0);
	assert_null(netpolicy_check(&policy, make_addr("127.0.0.1", &ss)));
	assert_non_null(netpolicy_check(&policy, make_addr("127.0.0.2", &ss)));
	assert_null(netpolicy_check(&policy, make_addr("10.20.0.0", &ss)));
	assert_null(netpolicy_check(&policy, make_addr("10.23.255.255", &ss)));
	assert_non_null(netpolicy_check(&policy, make_addr("10.24.0.0", &ss)));
	assert_null(netpolicy_check(&policy, make_addr("fd00:1:ffff::1", &ss)));
	assert_non_null(netpolicy_check(&policy, make_addr("fd00:2::1", &ss)));
	/* An IPv4 CIDR does not cover the IPv4-mapped IPv6 form. */
	assert_non_null(netpolicy_check(&policy, make_addr("::ffff:127.0.0.1", &ss)));
	assert_non_null(netpolicy_check(&policy, make_addr("::1", &ss)));
	/* Public addresses need no exception. */
	assert_null(netpolicy_check(&policy, make_addr("9.9.9.9", &ss)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_classify_other_family),
		cmocka_unit_test(test_parse_cidr_table),
		cmocka_unit_test(test_init_list),
		cmocka_unit_test(test_init_names_bad_entry),
		cmocka_unit_test(test_init_too_many),
		cmocka_unit_test(test_check_default_refuses),
		cmocka_unit_test(test_check_allow_private),
		cmocka_unit_test(test_check_allow_addresses),
	};

	return cmocka_run_group_tests_name("netpolicy", tests, NULL, NULL);
}
