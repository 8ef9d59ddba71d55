/* quantity.c — Kubernetes resource quantities ("100m", "64Mi", "1e3").
 *
 * A quantity is held exactly as a count of nano-units: Kubernetes rounds every
 * value up (away from zero) to 10⁻⁹, and its largest value is 2⁶³−1 units, so
 * nanos fit in a signed 128-bit integer with room to spare. Parsing works on
 * the digit string itself (no floating point), so "0.1" is exactly 100m and
 * "1.5Gi" exactly 1610612736. The canonical output follows Kubernetes'
 * CanonicalizeBytes: decimal values move to the largest SI suffix that keeps
 * an integer mantissa with an exponent that is a multiple of 3 ("1.5" →
 * "1500m"), binary values to the largest power of 1024 that divides them
 * ("1.5Gi" → "1536Mi"), falling back to decimal when they are not whole.
 *
 * One deliberate difference: Kubernetes silently caps values above 2⁶³−1; berth
 * refuses them, because a capped memory limit is not what the user wrote.
 */
#include "api/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;

#define NANO       1000000000LL
#define MAX_UNITS  INT64_MAX
#define MAX_DIGITS 256 /* longer inputs are refused: nobody writes them, and it bounds work */

static const char ERR_FORMAT[] = "quantities must match the regular expression "
                                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
static const char ERR_SUFFIX[] = "unable to parse quantity's suffix";

static i128 max_nanos(void)
{
  return (i128)MAX_UNITS * NANO;
}

static i128 to_nanos(const api_quantity_t *q)
{
  return (i128)q->units * NANO + q->nanos;
}

static api_quantity_t from_nanos(i128 n, api_qty_format_t format)
{
  api_quantity_t q = { (int64_t)(n / NANO), (int32_t)(n % NANO), format };
  return q;
}

/* Suffix → base and exponent. */
static bool interpret_suffix(const char *s, size_t n, int *base, int64_t *exp,
                             api_qty_format_t *format)
{
  static const struct {
    const char *s;
    int exp;
  } dec[] = { { "n", -9 }, { "u", -6 }, { "m", -3 }, { "", 0 },   { "k", 3 },
              { "M", 6 },  { "G", 9 },  { "T", 12 }, { "P", 15 }, { "E", 18 } },
    bin[] = { { "Ki", 10 }, { "Mi", 20 }, { "Gi", 30 }, { "Ti", 40 }, { "Pi", 50 }, { "Ei", 60 } };
  for (size_t i = 0; i < ARRAY_SIZE(dec); i++)
    if (strlen(dec[i].s) == n && memcmp(dec[i].s, s, n) == 0) {
      *base = 10, *exp = dec[i].exp, *format = API_QTY_DECIMAL_SI;
      return true;
    }
  for (size_t i = 0; i < ARRAY_SIZE(bin); i++)
    if (strlen(bin[i].s) == n && memcmp(bin[i].s, s, n) == 0) {
      *base = 2, *exp = bin[i].exp, *format = API_QTY_BINARY_SI;
      return true;
    }
  if (n > 1 && (s[0] == 'e' || s[0] == 'E')) {
    size_t i = 1;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-')
      neg = s[i++] == '-';
    if (i == n)
      return false;
    int64_t e = 0;
    for (; i < n; i++) {
      if (s[i] < '0' || s[i] > '9')
        return false;
      /* Past ±10000 the value is either out of range or rounds to 1n. */
      if (e < 100000)
        e = e * 10 + (s[i] - '0');
    }
    *base = 10, *exp = neg ? -e : e, *format = API_QTY_DECIMAL_EXPONENT;
    return true;
  }
  return false;
}

