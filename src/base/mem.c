/* mem.c — allocation that aborts on exhaustion, strings, string vectors and
 * growable buffers. Out-of-memory is not an error berth tries to survive. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *oom(void)
{
  static const char m[] = "berth: out of memory\n";
  (void)!write(2, m, sizeof m - 1);
  abort();
}

void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  return p ? p : oom();
}

void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  return q ? q : oom();
}

char *xstrdup(const char *s)
{
  char *p = strdup(s ? s : "");
  return p ? p : oom();
}

char *xstrndup(const char *s, size_t n)
{
  char *p = strndup(s, n);
  return p ? p : oom();
}

char *xvasprintf(const char *fmt, va_list ap)
{
  char *s = NULL;
  return vasprintf(&s, fmt, ap) < 0 ? oom() : s;
}

char *xasprintf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int r = vasprintf(&s, fmt, ap);
  va_end(ap);
  return r < 0 ? oom() : s;
}

bool str_has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t strv_len(char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void strv_free(char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

char **strv_dup(char *const *v)
{
  size_t n = strv_len(v);
  char **r = xcalloc(n + 1, sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup(v[i]);
  return r;
}

void strv_push(char ***v, const char *s)
{
  size_t n = strv_len(*v);
  *v = xrealloc(*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup(s);
  (*v)[n + 1] = NULL;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **v)
{
  size_t n = strv_len(v);
  if (n > 1)
    qsort(v, n, sizeof *v, cmp_str);
}

void strv_sort_unique(char **v)
{
  size_t n = strv_len(v), out = 0;
  strv_sort(v);
  for (size_t i = 0; i < n; i++) {
    if (out > 0 && strcmp(v[out - 1], v[i]) == 0)
      free(v[i]);
    else
      v[out++] = v[i];
  }
  if (v)
    v[out] = NULL;
}

void buf_append(buf_t *b, const void *data, size_t len)
{
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + len + 1)
      cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
  }
  if (len)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void buf_puts(buf_t *b, const char *s)
{
  buf_append(b, s, strlen(s));
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0)
    oom();
  buf_append(b, s, (size_t)n);
  free(s);
}

void buf_free(buf_t *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *buf_steal(buf_t *b)
{
  char *s = b->data ? b->data : xstrdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

void cleanup_freep(void *p)
{
  free(*(void **)p);
}

void cleanup_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

void cleanup_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

void cleanup_closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

void cleanup_jsonp(json_t **j)
{
  json_decref(*j);
}

void cleanup_strvp(char ***v)
{
  strv_free(*v);
}
