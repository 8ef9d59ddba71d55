/* err.c — the one error type: a message chain plus the errno of the root cause. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  return msg;
}

/* Replaces err's message (taking ownership of msg) and code; returns -1. */
static int set_msg(berr_t *err, int code, char *msg)
{
  free(err->msg);
  err->msg = msg;
  err->code = code;
  return -1;
}

int berr_set(berr_t *err, int errnum, const char *fmt, ...)
{
  if (!err)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  char *msg = vformat(fmt, ap);
  va_end(ap);
  if (errnum) {
    char *full = xasprintf("%s: %s", msg, strerror(errnum));
    free(msg);
    msg = full;
  }
  return set_msg(err, errnum, msg);
}

int berr_setc(berr_t *err, int code, const char *fmt, ...)
{
  if (!err)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  char *msg = vformat(fmt, ap);
  va_end(ap);
  return set_msg(err, code, msg);
}

int berr_wrap(berr_t *err, const char *fmt, ...)
{
  if (!err)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  char *ctx = vformat(fmt, ap);
  va_end(ap);
  char *msg = xasprintf("%s: %s", ctx, err->msg ? err->msg : "unknown error");
  free(ctx);
  free(err->msg);
  err->msg = msg;
  return -1;
}

void berr_clear(berr_t *err)
{
  if (!err)
    return;
  free(err->msg);
  err->msg = NULL;
  err->code = 0;
}

void berr_move(berr_t *dst, berr_t *src)
{
  if (dst && dst != src) {
    free(dst->msg);
    *dst = *src;
    *src = (berr_t)BERR_INIT;
  }
  berr_clear(src);
}

void berr_print(berr_t *err)
{
  fprintf(stderr, "berth: %s\n", err && err->msg ? err->msg : "unknown error");
  berr_clear(err);
}
