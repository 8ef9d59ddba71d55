/* test_api_pb_util.h — what the protobuf tests share: kubectl's exact body
 * for `kubectl create namespace x` and a hex decoder for such vectors. */
#ifndef BERTH_TEST_API_PB_UTIL_H
#define BERTH_TEST_API_PB_UTIL_H

#include <stdio.h>
#include <string.h>

/* `kubectl create namespace x` (kubectl 1.32), from notes/kubectl-wire.md */
static const char NS_HEX[]
    = "6b3873000a0f0a02763112094e616d65737061636512190a110a017812001a0022002a"
      "0032003800420012001a020a001a002200";

static inline size_t unhex(const char *hex, unsigned char *out)
{
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (unsigned char)v;
  }
  return n;
}

#endif
