/* digest.c — sha256 over nettle and the "sha256:<hex>" digest strings that
 * name blobs. Digests arrive from untrusted manifests and become file names,
 * so img_digest_valid() is the gate every one of them passes through.
 *
 * nettle rather than OpenSSL's libcrypto: every berth invocation pays for
 * loading the libraries it links, and libcrypto alone added 0.6 ms (an empty
 * main(): 0.5 ms, 1.1 ms linked with libcrypto). nettle is small and is
 * libarchive's own hash library. */
#include "image/internal.h"

#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

struct img_hash {
  struct sha256_ctx ctx;
};

img_hash *img_hash_new(void)
{
  img_hash *h = xmalloc(sizeof *h);
  sha256_init(&h->ctx);
  return h;
}

void img_hash_update(img_hash *h, const void *data, size_t len)
{
  if (len) /* data may be NULL then */
    sha256_update(&h->ctx, len, data);
}

char *img_hash_final(img_hash *h)
{
  uint8_t md[SHA256_DIGEST_SIZE];
  const size_t n = sizeof md;
  sha256_digest(&h->ctx, n, md);
  static const char hex[] = "0123456789abcdef";
  char *out = xmalloc(7 + 2 * n + 1);
  memcpy(out, "sha256:", 7);
  for (size_t i = 0; i < n; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[7 + 2 * i + 1] = hex[md[i] & 15];
  }
  out[7 + 2 * n] = '\0';
  return out;
}

void img_hash_free(img_hash *h)
{
  free(h);
}

void cleanup_hashp(img_hash **h)
{
  img_hash_free(*h);
}

char *img_sha256(const void *data, size_t len)
{
  cleanup_hash img_hash *h = img_hash_new();
  img_hash_update(h, data, len);
  return img_hash_final(h);
}

bool img_digest_valid(const char *d)
{
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int img_digest_check(const char *d, berr_t *err)
{
  if (img_digest_valid(d))
    return 0;
  if (!d)
    return berr_set(err, 0, "missing digest");
  const char *colon = strchr(d, ':');
  if (colon && colon != d && strncmp(d, "sha256:", 7) != 0)
    return berr_set(err, 0, "unsupported digest algorithm %.*s (in %s)", (int)(colon - d), d, d);
  return berr_set(err, 0, "invalid digest \"%s\"", d);
}

const char *img_digest_hex(const char *d)
{
  return d + 7;
}