int api_quantity_parse(const char *s, api_quantity_t *q, berr_t *err)
{
  size_t len = strlen(s), pos = 0;
  if (len == 0)
    return berr_setc(err, EINVAL, "%s", ERR_FORMAT);
  bool negative = false;
  if (s[pos] == '+' || s[pos] == '-')
    negative = s[pos++] == '-';

  /* Mantissa: digits [. digits]; at least one digit somewhere. */
  size_t int_start = pos;
  while (pos < len && s[pos] >= '0' && s[pos] <= '9')
    pos++;
  size_t int_end = pos, frac_start = pos, frac_end = pos;
  if (pos < len && s[pos] == '.') {
    frac_start = ++pos;
    while (pos < len && s[pos] >= '0' && s[pos] <= '9')
      pos++;
    frac_end = pos;
  }
  if (int_end == int_start && frac_end == frac_start)
    return berr_setc(err, EINVAL, "%s", ERR_FORMAT);

  /* Suffix: letters from the set, then an optional signed integer (as
   * Kubernetes splits it), which must end the string. */
  size_t suf = pos;
  while (pos < len && strchr("eEinumkKMGTP", s[pos]))
    pos++;
  if (pos < len && (s[pos] == '+' || s[pos] == '-'))
    pos++;
  while (pos < len && s[pos] >= '0' && s[pos] <= '9')
    pos++;
  if (pos != len)
    return berr_setc(err, EINVAL, "%s", ERR_FORMAT);
  int base;
  int64_t exp;
  api_qty_format_t format;
  if (!interpret_suffix(s + suf, len - suf, &base, &exp, &format))
    return berr_setc(err, EINVAL, "%s", ERR_SUFFIX);

  /* Significant digits, leading zeros dropped; value = D·10^k·2^e nanos. */
  unsigned char digits[MAX_DIGITS + 32];
  size_t nd = 0;
  size_t frac_len = frac_end - frac_start;
  for (size_t i = int_start; i < frac_end; i++) {
    if (i == int_end)
      continue; /* the '.' */
    if (nd == 0 && s[i] == '0')
      continue;
    if (nd >= MAX_DIGITS)
      return berr_setc(err, EINVAL, "quantity has too many digits (at most %d)", MAX_DIGITS);
    digits[nd++] = (unsigned char)(s[i] - '0');
  }
  if (nd == 0) {
    *q = from_nanos(0, format);
    return 0;
  }
  int64_t k = 9 - (int64_t)frac_len + (base == 10 ? exp : 0);
  if (base == 2) {
    /* Multiply the decimal digit string by 2^exp (exp ≤ 60 adds ≤ 19 digits). */
    for (int64_t t = 0; t < exp; t++) {
      int carry = 0;
      for (size_t i = nd; i-- > 0;) {
        int d = digits[i] * 2 + carry;
        digits[i] = (unsigned char)(d % 10);
        carry = d / 10;
      }
      if (carry) {
        memmove(digits + 1, digits, nd);
        digits[0] = (unsigned char)carry;
        nd++;
      }
    }
  }

  /* nanos = ceil(D·10^k): the first nd+k digits, plus one if any digit
   * dropped below the nano is non-zero. */
  int64_t keep = (int64_t)nd + k;
  const i128 limit = max_nanos();
  const char *too_large = "quantity is too large: the maximum is 9223372036854775807";
  if (keep > 29)
    return berr_setc(err, ERANGE, "%s", too_large); /* ≥ 10^28 > limit */
  i128 n = 0;
  bool sticky = false;
  for (int64_t i = 0; i < (int64_t)nd; i++) {
    if (i < keep)
      n = n * 10 + digits[i];
    else if (digits[i])
      sticky = true;
  }
  for (int64_t i = (int64_t)nd; i < keep; i++)
    n *= 10;
  if (sticky)
    n += 1;
  if (n > limit)
    return berr_setc(err, ERANGE, "%s", too_large);
  *q = from_nanos(negative ? -n : n, format);
  return 0;
}

int api_quantity_from_json(json_t *v, api_quantity_t *q, berr_t *err)
{
  if (json_is_string(v)) {
    if (strlen(json_string_value(v)) != json_string_length(v))
      return berr_setc(err, EINVAL, "%s", ERR_FORMAT);
    return api_quantity_parse(json_string_value(v), q, err);
  }
  if (json_is_integer(v)) {
    char s[32];
    snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return api_quantity_parse(s, q, err);
  }
  if (json_is_real(v)) {
    /* jansson has lost the text; the shortest form that reads back as the
     * same double is what the user wrote ("0.5", not "0.50000000000000000"). */
    double d = json_real_value(v);
    if (!isfinite(d))
      return berr_setc(err, EINVAL, "%s", ERR_FORMAT);
    char s[64];
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(s, sizeof s, "%.*g", prec, d);
      if (strtod(s, NULL) == d)
        break;
    }
    return api_quantity_parse(s, q, err);
  }
  return berr_setc(err, EINVAL, "%s", ERR_FORMAT);
}

