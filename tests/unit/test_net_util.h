/* test_net_util.h — what the HTTPS client's tests share (test_net_client.c,
 * test_net_client_berth.c): a temporary directory, files in it, a loopback
 * listener on a free port, and a self-signed certificate made with GnuTLS. */
#ifndef BERTH_TEST_NET_UTIL_H
#define BERTH_TEST_NET_UTIL_H

#include "base/base.h"
#include "net/mhd_dl.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static inline char *tmpdir(void)
{
  char t[] = "/tmp/berth-net-XXXXXX";
  cr_assert_not_null(mkdtemp(t));
  return xstrdup(t);
}

static inline void write_file(const char *dir, const char *name, const char *text)
{
  char *p = path_join(dir, name);
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_write_atomic(p, text, strlen(text), 0600, &err), 0, "%s", err.msg);
  free(p);
}

/* A loopback TCP listener on a free port. */
static inline int listen_any(int *port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  cr_assert_eq(listen(fd, 64), 0);
  socklen_t sl = sizeof sin;
  getsockname(fd, (struct sockaddr *)&sin, &sl);
  *port = ntohs(sin.sin_port);
  return fd;
}

static inline char *datum_str(gnutls_datum_t *d)
{
  char *s = xstrndup((const char *)d->data, d->size);
  net_mhd_fns()->gnutls_free_fn(d->data);
  return s;
}

/* A self-signed ECDSA certificate for 127.0.0.1 and localhost: the server's
 * certificate and, in the kubeconfig, its own CA. */
static inline void make_cert(char **cert_pem, char **key_pem)
{
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  cr_assert_eq(gnutls_x509_privkey_init(&key), 0);
  cr_assert_eq(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
               0);
  cr_assert_eq(gnutls_x509_crt_init(&crt), 0);
  unsigned char serial[8];
  for (size_t i = 0; i < sizeof serial; i++)
    serial[i] = (unsigned char)(rand() & 0x7f);
  time_t now = time(NULL);
  const unsigned char lo[4] = { 127, 0, 0, 1 };
  int rc = gnutls_x509_crt_set_version(crt, 3);
  rc |= gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
  rc |= gnutls_x509_crt_set_activation_time(crt, now - 3600);
  rc |= gnutls_x509_crt_set_expiration_time(crt, now + 86400);
  rc |= gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "kc-test", 7);
  rc |= gnutls_x509_crt_set_key(crt, key);
  rc |= gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
  rc |= gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_DIGITAL_SIGNATURE);
  rc |= gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                             GNUTLS_FSAN_APPEND);
  rc |= gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, lo, 4, GNUTLS_FSAN_APPEND);
  rc |= gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
  cr_assert_eq(rc, 0);
  gnutls_datum_t d;
  cr_assert_eq(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d), 0);
  *cert_pem = datum_str(&d);
  cr_assert_eq(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d), 0);
  *key_pem = datum_str(&d);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
}

#endif
