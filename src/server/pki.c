/* pki.c — the server's credentials in DATA: a cluster CA (ca.crt, ca.key), a
 * serving certificate it signs for localhost, 127.0.0.1 and the hostname
 * (server.crt, server.key), an admin token, the node join token (node-token,
 * "K10<sha256 of ca.crt>::node:<secret>"), the key node credentials are
 * derived with (node-secret) and admin.kubeconfig for kubectl and berth. The
 * agents' serving certificates (srv_pki_issue, at registration) come from the
 * same make_cert as the server's.
 *
 * Certificates are made with GnuTLS's x509 API: libmicrohttpd needs GnuTLS
 * anyway, so this adds no library. Keys are ECDSA P-256 (fast to generate,
 * accepted by Go's TLS stack). Everything is written with fs_write_atomic,
 * secrets 0600; ca.crt is written last, so a start interrupted half-way
 * generates everything again instead of mixing two sets. */
#include "server/internal.h"
#include "net/mhd_dl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CA_DAYS          (10 * 365)
#define SERVER_CERT_DAYS (10 * 365)

static void random_bytes(unsigned char *b, size_t n)
{
  while (n > 0) {
    ssize_t r = getrandom(b, n, 0);
    if (r < 0)
      abort(); /* getrandom cannot fail on Linux >= 3.17 with these flags */
    b += r;
    n -= (size_t)r;
  }
}

static char *random_hex(size_t bytes)
{
  unsigned char raw[64];
  random_bytes(raw, bytes);
  buf_t b = { 0 };
  for (size_t i = 0; i < bytes; i++)
    buf_printf(&b, "%02x", raw[i]);
  return buf_steal(&b);
}

static int tls_fail(berr_t *err, int rc, const char *what)
{
  return berr_setc(err, EIO, "%s: %s", what, gnutls_strerror(rc));
}

#define TRY(call, what)                                                                            \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ < 0) {                                                                                 \
      tls_fail(err, rc_, what);                                                                    \
      goto out;                                                                                    \
    }                                                                                              \
  } while (0)

/* Exports a datum as a NUL-terminated heap string. */
static char *datum_str(gnutls_datum_t *d)
{
  char *s = xstrndup((const char *)d->data, d->size);
  net_mhd_fns()->gnutls_free_fn(d->data);
  return s;
}

/* What a certificate is for. */
typedef struct cert_spec {
  bool ca;          /* the cluster CA itself (self-signed) */
  int days;         /* validity */
  char *const *dns; /* DNS names (NULL-terminated), or NULL */
  char *const *ips; /* IP addresses as text, or NULL */
} cert_spec_t;

/* A new key and a certificate for it: self-signed when spec->ca, else a TLS
 * server certificate signed by (ca, ca_key). */
static int make_cert(const char *cn, gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key,
                     const cert_spec_t *spec, gnutls_x509_crt_t *crt_out,
                     gnutls_x509_privkey_t *key_out, berr_t *err)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t key = NULL;
  int ret = -1;
  TRY(gnutls_x509_privkey_init(&key), "init key");
  TRY(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
      "generate key");
  TRY(gnutls_x509_crt_init(&crt), "init certificate");
  unsigned char serial[16];
  random_bytes(serial, sizeof serial);
  serial[0] &= 0x7f; /* positive */
  time_t now = time(NULL);
  TRY(gnutls_x509_crt_set_version(crt, 3), "set version");
  TRY(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), "set serial");
  TRY(gnutls_x509_crt_set_activation_time(crt, now - 3600), "set activation");
  TRY(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)spec->days * 24 * 3600),
      "set expiration");
  TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)),
      "set name");
  TRY(gnutls_x509_crt_set_key(crt, key), "set key");
  if (spec->ca) {
    TRY(gnutls_x509_crt_set_basic_constraints(crt, 1, -1), "set constraints");
    TRY(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                               | GNUTLS_KEY_DIGITAL_SIGNATURE),
        "set usage");
    TRY(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "self-sign");
  } else {
    TRY(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "set constraints");
    TRY(gnutls_x509_crt_set_key_usage(crt,
                                      GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT),
        "set usage");
    TRY(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "set purpose");
    for (char *const *d = spec->dns; d && *d; d++)
      if (**d)
        TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, *d, strlen(*d),
                                                 GNUTLS_FSAN_APPEND),
            "set DNS name");
    for (char *const *ip = spec->ips; ip && *ip; ip++) {
      unsigned char raw[16];
      size_t n = 4;
      if (inet_pton(AF_INET, *ip, raw) != 1) {
        n = 16;
        if (inet_pton(AF_INET6, *ip, raw) != 1) {
          berr_setc(err, EINVAL, "\"%s\" is not an IP address", *ip);
          goto out;
        }
      }
      TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, raw, (unsigned)n,
                                               GNUTLS_FSAN_APPEND),
          "set IP address");
    }
    TRY(gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0), "sign");
  }
  *crt_out = steal_ptr(crt);
  *key_out = steal_ptr(key);
  ret = 0;
