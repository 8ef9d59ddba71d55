/* mnl_dl.h — libmnl, the netlink library of the pod network, loaded with dlopen() on first use.
 *
 * Linked, it cost every berth invocation its share of ~0.3 ms of start-up
 * (an empty main() with libyaml and libmnl: 0.6 → 0.9 ms), on the path of
 * every `berth runtime run`; only the agent (src/net/podnet*.c) use it. Same pattern as
 * src/store/sqlite_dl.h: call sites use the real header's names, each a
 * macro for a member of a table filled on first use. A function missing
 * from the list compiles but does not link: add it here. */
#ifndef BERTH_NET_MNL_DL_H
#define BERTH_NET_MNL_DL_H

#include <libmnl/libmnl.h>

#define NET_MNL_SONAME  "libmnl.so.0"
#define NET_MNL_PACKAGE "libmnl0"

#define NET_MNL_FUNCS(X)                                                                           \
  X(mnl_attr_get_payload)                                                                          \
  X(mnl_attr_get_payload_len)                                                                      \
  X(mnl_attr_get_str)                                                                              \
  X(mnl_attr_get_type)                                                                             \
  X(mnl_attr_get_u32)                                                                              \
  X(mnl_attr_nest_end)                                                                             \
  X(mnl_attr_nest_start)                                                                           \
  X(mnl_attr_parse)                                                                                \
  X(mnl_attr_parse_nested)                                                                         \
  X(mnl_attr_parse_payload)                                                                        \
  X(mnl_attr_put)                                                                                  \
  X(mnl_attr_put_strz)                                                                             \
  X(mnl_attr_put_u32)                                                                              \
  X(mnl_attr_validate)                                                                             \
  X(mnl_cb_run2)                                                                                   \
  X(mnl_nlmsg_get_payload)                                                                         \
  X(mnl_nlmsg_get_payload_len)                                                                     \
  X(mnl_nlmsg_get_payload_tail)                                                                    \
  X(mnl_nlmsg_put_extra_header)                                                                    \
  X(mnl_nlmsg_put_header)                                                                          \
  X(mnl_socket_bind)                                                                               \
  X(mnl_socket_close)                                                                              \
  X(mnl_socket_get_portid)                                                                         \
  X(mnl_socket_open2)                                                                              \
  X(mnl_socket_recvfrom)                                                                           \
  X(mnl_socket_sendto)                                                                             \
  X(mnl_socket_setsockopt)

struct net_mnl_fns {
#define NET_MNL_MEMBER(f) __typeof__(&f) f;
  NET_MNL_FUNCS(NET_MNL_MEMBER)
#undef NET_MNL_MEMBER
};

/* Loads the library on the first call (thread-safe); aborts if it cannot. */
const struct net_mnl_fns *net_mnl_fns(void);

#ifndef NET_MNL_NO_MACROS
#define mnl_attr_get_payload       (net_mnl_fns()->mnl_attr_get_payload)
#define mnl_attr_get_payload_len   (net_mnl_fns()->mnl_attr_get_payload_len)
#define mnl_attr_get_str           (net_mnl_fns()->mnl_attr_get_str)
#define mnl_attr_get_type          (net_mnl_fns()->mnl_attr_get_type)
#define mnl_attr_get_u32           (net_mnl_fns()->mnl_attr_get_u32)
#define mnl_attr_nest_end          (net_mnl_fns()->mnl_attr_nest_end)
#define mnl_attr_nest_start        (net_mnl_fns()->mnl_attr_nest_start)
#define mnl_attr_parse             (net_mnl_fns()->mnl_attr_parse)
#define mnl_attr_parse_nested      (net_mnl_fns()->mnl_attr_parse_nested)
#define mnl_attr_parse_payload     (net_mnl_fns()->mnl_attr_parse_payload)
#define mnl_attr_put               (net_mnl_fns()->mnl_attr_put)
#define mnl_attr_put_strz          (net_mnl_fns()->mnl_attr_put_strz)
#define mnl_attr_put_u32           (net_mnl_fns()->mnl_attr_put_u32)
#define mnl_attr_validate          (net_mnl_fns()->mnl_attr_validate)
#define mnl_cb_run2                (net_mnl_fns()->mnl_cb_run2)
#define mnl_nlmsg_get_payload      (net_mnl_fns()->mnl_nlmsg_get_payload)
#define mnl_nlmsg_get_payload_len  (net_mnl_fns()->mnl_nlmsg_get_payload_len)
#define mnl_nlmsg_get_payload_tail (net_mnl_fns()->mnl_nlmsg_get_payload_tail)
#define mnl_nlmsg_put_extra_header (net_mnl_fns()->mnl_nlmsg_put_extra_header)
#define mnl_nlmsg_put_header       (net_mnl_fns()->mnl_nlmsg_put_header)
#define mnl_socket_bind            (net_mnl_fns()->mnl_socket_bind)
#define mnl_socket_close           (net_mnl_fns()->mnl_socket_close)
#define mnl_socket_get_portid      (net_mnl_fns()->mnl_socket_get_portid)
#define mnl_socket_open2           (net_mnl_fns()->mnl_socket_open2)
#define mnl_socket_recvfrom        (net_mnl_fns()->mnl_socket_recvfrom)
#define mnl_socket_sendto          (net_mnl_fns()->mnl_socket_sendto)
#define mnl_socket_setsockopt      (net_mnl_fns()->mnl_socket_setsockopt)
#endif

#endif
