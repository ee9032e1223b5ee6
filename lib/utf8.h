/* SPDX-License-Identifier: MIT */
/* UTF-8 validation, for text that must go into JSON: jansson refuses to
 * build a string from invalid UTF-8. */
#ifndef HASHGATE_UTF8_H
#define HASHGATE_UTF8_H

#include <stddef.h>

/* Tells whether the len bytes at s are valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF) without a NUL byte. */
int utf8_valid(const char *s, size_t len);

/* Replaces, in the NUL-terminated string s, every byte that is not part of
 * a valid UTF-8 sequence with '?'. A character cut off at the end of s is
 * replaced too. Returns s. */
char *utf8_sanitize(char *s);

#endif