out:
  if (crt)
    gnutls_x509_crt_deinit(crt);
  if (key)
    gnutls_x509_privkey_deinit(key);
  return ret;
}

static int export_pair(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, char **crt_pem,
                       char **key_pem, berr_t *err)
{
  gnutls_datum_t d;
  int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
  if (rc < 0)
    return tls_fail(err, rc, "export certificate");
  *crt_pem = datum_str(&d);
  rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d);
  if (rc < 0)
    return tls_fail(err, rc, "export key");
  *key_pem = datum_str(&d);
  return 0;
}

static int write_file(const char *dir, const char *name, const char *data, mode_t mode, berr_t *err)
{
  cleanup_free char *p = path_join(dir, name);
  if (fs_write_atomic(p, data, strlen(data), mode, err) < 0)
    return berr_wrap(err, "write %s", p);
  return 0;
}

/* The server's own certificate: every name a client may dial it by. */
static int server_cert(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key, gnutls_x509_crt_t *crt,
                       gnutls_x509_privkey_t *key, berr_t *err)
{
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  char *dns[] = { "localhost", host, "kubernetes", "kubernetes.default", NULL };
  char *ips[] = { "127.0.0.1", NULL };
  cert_spec_t spec = { .days = SERVER_CERT_DAYS, .dns = dns, .ips = ips };
  return make_cert("berth-server", ca, ca_key, &spec, crt, key, err);
}

static int generate(const char *dir, berr_t *err)
{
  gnutls_x509_crt_t ca = NULL, srv = NULL;
  gnutls_x509_privkey_t ca_key = NULL, srv_key = NULL;
  cleanup_free char *ca_pem = NULL, *ca_key_pem = NULL, *srv_pem = NULL, *srv_key_pem = NULL;
  cleanup_free char *admin = random_hex(32);
  const cert_spec_t ca_spec = { .ca = true, .days = CA_DAYS };
  int ret = -1;
  if (make_cert("berth-ca", NULL, NULL, &ca_spec, &ca, &ca_key, err) < 0
      || server_cert(ca, ca_key, &srv, &srv_key, err) < 0
      || export_pair(ca, ca_key, &ca_pem, &ca_key_pem, err) < 0
      || export_pair(srv, srv_key, &srv_pem, &srv_key_pem, err) < 0)
    goto out;
  /* node-token and node-secret follow in srv_pki_prepare: the token pins
   * ca.crt, and a data directory from an older berth needs them too. */
  if (write_file(dir, "ca.key", ca_key_pem, 0600, err) < 0
      || write_file(dir, "server.key", srv_key_pem, 0600, err) < 0
      || write_file(dir, "server.crt", srv_pem, 0644, err) < 0
      || write_file(dir, "admin-token", admin, 0600, err) < 0
      || write_file(dir, "ca.crt", ca_pem, 0644, err) < 0)
    goto out;
  log_info("msg=\"generated cluster CA, serving certificate and tokens\" dir=%s", dir);
  ret = 0;
out:
  if (ca)
    gnutls_x509_crt_deinit(ca);
  if (srv)
    gnutls_x509_crt_deinit(srv);
  if (ca_key)
    gnutls_x509_privkey_deinit(ca_key);
  if (srv_key)
    gnutls_x509_privkey_deinit(srv_key);
  return ret;
}

int srv_pki_issue(srv_t *s, const char *cn, char *const *dns, char *const *ips, int days,
                  char **cert_pem, char **key_pem, berr_t *err)
{
  gnutls_x509_crt_t ca = NULL, crt = NULL;
  gnutls_x509_privkey_t ca_key = NULL, key = NULL;
  int ret = -1;
  if (!s->ca_pem || !s->ca_key_pem)
    return berr_setc(err, EINVAL, "no cluster CA loaded");
  gnutls_datum_t ca_d = { (unsigned char *)s->ca_pem, (unsigned)strlen(s->ca_pem) };
  gnutls_datum_t key_d = { (unsigned char *)s->ca_key_pem, (unsigned)strlen(s->ca_key_pem) };
  TRY(gnutls_x509_crt_init(&ca), "init CA");
  TRY(gnutls_x509_crt_import(ca, &ca_d, GNUTLS_X509_FMT_PEM), "read the CA certificate");
  TRY(gnutls_x509_privkey_init(&ca_key), "init CA key");
  TRY(gnutls_x509_privkey_import(ca_key, &key_d, GNUTLS_X509_FMT_PEM), "read the CA key");
  cert_spec_t spec = { .days = days, .dns = dns, .ips = ips };
  if (make_cert(cn, ca, ca_key, &spec, &crt, &key, err) < 0
      || export_pair(crt, key, cert_pem, key_pem, err) < 0)
    goto out;
  ret = 0;
out:
  if (ca)
    gnutls_x509_crt_deinit(ca);
  if (crt)
    gnutls_x509_crt_deinit(crt);
  if (ca_key)
    gnutls_x509_privkey_deinit(ca_key);
  if (key)
    gnutls_x509_privkey_deinit(key);
  if (ret < 0)
    berr_wrap(err, "issue a certificate for %s", cn);
  return ret;
}

