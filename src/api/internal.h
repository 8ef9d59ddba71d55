/* internal.h — helpers shared by the files of src/api/, not part of its API. */
#ifndef BERTH_API_INTERNAL_H
#define BERTH_API_INTERNAL_H

#include "api/api.h"

/* JSON equality where 1 and 1.0 are the same number (RFC 6902 "test", merge
 * keys), recursively. */
bool api_json_equal(json_t *a, json_t *b);

/* True when s[0..n) is valid UTF-8 without NUL bytes. */
bool api_utf8_valid(const char *s, size_t n);

#endif
