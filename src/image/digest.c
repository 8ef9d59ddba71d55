/* digest.c — sha256 over libcrypto and the "sha256:<hex>" digest strings that
 * name blobs. Digests arrive from untrusted manifests and become file names,
 * so img_digest_valid() is the gate every one of them passes through. */
#include "image/internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct img_hash {
  EVP_MD_CTX *ctx;
};

img_hash *
img_hash_new(void)
{
  img_hash *h = xcalloc(1, sizeof *h);
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
    abort(); /* only fails on out-of-memory */
  return h;
}

void
img_hash_update(img_hash *h, const void *data, size_t len)
{
  if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
    abort();
}

char *
img_hash_final(img_hash *h)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1)
    abort();
  static const char hex[] = "0123456789abcdef";
  char *out = xmalloc(7 + 2 * n + 1);
  memcpy(out, "sha256:", 7);
  for (unsigned i = 0; i < n; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[7 + 2 * i + 1] = hex[md[i] & 15];
  }
  out[7 + 2 * n] = '\0';
  return out;
}

void
img_hash_free(img_hash *h)
{
  if (!h)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

void
cleanup_hashp(img_hash **h)
{
  img_hash_free(*h);
}

char *
img_sha256(const void *data, size_t len)
{
  cleanup_hash img_hash *h = img_hash_new();
  img_hash_update(h, data, len);
  return img_hash_final(h);
}

bool
img_digest_valid(const char *d)
{
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int
img_digest_check(const char *d, berr_t *err)
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

const char *
img_digest_hex(const char *d)
{
  return d + 7;
}