/* Reads DATA/name. trim: drop trailing newlines and spaces (tokens); the
 * CA is kept byte for byte, since the join token pins its exact bytes. */
static int read_file(const char *dir, const char *name, bool trim, char **out, berr_t *err)
{
  cleanup_free char *p = path_join(dir, name);
  size_t len;
  if (fs_read_file(p, 1 << 20, out, &len, err) < 0)
    return berr_wrap(err, "read %s", p);
  while (trim && len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == ' '))
    (*out)[--len] = '\0';
  return 0;
}

/* DATA/node-secret: the HMAC key of node credentials, made once. */
static int prepare_node_secret(srv_t *s, const char *dir, berr_t *err)
{
  cleanup_free char *p = path_join(dir, "node-secret");
  if (!fs_exists(p)) {
    cleanup_free char *sec = random_hex(32);
    cleanup_free char *line = xasprintf("%s\n", sec);
    if (write_file(dir, "node-secret", line, 0600, err) < 0)
      return -1;
  }
  if (read_file(dir, "node-secret", true, &s->node_secret, err) < 0)
    return -1;
  if (strlen(s->node_secret) < 32)
    return berr_setc(err, EINVAL, "%s: too short to be a key (delete it to make a new one)", p);
  return 0;
}

/* DATA/node-token: "K10<sha256 of ca.crt>::node:<secret>". Made when missing,
 * and again when it has the old bare-hex shape or pins another CA. */
static int prepare_node_token(srv_t *s, const char *dir, berr_t *err)
{
  cleanup_free char *p = path_join(dir, "node-token");
  cleanup_free char *hash = srv_sha256_hex(s->ca_pem, strlen(s->ca_pem));
  if (fs_exists(p)) {
    if (read_file(dir, "node-token", true, &s->node_token, err) < 0)
      return -1;
    cleanup_free char *pinned = NULL;
    if (srv_join_token_parse(s->node_token, &pinned, NULL, NULL) == 0 && !strcmp(pinned, hash))
      return 0;
    free(steal_ptr(s->node_token));
    log_info("msg=\"replacing the join token: old format or another CA\" file=%s", p);
  }
  cleanup_free char *sec = random_hex(32);
  s->node_token = xasprintf("K10%s::node:%s", hash, sec);
  cleanup_free char *line = xasprintf("%s\n", s->node_token);
  return write_file(dir, "node-token", line, 0600, err);
}

static char *base64(const char *s)
{
  size_t n = strlen(s);
  char *out = xmalloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);
  base64_encode_raw(out, n, (const uint8_t *)s);
  out[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
  return out;
}

int srv_pki_prepare(srv_t *s, const char *dir, int port, berr_t *err)
{
  if (fs_mkdir_p(dir, 0700, err) < 0)
    return -1;
  s->data_dir = xstrdup(dir);
  cleanup_free char *ca_path = path_join(dir, "ca.crt");
  if (!fs_exists(ca_path) && generate(dir, err) < 0)
    return berr_wrap(err, "prepare %s", dir);
  if (read_file(dir, "ca.crt", false, &s->ca_pem, err) < 0
      || read_file(dir, "ca.key", false, &s->ca_key_pem, err) < 0
      || read_file(dir, "server.crt", true, &s->cert_pem, err) < 0
      || read_file(dir, "server.key", true, &s->key_pem, err) < 0
      || read_file(dir, "admin-token", true, &s->admin_token, err) < 0
      || prepare_node_secret(s, dir, err) < 0 || prepare_node_token(s, dir, err) < 0)
    return -1;
  cleanup_free char *ca64 = base64(s->ca_pem);
  cleanup_free char *kc = srv_kubeconfig(port, ca64, s->admin_token);
  return write_file(dir, "admin.kubeconfig", kc, 0600, err);
}
