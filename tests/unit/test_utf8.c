/* SPDX-License-Identifier: MIT */
/* Tests of UTF-8 validation and repair, with valid text, every kind of
 * invalid sequence, and characters cut short. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static void
test_valid(void **state)
{
	static const char *const valid[] = {
		"", "plain ASCII", "caf\xc3\xa9", "\xe2\x82\xac 5",
		"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
	};
	size_t i;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		assert_true(utf8_valid(valid[i], strlen(valid[i])));
}

/* Each input and its repair: bad bytes become '?'. */
static const struct {
	const char	*input;
	const char	*repaired;
} invalid[] = {
	{ "\xff", "?" },
	{ "a\xfe" "b", "a?b" },
	{ "\xc3", "?" },			/* cut short at the end */
	{ "\xc3(", "?(" },			/* bad continuation byte */
	{ "\x80", "?" },			/* stray continuation byte */
	{ "\xc0\xaf", "??" },			/* overlong '/' */
	{ "\xe0\x80\xaf", "???" },		/* overlong, three bytes */
	{ "\xed\xa0\x80", "???" },		/* surrogate U+D800 */
	{ "\xf4\x90\x80\x80", "????" },	/* past U+10FFFF */
	{ "\xf5\x80\x80\x80", "????" },
	{ "ok \xe2\x82", "ok ??" },		/* euro sign cut short */
	{ "\xe2\x82\xac\xff\xe2\x82\xac", "\xe2\x82\xac?\xe2\x82\xac" },
};

static void
test_invalid(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char *copy = strdup(invalid[i].input);

		assert_non_null(copy);
		assert_false(utf8_valid(invalid[i].input, strlen(invalid[i].input)));
		assert_string_equal(utf8_sanitize(copy), invalid[i].repaired);
		assert_true(utf8_valid(copy, strlen(copy)));
		free(copy);
	}
}

static void
test_nul_is_invalid(void **state)
{
	assert_false(utf8_valid("a\0b", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_nul_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
