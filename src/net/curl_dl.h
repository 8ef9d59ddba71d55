/* curl_dl.h — libcurl (the GnuTLS build), loaded with dlopen() the first
 * time a client talks to a server (client.h).
 *
 * Same reason and same pattern as mhd_dl.h and src/image/archive_dl.h:
 * libcurl pulls GnuTLS, nghttp2, libssh2, librtmp, LDAP… and only the
 * commands that talk to a server need them, so berth does not link it and
 * `berth version` keeps its start time. Call sites are written against the
 * real <curl/curl.h>; each function used is a macro for a member of a table
 * filled on first use, typed from the real prototypes (curl_easy_setopt and
 * curl_easy_getinfo are variadic; __typeof__ keeps that). A function missing
 * from NET_CURL_FUNCS compiles but does not link: add it there and give it a
 * define below.
 *
 * curl's compile-time option type checks (typecheck-gcc.h) are macros named
 * like the functions, so they are switched off here: pass longs as 1L and
 * curl_off_t where an option wants one.
 *
 * libcurl is a hard dependency of the client: when it cannot be loaded the
 * install is broken and berth aborts with a message naming the package. */
#ifndef BERTH_NET_CURL_DL_H
#define BERTH_NET_CURL_DL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#define NET_CURL_SONAME  "libcurl-gnutls.so.4"
#define NET_CURL_PACKAGE "libcurl3-gnutls"

#define NET_CURL_FUNCS(X)                                                                          \
  X(curl_easy_cleanup)                                                                             \
  X(curl_easy_getinfo)                                                                             \
  X(curl_easy_init)                                                                                \
  X(curl_easy_perform)                                                                             \
  X(curl_easy_recv)                                                                                \
  X(curl_easy_reset)                                                                               \
  X(curl_easy_send)                                                                                \
  X(curl_easy_setopt)                                                                              \
  X(curl_easy_strerror)                                                                            \
  X(curl_global_init)                                                                              \
  X(curl_multi_add_handle)                                                                         \
  X(curl_multi_cleanup)                                                                            \
  X(curl_multi_info_read)                                                                          \
  X(curl_multi_init)                                                                               \
  X(curl_multi_perform)                                                                            \
  X(curl_multi_poll)                                                                               \
  X(curl_multi_remove_handle)                                                                      \
  X(curl_multi_wakeup)                                                                             \
  X(curl_slist_append)                                                                             \
  X(curl_slist_free_all)

struct net_curl_fns {
#define NET_CURL_MEMBER(f) __typeof__(&f) f;
  NET_CURL_FUNCS(NET_CURL_MEMBER)
#undef NET_CURL_MEMBER
};

/* Loads libcurl and runs curl_global_init on the first call (thread-safe);
 * aborts if it cannot. */
const struct net_curl_fns *net_curl_fns(void);

#ifndef NET_CURL_NO_MACROS
/* curl.h's own three-argument guards, named like the functions. */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#define curl_easy_cleanup        (net_curl_fns()->curl_easy_cleanup)
#define curl_easy_getinfo        (net_curl_fns()->curl_easy_getinfo)
#define curl_easy_init           (net_curl_fns()->curl_easy_init)
#define curl_easy_perform        (net_curl_fns()->curl_easy_perform)
#define curl_easy_recv           (net_curl_fns()->curl_easy_recv)
#define curl_easy_reset          (net_curl_fns()->curl_easy_reset)
#define curl_easy_send           (net_curl_fns()->curl_easy_send)
#define curl_easy_setopt         (net_curl_fns()->curl_easy_setopt)
#define curl_easy_strerror       (net_curl_fns()->curl_easy_strerror)
#define curl_global_init         (net_curl_fns()->curl_global_init)
#define curl_multi_add_handle    (net_curl_fns()->curl_multi_add_handle)
#define curl_multi_cleanup       (net_curl_fns()->curl_multi_cleanup)
#define curl_multi_info_read     (net_curl_fns()->curl_multi_info_read)
#define curl_multi_init          (net_curl_fns()->curl_multi_init)
#define curl_multi_perform       (net_curl_fns()->curl_multi_perform)
#define curl_multi_poll          (net_curl_fns()->curl_multi_poll)
#define curl_multi_remove_handle (net_curl_fns()->curl_multi_remove_handle)
#define curl_multi_wakeup        (net_curl_fns()->curl_multi_wakeup)
#define curl_slist_append        (net_curl_fns()->curl_slist_append)
#define curl_slist_free_all      (net_curl_fns()->curl_slist_free_all)
#endif

#endif
