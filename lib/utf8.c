/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and repair. */
#include "utf8.h"

#include <string.h>

/* Returns the length of the valid UTF-8 sequence at s, of at most len
 * bytes, or 0 when the bytes there are not one. */
static size_t
sequence_length(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned min;
	unsigned long cp;

	if (s[0] < 0x80)
		return s[0] != 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		min = 0x80;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		min = 0x800;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		min = 0x10000;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (len > 0) {
		if ((n = sequence_length(p, len)) == 0)
			return 0;
		p += n;
		len -= n;
	}
	return 1;
}

char *
utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), n;

	while (len > 0) {
		if ((n = sequence_length(p, len)) == 0) {
			*p = '?';
			n = 1;
		}
		p += n;
		len -= n;
	}
	return s;
}
