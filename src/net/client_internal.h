/* client_internal.h — what client.c (requests) and client_ws.c (raw and
 * WebSocket connections) share: the client struct and the curl setup and
 * error mapping both use. Not for other modules (use client.h). */
#ifndef BERTH_NET_CLIENT_INTERNAL_H
#define BERTH_NET_CLIENT_INTERNAL_H

#include "net/client.h"
#include "net/curl_dl.h"

struct kc {
  kc_config_t cfg;
  char *hostport; /* "127.0.0.1:6443": the Host header of raw requests */
  char *prefix;   /* the server URL's path ("" or "/k8s"), put before every path */
  long timeout_ms;
  CURL *h;       /* the keep-alive handle, made on first use */
  int ca_fd;     /* a memfd holding ca_pem when curl cannot take it from memory, or -1 */
  char *ca_path; /* "/proc/self/fd/N" for ca_fd */
};

/* Sets what every connection of c needs on h: TLS verification against
 * c's CA (or none when insecure), HTTP/1.1, no signals, keep-alive probes,
 * errbuf (CURL_ERROR_SIZE bytes) for curl's detailed messages, set only on
 * success: the caller unsets it (CURLOPT_ERRORBUFFER NULL) after the
 * transfer, before errbuf goes out of scope. */
int kc_setup_handle(kc_t *c, CURL *h, char *errbuf, berr_t *err);

/* Turns a failed transfer into err: "get https://…/path: Connection
 * refused" with code ECONNREFUSED, ETIMEDOUT, EPROTO (TLS and protocol),
 * ECONNRESET or EIO. */
int kc_curl_fail(berr_t *err, CURL *h, CURLcode rc, const char *errbuf, const char *method,
                 const char *url);

#endif