bool api_validate_quantity(api_errors_t *errs, const char *field, json_t *v, api_quantity_t *q)
{
  api_quantity_t tmp;
  berr_t err = BERR_INIT;
  if (api_quantity_from_json(v, q ? q : &tmp, &err) == 0)
    return true;
  api_errors_add(errs, API_FERR_INVALID, field, v, "%s", err.msg);
  berr_clear(&err);
  return false;
}

static void put_i128(buf_t *b, i128 v)
{
  char tmp[48];
  size_t i = sizeof tmp;
  tmp[--i] = '\0';
  bool neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)(-v) : (unsigned __int128)v;
  do {
    tmp[--i] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (neg)
    tmp[--i] = '-';
  buf_puts(b, tmp + i);
}

char *api_quantity_format(const api_quantity_t *q)
{
  i128 n = to_nanos(q);
  if (n == 0)
    return xstrdup("0");
  buf_t b = { 0 };
  api_qty_format_t format = q->format;
  if (format == API_QTY_BINARY_SI) {
    /* Small or fractional binary values read better in decimal. */
    i128 mag = n < 0 ? -n : n;
    if (mag < (i128)1024 * NANO || n % NANO != 0)
      format = API_QTY_DECIMAL_SI;
  }
  if (format == API_QTY_BINARY_SI) {
    static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int64_t v = (int64_t)(n / NANO);
    size_t times = 0;
    while (times + 1 < ARRAY_SIZE(bin) && v % 1024 == 0 && (v >= 1024 || v <= -1024)) {
      v /= 1024;
      times++;
    }
    buf_printf(&b, "%" PRId64 "%s", v, bin[times]);
    return buf_steal(&b);
  }
  /* Decimal: strip factors of ten, then lower the exponent to a multiple of 3. */
  i128 m = n;
  int exp = -9;
  while (m % 10 == 0) {
    m /= 10;
    exp++;
  }
  while (((exp % 3) + 3) % 3 != 0) {
    m *= 10;
    exp--;
  }
  put_i128(&b, m);
  if (format == API_QTY_DECIMAL_EXPONENT) {
    if (exp != 0)
      buf_printf(&b, "e%d", exp);
  } else {
    static const char *const dec[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };
    buf_puts(&b, dec[(exp + 9) / 3]);
  }
  return buf_steal(&b);
}

int api_quantity_cmp(const api_quantity_t *a, const api_quantity_t *b)
{
  i128 x = to_nanos(a), y = to_nanos(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

bool api_quantity_is_zero(const api_quantity_t *q)
{
  return q->units == 0 && q->nanos == 0;
}

/* n / div rounded away from zero, saturated to int64. */
static int64_t scaled(const api_quantity_t *q, int64_t div)
{
  i128 n = to_nanos(q);
  i128 r = n / div;
  if (n % div != 0)
    r += n < 0 ? -1 : 1;
  if (r > INT64_MAX)
    return INT64_MAX;
  if (r < INT64_MIN)
    return INT64_MIN;
  return (int64_t)r;
}

int64_t api_quantity_value(const api_quantity_t *q)
{
  return scaled(q, NANO);
}

int64_t api_quantity_milli(const api_quantity_t *q)
{
  return scaled(q, NANO / 1000);
}

api_quantity_t api_quantity_from_int(int64_t value, api_qty_format_t format)
{
  return from_nanos((i128)value * NANO, format);
}

api_quantity_t api_quantity_from_milli(int64_t milli, api_qty_format_t format)
{
  return from_nanos((i128)milli * (NANO / 1000), format);
}

static int add_nanos(api_quantity_t *sum, i128 delta, berr_t *err)
{
  i128 r = to_nanos(sum) + delta;
  if (r > max_nanos() || r < -max_nanos())
    return berr_setc(err, ERANGE, "quantity out of range");
  *sum = from_nanos(r, sum->format);
  return 0;
}

int api_quantity_add(api_quantity_t *sum, const api_quantity_t *q, berr_t *err)
{
  return add_nanos(sum, to_nanos(q), err);
}

int api_quantity_sub(api_quantity_t *diff, const api_quantity_t *q, berr_t *err)
{
  return add_nanos(diff, -to_nanos(q), err);
}
