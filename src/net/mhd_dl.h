/* mhd_dl.h — libmicrohttpd and the GnuTLS x509 calls (the server and the agent), loaded with
 * dlopen() the first time `berth server` needs them.
 *
 * Same reason and same pattern as src/image/archive_dl.h: libmicrohttpd
 * links GnuTLS, which drags in nettle, hogweed, gmp, p11-kit, libtasn1,
 * libidn2, libunistring… Every berth invocation would pay to load them while
 * only the server uses them, so berth links neither and `berth version`
 * stays at its sub-millisecond start. Call sites are written against the real
 * headers; each function used is a macro for a member of a table filled on
 * first use, typed from the real prototypes. A function missing from the
 * lists compiles but does not link: add it here.
 *
 * Both are hard dependencies of the server: when they cannot be loaded the
 * install is broken and berth aborts with a message naming the package. */
#ifndef BERTH_NET_MHD_DL_H
#define BERTH_NET_MHD_DL_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#define NET_MHD_SONAME    "libmicrohttpd.so.12"
#define NET_GNUTLS_SONAME "libgnutls.so.30"

#define NET_MHD_FUNCS(X)                                                                           \
  X(MHD_add_response_header)                                                                       \
  X(MHD_create_response_from_buffer)                                                               \
  X(MHD_create_response_from_callback)                                                             \
  X(MHD_create_response_for_upgrade)                                                               \
  X(MHD_destroy_response)                                                                          \
  X(MHD_get_connection_info)                                                                       \
  X(MHD_get_connection_values)                                                                     \
  X(MHD_lookup_connection_value)                                                                   \
  X(MHD_queue_response)                                                                            \
  X(MHD_start_daemon)                                                                              \
  X(MHD_stop_daemon)                                                                               \
  X(MHD_upgrade_action)

#define NET_GNUTLS_FUNCS(X)                                                                        \
  X(gnutls_strerror)                                                                               \
  X(gnutls_x509_crt_deinit)                                                                        \
  X(gnutls_x509_crt_export2)                                                                       \
  X(gnutls_x509_crt_import)                                                                        \
  X(gnutls_x509_crt_init)                                                                          \
  X(gnutls_x509_crt_set_activation_time)                                                           \
  X(gnutls_x509_crt_set_basic_constraints)                                                         \
  X(gnutls_x509_crt_set_dn_by_oid)                                                                 \
  X(gnutls_x509_crt_set_expiration_time)                                                           \
  X(gnutls_x509_crt_set_key)                                                                       \
  X(gnutls_x509_crt_set_key_purpose_oid)                                                           \
  X(gnutls_x509_crt_set_key_usage)                                                                 \
  X(gnutls_x509_crt_set_serial)                                                                    \
  X(gnutls_x509_crt_set_subject_alt_name)                                                          \
  X(gnutls_x509_crt_set_version)                                                                   \
  X(gnutls_x509_crt_sign2)                                                                         \
  X(gnutls_x509_privkey_deinit)                                                                    \
  X(gnutls_x509_privkey_export2)                                                                   \
  X(gnutls_x509_privkey_generate)                                                                  \
  X(gnutls_x509_privkey_import)                                                                    \
  X(gnutls_x509_privkey_init)

struct net_mhd_fns {
#define NET_DL_MEMBER(f) __typeof__(&f) f;
  NET_MHD_FUNCS(NET_DL_MEMBER)
  NET_GNUTLS_FUNCS(NET_DL_MEMBER)
#undef NET_DL_MEMBER
  /* gnutls_free is a variable holding a function pointer, not a function. */
  gnutls_free_function gnutls_free_fn;
};

/* An MHD_OPTION_EXTERNAL_LOGGER that logs one debug line per message;
 * its argument is a prefix for the line ("http"). */
void net_mhd_log(void *prefix, const char *fmt, va_list ap);

/* Loads both libraries on the first call (thread-safe); aborts if it cannot. */
const struct net_mhd_fns *net_mhd_fns(void);

#ifndef NET_MHD_NO_MACROS
#define MHD_add_response_header               (net_mhd_fns()->MHD_add_response_header)
#define MHD_create_response_from_buffer       (net_mhd_fns()->MHD_create_response_from_buffer)
#define MHD_create_response_from_callback     (net_mhd_fns()->MHD_create_response_from_callback)
#define MHD_create_response_for_upgrade       (net_mhd_fns()->MHD_create_response_for_upgrade)
#define MHD_destroy_response                  (net_mhd_fns()->MHD_destroy_response)
#define MHD_get_connection_info               (net_mhd_fns()->MHD_get_connection_info)
#define MHD_get_connection_values             (net_mhd_fns()->MHD_get_connection_values)
#define MHD_lookup_connection_value           (net_mhd_fns()->MHD_lookup_connection_value)
#define MHD_queue_response                    (net_mhd_fns()->MHD_queue_response)
#define MHD_start_daemon                      (net_mhd_fns()->MHD_start_daemon)
#define MHD_stop_daemon                       (net_mhd_fns()->MHD_stop_daemon)
#define MHD_upgrade_action                    (net_mhd_fns()->MHD_upgrade_action)
#define gnutls_strerror                       (net_mhd_fns()->gnutls_strerror)
#define gnutls_x509_crt_deinit                (net_mhd_fns()->gnutls_x509_crt_deinit)
#define gnutls_x509_crt_export2               (net_mhd_fns()->gnutls_x509_crt_export2)
#define gnutls_x509_crt_import                (net_mhd_fns()->gnutls_x509_crt_import)
#define gnutls_x509_crt_init                  (net_mhd_fns()->gnutls_x509_crt_init)
#define gnutls_x509_crt_set_activation_time   (net_mhd_fns()->gnutls_x509_crt_set_activation_time)
#define gnutls_x509_crt_set_basic_constraints (net_mhd_fns()->gnutls_x509_crt_set_basic_constraints)
#define gnutls_x509_crt_set_dn_by_oid         (net_mhd_fns()->gnutls_x509_crt_set_dn_by_oid)
#define gnutls_x509_crt_set_expiration_time   (net_mhd_fns()->gnutls_x509_crt_set_expiration_time)
#define gnutls_x509_crt_set_key               (net_mhd_fns()->gnutls_x509_crt_set_key)
#define gnutls_x509_crt_set_key_purpose_oid   (net_mhd_fns()->gnutls_x509_crt_set_key_purpose_oid)
#define gnutls_x509_crt_set_key_usage         (net_mhd_fns()->gnutls_x509_crt_set_key_usage)
#define gnutls_x509_crt_set_serial            (net_mhd_fns()->gnutls_x509_crt_set_serial)
#define gnutls_x509_crt_set_subject_alt_name  (net_mhd_fns()->gnutls_x509_crt_set_subject_alt_name)
#define gnutls_x509_crt_set_version           (net_mhd_fns()->gnutls_x509_crt_set_version)
#define gnutls_x509_crt_sign2                 (net_mhd_fns()->gnutls_x509_crt_sign2)
#define gnutls_x509_privkey_deinit            (net_mhd_fns()->gnutls_x509_privkey_deinit)
#define gnutls_x509_privkey_export2           (net_mhd_fns()->gnutls_x509_privkey_export2)
#define gnutls_x509_privkey_generate          (net_mhd_fns()->gnutls_x509_privkey_generate)
#define gnutls_x509_privkey_import            (net_mhd_fns()->gnutls_x509_privkey_import)
#define gnutls_x509_privkey_init              (net_mhd_fns()->gnutls_x509_privkey_init)
#endif

#endif
