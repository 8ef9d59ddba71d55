/* ref.c — image references, after docker's distribution/reference grammar.
 * Names are stored in their familiar form ("busybox:latest", "user/app:1",
 * "quay.io/x/y:2"), so that "busybox", "busybox:latest" and
 * "docker.io/library/busybox:latest" are one name. */
#include "image/internal.h"

#include <ctype.h>
#include <string.h>

#define DEFAULT_DOMAIN "docker.io"

static bool alnum_lower(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | "__" | "-"+ */
static bool path_component_valid(const char *s, size_t n)
{
  size_t i = 0;
  if (n == 0 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
    return false;
  while (i < n) {
    if (alnum_lower(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    if (s[i] == '.') {
      j++;
    } else if (s[i] == '_') {
      j++;
      if (j < n && s[j] == '_')
        j++;
    } else if (s[i] == '-') {
      while (j < n && s[j] == '-')
        j++;
    } else {
      return false;
    }
    if (j >= n || !alnum_lower(s[j]))
      return false;
    i = j;
  }
  return true;
}

/* host[:port], host := label(.label)*, label := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static bool domain_valid(const char *s, size_t n)
{
  const char *colon = memchr(s, ':', n);
  size_t hn = colon ? (size_t)(colon - s) : n;
  if (hn == 0)
    return false;
  size_t start = 0;
  for (size_t i = 0; i <= hn; i++) {
    if (i < hn && s[i] != '.') {
      if (!isalnum((unsigned char)s[i]) && s[i] != '-')
        return false;
      continue;
    }
    if (i == start || s[start] == '-' || s[i - 1] == '-')
      return false;
    start = i + 1;
  }
  if (colon) {
    size_t pn = n - hn - 1;
    if (pn == 0 || pn > 5)
      return false;
    for (size_t i = hn + 1; i < n; i++)
      if (!isdigit((unsigned char)s[i]))
        return false;
  }
  return true;
}

static bool tag_valid(const char *t)
{
  size_t n = strlen(t);
  if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static bool has_upper(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (isupper((unsigned char)s[i]))
      return true;
  return false;
}

int img_ref_normalize(const char *ref, char **out, berr_t *err)
{
  if (!ref || !*ref)
    return berr_set(err, 0, "invalid reference format: empty name");
  if (strchr(ref, '@'))
    return berr_set(err, 0, "invalid reference format: %s: digest references are not supported",
                    ref);
  if (strlen(ref) > 512)
    return berr_set(err, 0, "invalid reference format: name longer than 255 characters");

  /* The tag follows the last ':' that comes after the last '/'. */
  const char *slash = strrchr(ref, '/');
  const char *colon = strrchr(ref, ':');
  size_t name_len = strlen(ref);
  const char *tag = "latest";
  if (colon && (!slash || colon > slash)) {
    name_len = (size_t)(colon - ref);
    tag = colon + 1;
    if (!tag_valid(tag))
      return berr_set(err, 0, "invalid reference format: %s: bad tag \"%s\"", ref, tag);
  }
  if (name_len == 0)
    return berr_set(err, 0, "invalid reference format: %s", ref);

  /* Domain: the first component when it looks like a host name. */
  const char *name = ref;
  const char *first_slash = memchr(name, '/', name_len);
  cleanup_free char *domain = NULL;
  if (first_slash) {
    size_t dn = (size_t)(first_slash - name);
    bool is_domain = memchr(name, '.', dn) || memchr(name, ':', dn)
                     || (dn == 9 && !strncmp(name, "localhost", 9)) || has_upper(name, dn);
    if (is_domain) {
      if (!domain_valid(name, dn))
        return berr_set(err, 0, "invalid reference format: %s: bad registry \"%.*s\"", ref, (int)dn,
                        name);
      domain = xstrndup(name, dn);
      name += dn + 1;
      name_len -= dn + 1;
    }
  }
  if (domain && (!strcmp(domain, "index.docker.io") || !strcmp(domain, "registry-1.docker.io"))) {
    free(domain);
    domain = xstrdup(DEFAULT_DOMAIN);
  }
  if (name_len == 0)
    return berr_set(err, 0, "invalid reference format: %s", ref);
  if (has_upper(name, name_len))
    return berr_set(err, 0, "invalid reference format: %s: repository name must be lowercase", ref);
  for (size_t i = 0; i < name_len;) {
    const char *e = memchr(name + i, '/', name_len - i);
    size_t cn = e ? (size_t)(e - (name + i)) : name_len - i;
    if (!path_component_valid(name + i, cn))
      return berr_set(err, 0, "invalid reference format: %s", ref);
    i += cn + 1;
    if (e && i == name_len)
      return berr_set(err, 0, "invalid reference format: %s", ref);
  }

  /* Familiar form: docker.io and docker.io/library are implied. */
  bool docker_hub = !domain || !strcmp(domain, DEFAULT_DOMAIN);
  if (docker_hub && name_len > 8 && !strncmp(name, "library/", 8)
      && !memchr(name + 8, '/', name_len - 8)) {
    name += 8;
    name_len -= 8;
  }
  if (docker_hub)
    *out = xasprintf("%.*s:%s", (int)name_len, name, tag);
  else
    *out = xasprintf("%s/%.*s:%s", domain, (int)name_len, name, tag);
  if (strlen(*out) - strlen(tag) - 1 > 255) {
    free(*out);
    *out = NULL;
    return berr_set(err, 0, "invalid reference format: name longer than 255 characters");
  }
  return 0;
}

char *img_ref_qualify(const char *n)
{
  const char *slash = strchr(n, '/');
  if (!slash)
    return xasprintf(DEFAULT_DOMAIN "/library/%s", n);
  size_t dn = (size_t)(slash - n);
  if (memchr(n, '.', dn) || memchr(n, ':', dn) || (dn == 9 && !strncmp(n, "localhost", 9)))
    return xstrdup(n);
  return xasprintf(DEFAULT_DOMAIN "/%s", n);
}
