/* hash.c — the non-cryptographic hashes the hash tables use: FNV-1a over
 * bytes (cheap, and stable across versions: berth also names things with
 * it — a pod's host-side interface, a cached seccomp program — so its
 * values must never change) and a 64-bit finalizer for keys that are
 * already numbers or sums of hashes. */
#include "base/base.h"

#include <string.h>

uint64_t hash_fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 0x100000001b3ULL;
  return h;
}

uint64_t hash_str(const char *s)
{
  return hash_fnv(HASH_FNV_BASIS, s, strlen(s));
}

uint64_t hash_mix(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}
