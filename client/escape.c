/* SPDX-License-Identifier: MIT */
/* Escaping of untrusted text, such as the daemon's responses, before it
 * reaches a terminal. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Decodes one UTF-8 sequence at s (len > 0 bytes) into *cp. Returns its
 * length, or 0 if it is not valid UTF-8 (overlong forms and surrogates
 * included). */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;

	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points above ASCII that a terminal could act on or that reorder or
 * break the text around them: C1 controls, bidirectional formatting and
 * the Unicode line and paragraph separators. */
static int
is_unsafe_code_point(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x61c || c == 0x200e ||
	    c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

size_t
ctl_escape(const char *s, size_t len, char *out, size_t outsize)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, total = 0, n;
	int cut = 0;
	char unit[16];
	uint32_t c;

	if (outsize > 0)
		out[0] = '\0';
	while (i < len) {
		n = utf8_decode(p + i, len - i, &c);
		if (n == 0) {
			snprintf(unit, sizeof(unit), "\\x%02X", p[i]);
			n = 1;
		} else if (c == '\\')
			strcpy(unit, "\\\\");
		else if (c == '\n')
			strcpy(unit, "\\n");
		else if (c == '\r')
			strcpy(unit, "\\r");
		else if (c == '\t')
			strcpy(unit, "\\t");
		else if (c < 0x20 || c == 0x7f)
			snprintf(unit, sizeof(unit), "\\x%02X", (unsigned)c);
		else if (is_unsafe_code_point(c))
			snprintf(unit, sizeof(unit), "\\u%04X", (unsigned)c);
		else {
			memcpy(unit, p + i, n);
			unit[n] = '\0';
		}
		i += n;

		n = strlen(unit);
		if (!cut && total + n < outsize)
			memcpy(out + total, unit, n + 1);
		else
			cut = 1;
		total += n;
	}
	return total;
}

const char *
ctl_show(const char *s, char out[CTL_SHOW_MAX])
{
	if (ctl_escape(s, strlen(s), out, CTL_SHOW_MAX - 3) >=
	    CTL_SHOW_MAX - 3)
		strcat(out, "...");
	return out;
}

char *
ctl_escape_alloc(const char *s, size_t len)
{
	size_t n = ctl_escape(s, len, NULL, 0);
	char *out = malloc(n + 1);

	if (out != NULL)
		ctl_escape(s, len, out, n + 1);
	return out;
}

size_t
ctl_text_width(const char *s)
{
	size_t width = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			width++;
	return width;
}
