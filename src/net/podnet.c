/* podnet.c — the pod network of one node over rtnetlink (libmnl): the
 * bridge, one veth pair per pod, the pod's eth0, lo and default route, and
 * the file-per-address IPAM of podnet.h.
 *
 * Design choices:
 * - The pod end of the veth is created directly inside the pod's namespace
 *   (IFLA_NET_NS_FD on the peer) as eth0: it never appears in the host
 *   namespace, and the kernel checks its name in the pod's, so the host's own
 *   eth0 is no collision. (No temporary name and rename: a rename registers
 *   the link's sysctls again, the costliest part of the pod's side.)
 * - No lookup that an answer already gives: lo is ifindex 1 in every
 *   namespace (LOOPBACK_IFINDEX), and eth0's index is the host end's
 *   IFLA_LINK.
 * - Configuration inside the pod's namespace goes through a NETLINK_ROUTE
 *   socket created there: a short-lived thread enters the namespace, opens
 *   the socket and goes back; a socket stays bound to the namespace it was
 *   created in, so the calling thread never changes namespace.
 * - One flock on STATE/.lock covers a whole setup or teardown, not only the
 *   address allocation: the netlink work takes milliseconds, and holding the
 *   lock makes two setups (or a setup and a teardown) of one pod impossible
 *   to interleave.
 * - A setup for a pod whose veth is already wired to eth0 of the given
 *   namespace keeps it (adoption after an agent restart does not cut the
 *   pod's connections); anything else with the pod's veth name is replaced.
 */
#include "net/podnet.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include "net/mnl_dl.h"
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Requests are a few short attributes; replies can be a page or more (a
 * link's stats and attributes), so the receive buffer is a dump's size. */
#define NL_REQ_SIZE 4096
#define NL_RX_SIZE  32768

/* lo's ifindex in every network namespace (include/net/flow.h). */
#define LOOPBACK_IFINDEX 1

#include "net/podnet_internal.h"

/* ---- options --------------------------------------------------------------- */

static const char *opt_bridge(const podnet_opts_t *o)
{
  return o->bridge ? o->bridge : PODNET_DEFAULT_BRIDGE;
}

static const char *opt_cidr(const podnet_opts_t *o)
{
  return o->cidr ? o->cidr : PODNET_DEFAULT_CIDR;
}

/* The kernel's rule for interface names (dev_valid_name). */
static int check_ifname(const char *name, berr_t *err)
{
  size_t n = strlen(name);
  if (n == 0)
    return berr_setc(err, EINVAL, "invalid bridge name \"\": empty");
  if (n >= IFNAMSIZ)
    return berr_setc(err, EINVAL, "invalid bridge name \"%s\": longer than %d characters", name,
                     IFNAMSIZ - 1);
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return berr_setc(err, EINVAL, "invalid bridge name \"%s\"", name);
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
      return berr_setc(err, EINVAL, "invalid bridge name \"%s\": '%c' is not allowed", name,
                       *p == '/' || *p == ':' ? *p : ' ');
  return 0;
}

int podnet_check(const podnet_opts_t *o, berr_t *err)
{
  if (check_ifname(opt_bridge(o), err) < 0)
    return -1;
  cidr_t c;
  if (pn_cidr_parse(opt_cidr(o), &c, err) < 0)
    return -1;
  if (!o->state_dir || !*o->state_dir)
    return berr_setc(err, EINVAL, "pod network: no state directory for address allocation");
  return 0;
}

static int check_uid(const char *uid, berr_t *err)
{
  if (!uid || !*uid)
    return berr_setc(err, EINVAL, "invalid pod uid: empty");
  if (strlen(uid) > PODNET_UID_MAX || strchr(uid, '\n'))
    return berr_setc(err, EINVAL, "invalid pod uid \"%.40s…\": too long or has a newline", uid);
  return 0;
}

/* "vb" + the first 12 hex digits of a UUID (berth's uids are random UUIDs, so
 * the prefix is unique and an operator can match `ip link` to the pod). A uid
 * that is not UUID-shaped (tests, hand-made objects) gets 12 hex digits of a
 * 64-bit FNV-1a hash instead, so every uid maps to a valid, stable name. */
static void uid_hex12(const char *uid, char out[13])
{
  size_t n = 0;
  bool uuid = true;
  for (const char *p = uid; *p; p++) {
    if (isxdigit((unsigned char)*p)) {
      if (n < 12)
        out[n++] = (char)tolower((unsigned char)*p);
    } else if (*p != '-') {
      uuid = false;
    }
  }
  if (!uuid || n < 12) {
    snprintf(out, 13, "%012" PRIx64, hash_str(uid) & 0xffffffffffffu);
    return;
  }
  out[12] = '\0';
}

char *podnet_host_ifname(const char *uid)
{
  char hex[13];
  uid_hex12(uid ? uid : "", hex);
  return xasprintf("vb%s", hex);
}

/* ---- netlink --------------------------------------------------------------- */

typedef struct nl {
  struct mnl_socket *sock;
  unsigned portid;
  uint32_t seq;
  char *req, *rx;
  char *ext; /* the kernel's extended-ack message of the last error, or NULL */
} nl_t;

static void nl_close(nl_t *nl)
{
  if (nl->sock)
    mnl_socket_close(nl->sock);
  free(nl->req);
  free(nl->rx);
  free(nl->ext);
  memset(nl, 0, sizeof(*nl));
}

static void nl_closep(nl_t *nl)
{
  nl_close(nl);
}

#define cleanup_nl __attribute__((cleanup(nl_closep)))

/* Binds sock (already created, in whatever namespace) and takes it over. */
static int nl_adopt(nl_t *nl, struct mnl_socket *sock, berr_t *err)
{
  nl->sock = sock;
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
    return berr_set(err, errno, "bind netlink socket");
  nl->portid = mnl_socket_get_portid(sock);
  nl->seq = (uint32_t)time(NULL);
  nl->req = xmalloc(NL_REQ_SIZE);
  nl->rx = xmalloc(NL_RX_SIZE);
  /* Best effort: the kernel's own reason in errors, and no echo of our
   * request in them. */
  int one = 1;
  mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
  return 0;
}

static int nl_open(nl_t *nl, berr_t *err)
{
  struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!sock)
    return berr_set(err, errno, "open netlink socket");
  return nl_adopt(nl, sock, err);
}

typedef struct ns_sock_req {
  int ns_fd;
  struct mnl_socket *sock;
  int errnum;
  const char *what;
} ns_sock_req_t;

/* setns() changes only the calling thread, so a thread of its own enters the
 * namespace, creates the socket there and returns before it ends. */
static void *ns_sock_thread(void *arg)
{
  ns_sock_req_t *r = arg;
  cleanup_close int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    r->errnum = errno;
    r->what = "open /proc/thread-self/ns/net";
    return NULL;
  }
  if (setns(r->ns_fd, CLONE_NEWNET) < 0) {
    r->errnum = errno;
    r->what = "enter";
    return NULL;
  }
  r->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!r->sock) {
    r->errnum = errno;
    r->what = "open netlink socket in";
  }
  if (setns(self, CLONE_NEWNET) < 0)
    log_warn("msg=\"cannot return to the own network namespace\" err=%d", errno);
  return NULL;
}

static int nl_open_in(nl_t *nl, int ns_fd, const char *ns_path, berr_t *err)
{
  ns_sock_req_t r = { .ns_fd = ns_fd };
  pthread_t t;
  int e = pthread_create(&t, NULL, ns_sock_thread, &r);
  if (e != 0)
    return berr_set(err, e, "start thread for network namespace %s", ns_path);
  pthread_join(t, NULL);
  if (!r.sock)
    return berr_set(err, r.errnum, "%s network namespace %s", r.what, ns_path);
  return nl_adopt(nl, r.sock, err);
}

static struct nlmsghdr *nl_msg(nl_t *nl, uint16_t type, uint16_t flags)
{
  memset(nl->req, 0, NL_REQ_SIZE);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->req);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  nlh->nlmsg_seq = ++nl->seq;
  return nlh;
}

typedef struct nl_call {
  nl_t *nl;
  mnl_cb_t cb;
  void *data;
} nl_call_t;

static int nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
  nl_call_t *c = data;
  return c->cb ? c->cb(nlh, c->data) : MNL_CB_OK;
}

static int nl_noop_cb(const struct nlmsghdr *nlh, void *data)
{
  return MNL_CB_OK;
}

static int nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
  /* A dump that failed midway ends with a negative errno in NLMSG_DONE. */
  if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
    int e;
    memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
    if (e < 0) {
      errno = -e;
      return MNL_CB_ERROR;
    }
  }
  return MNL_CB_STOP;
}

static int nl_overrun_cb(const struct nlmsghdr *nlh, void *data)
{
  errno = ENOSPC;
  return MNL_CB_ERROR;
}

static int ext_ack_attr_cb(const struct nlattr *a, void *data)
{
  nl_t *nl = data;
  if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
    free(nl->ext);
    nl->ext = xstrdup(mnl_attr_get_str(a));
  }
  return MNL_CB_OK;
}

/* NLMSG_ERROR: 0 is the ack; otherwise keep the kernel's extended-ack text. */
static int nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
  nl_call_t *c = data;
  size_t len = mnl_nlmsg_get_payload_len(nlh);
  if (len < sizeof(struct nlmsgerr)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
  if (e->error == 0)
    return MNL_CB_STOP;
  if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
    /* The TLVs follow the echoed request, unless the echo was capped. */
    size_t off = sizeof(*e);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
      off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
    if (off < len)
      mnl_attr_parse_payload((const char *)e + off, len - off, ext_ack_attr_cb, c->nl);
  }
  errno = e->error < 0 ? -e->error : e->error;
  return MNL_CB_ERROR;
}

/* Sends nlh and reads replies (cb sees each data message) up to the ack or
 * the error. Returns 0 or -errno; nl->ext then holds the kernel's text. */
static int nl_talk(nl_t *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
    [NLMSG_NOOP] = nl_noop_cb,
    [NLMSG_ERROR] = nl_error_cb,
    [NLMSG_DONE] = nl_done_cb,
    [NLMSG_OVERRUN] = nl_overrun_cb,
  };
  free(nl->ext);
  nl->ext = NULL;
  if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  nl_call_t c = { .nl = nl, .cb = cb, .data = data };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, nl->rx, NL_RX_SIZE);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    errno = 0;
    int r = mnl_cb_run2(nl->rx, (size_t)n, nlh->nlmsg_seq, nl->portid, nl_data_cb, &c, ctl,
                        ARRAY_SIZE(ctl));
    if (r < 0)
      return errno ? -errno : -EPROTO;
    if (r == MNL_CB_STOP)
      return 0;
  }
}

/* err = "<context>: <kernel's text>: <strerror>"; returns -1. */
static int nl_fail(nl_t *nl, berr_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int nl_fail(nl_t *nl, berr_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *ctx = xvasprintf(fmt, ap);
  va_end(ap);
  if (nl->ext && *nl->ext)
    return berr_set(err, errnum, "%s: %s", ctx, nl->ext);
  return berr_set(err, errnum, "%s", ctx);
}

/* ---- links ----------------------------------------------------------------- */

typedef struct link_info {
  int index;
  unsigned flags;
  uint32_t mtu;
  uint32_t peer;   /* IFLA_LINK: a veth's peer ifindex, 0 when absent */
  bool peer_netns; /* IFLA_LINK_NETNSID: the peer is in another namespace */
  char kind[16];   /* IFLA_INFO_KIND, "" when absent */
} link_info_t;

static int linkinfo_attr_cb(const struct nlattr *a, void *data)
{
  link_info_t *li = data;
  if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0) {
    size_t n = mnl_attr_get_payload_len(a);
    const char *s = mnl_attr_get_payload(a);
    while (n > 0 && s[n - 1] == '\0')
      n--;
    if (n >= sizeof(li->kind))
      n = sizeof(li->kind) - 1;
    memcpy(li->kind, s, n);
    li->kind[n] = '\0';
  }
  return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
  link_info_t *li = data;
  switch (mnl_attr_get_type(a)) {
  case IFLA_MTU:
    if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
      li->mtu = mnl_attr_get_u32(a);
    break;
  case IFLA_LINK:
    if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
      li->peer = mnl_attr_get_u32(a);
    break;
  case IFLA_LINK_NETNSID:
    li->peer_netns = true;
    break;
  case IFLA_LINKINFO:
    if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
      mnl_attr_parse_nested(a, linkinfo_attr_cb, li);
    break;
  }
  return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
  link_info_t *li = data;
  if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
    return MNL_CB_OK;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  memset(li, 0, sizeof(*li));
  li->index = ifi->ifi_index;
  li->flags = ifi->ifi_flags;
  return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, li) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh, int index)
{
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return ifi;
}

/* Returns 0, or -errno (-ENODEV when there is no such link). */
static int link_get(nl_t *nl, const char *name, link_info_t *li)
{
  struct nlmsghdr *nlh = nl_msg(nl, RTM_GETLINK, 0);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  memset(li, 0, sizeof(*li));
  int r = nl_talk(nl, nlh, link_cb, li);
  if (r == 0 && li->index == 0)
    r = -ENODEV;
  return r;
}

/* Sets the link up, and with master > 0 attaches it, with name renames it. */
static int link_set(nl_t *nl, int index, int master, const char *name)
{
  struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = put_ifinfo(nlh, index);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = IFF_UP;
  if (master > 0)
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
  if (name)
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  return nl_talk(nl, nlh, NULL, NULL);
}

static int link_del(nl_t *nl, const char *name)
{
  struct nlmsghdr *nlh = nl_msg(nl, RTM_DELLINK, 0);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  return nl_talk(nl, nlh, NULL, NULL);
}

static int addr_add(nl_t *nl, int index, uint32_t addr, const cidr_t *c)
{
  struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)c->prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)index;
  mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(addr));
  mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(addr));
  mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(pn_cidr_bcast(c)));
  return nl_talk(nl, nlh, NULL, NULL);
}

/* The default route via gw; replaces whatever default route was there. */
static int route_default(nl_t *nl, int oif, uint32_t gw)
{
  struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_STATIC;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
  mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
  return nl_talk(nl, nlh, NULL, NULL);
}

/* Forgets the host's neighbour entry (ARP) for addr on the bridge: the
 * address may have been another pod's a moment ago, and until the stale
 * entry expired (tens of seconds) the host would send the new pod's
 * packets to the old veth's MAC — probes from the node time out. */
static int neigh_forget(nl_t *nl, int bridge, uint32_t addr)
{
  struct nlmsghdr *nlh = nl_msg(nl, RTM_DELNEIGH, 0);
  struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
  nd->ndm_family = AF_INET;
  nd->ndm_ifindex = bridge;
  mnl_attr_put_u32(nlh, NDA_DST, htonl(addr));
  int r = nl_talk(nl, nlh, NULL, NULL);
  return r == -ENOENT || r == -ESRCH ? 0 : r;
}

/* ---- the bridge ------------------------------------------------------------ */

static int bridge_create(nl_t *nl, const char *name)
{
  /* A fixed (user-set) MAC: otherwise the bridge takes the lowest MAC of its
   * ports, and the gateway's MAC in every pod's ARP cache changes whenever a
   * pod comes or goes. Random, locally administered, unicast. */
  uint8_t mac[6];
  if (getrandom(mac, sizeof(mac), 0) != (ssize_t)sizeof(mac))
    return -errno;
  mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);

  struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  struct nlattr *br = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  /* No STP and no forward delay: a new pod's port forwards at once. */
  mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
  mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, 0);
  mnl_attr_nest_end(nlh, br);
  mnl_attr_nest_end(nlh, info);
  return nl_talk(nl, nlh, NULL, NULL);
}

/* Makes sure the bridge exists, has the gateway address and is up. */
static int bridge_ensure(nl_t *nl, const char *name, const cidr_t *c, link_info_t *li, berr_t *err)
{
  int r = link_get(nl, name, li);
  if (r == -ENODEV) {
    r = bridge_create(nl, name);
    if (r < 0 && r != -EEXIST)
      return nl_fail(nl, err, -r, "create bridge %s", name);
    if (r == 0)
      log_info("msg=\"created bridge\" bridge=%s", name);
    r = link_get(nl, name, li);
  }
  if (r < 0)
    return nl_fail(nl, err, -r, "look up bridge %s", name);
  if (strcmp(li->kind, "bridge") != 0)
    return berr_setc(err, EEXIST, "bridge %s: a link of that name exists and is not a bridge (%s)",
                     name, *li->kind ? li->kind : "no kind");
  char gw[INET_ADDRSTRLEN];
  pn_ip_str(c->net + 1, gw);
  r = addr_add(nl, li->index, c->net + 1, c);
  if (r < 0 && r != -EEXIST)
    return nl_fail(nl, err, -r, "add gateway address %s/%d to bridge %s", gw, c->prefix, name);
  if (!(li->flags & IFF_UP)) {
    r = link_set(nl, li->index, 0, NULL);
    if (r < 0)
      return nl_fail(nl, err, -r, "set bridge %s up", name);
  }
  return 0;
}

/* ---- the pod's veth -------------------------------------------------------- */

typedef struct pod_wire {
  nl_t *host, *pod;
  int ns_fd;
  const char *ns_path;
  const char *uid;
  const char *host_if;
  int bridge;
  uint32_t mtu;
  cidr_t cidr;
  uint32_t addr;
} pod_wire_t;

/* One queue each way per end: a veth otherwise gets one per possible CPU,
 * each a set of sysfs objects registered with the device (on two CPUs,
 * 277 against 228 µs of CPU per pair with `ip link add`). */
static void put_one_queue(struct nlmsghdr *nlh)
{
  mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
  mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
}

static int veth_create(const pod_wire_t *w)
{
  struct nlmsghdr *nlh = nl_msg(w->host, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, w->host_if);
  mnl_attr_put_u32(nlh, IFLA_MTU, w->mtu);
  put_one_queue(nlh);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  /* The peer's attributes follow an ifinfomsg of their own. */
  struct ifinfomsg *pifi = mnl_nlmsg_get_payload_tail(nlh);
  memset(pifi, 0, sizeof(*pifi));
  pifi->ifi_family = AF_UNSPEC;
  nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)w->ns_fd);
  mnl_attr_put_u32(nlh, IFLA_MTU, w->mtu);
  put_one_queue(nlh);
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  return nl_talk(w->host, nlh, NULL, NULL);
}

/* True when host_if's peer is eth0 of the pod's namespace (a setup that
 * already happened): each end names the other's ifindex. */
static bool veth_wired(const pod_wire_t *w, const link_info_t *host)
{
  link_info_t eth0;
  if (strcmp(host->kind, "veth") != 0 || !host->peer_netns)
    return false;
  if (link_get(w->pod, "eth0", &eth0) < 0)
    return false;
  return eth0.peer_netns && strcmp(eth0.kind, "veth") == 0 && eth0.peer == (uint32_t)host->index
         && host->peer == (uint32_t)eth0.index;
}

/* No IPv6 on the host end, set before it goes up: a bridge port has no use
 * for it, and its neighbour discovery (DAD, router solicitations, MLD) would
 * flood every port of the bridge. Without IPv6 on the host there is nothing
 * to disable (ENOENT). */
static int ipv6_disable(const char *ifname, berr_t *err)
{
  cleanup_free char *path = xasprintf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0 || write(fd, "1", 1) != 1)
    return berr_set(err, errno, "disable IPv6 on veth %s: %s", ifname, path);
  return 0;
}

static int pod_wire(const pod_wire_t *w, berr_t *err)
{
  nl_t *h = w->host, *p = w->pod;
  link_info_t host, eth0 = { 0 };
  bool wired = false;
  int r = link_get(h, w->host_if, &host);
  if (r == 0) {
    wired = veth_wired(w, &host);
    if (!wired) {
      log_info("msg=\"replacing stale veth\" pod=%s veth=%s", w->uid, w->host_if);
      r = link_del(h, w->host_if);
      if (r < 0 && r != -ENODEV)
        return nl_fail(h, err, -r, "delete stale veth %s", w->host_if);
    }
  } else if (r != -ENODEV) {
    return nl_fail(h, err, -r, "look up veth %s", w->host_if);
  }

  if (!wired) {
    r = veth_create(w);
    if (r < 0)
      return nl_fail(h, err, -r, "create veth %s (peer eth0 in %s)", w->host_if, w->ns_path);
    if ((r = link_get(h, w->host_if, &host)) < 0)
      return nl_fail(h, err, -r, "look up veth %s", w->host_if);
  }
  if (ipv6_disable(w->host_if, err) < 0)
    return -1;
  r = link_set(h, host.index, w->bridge, NULL);
  if (r < 0)
    return nl_fail(h, err, -r, "attach veth %s to the bridge and set it up", w->host_if);

  if ((r = link_set(p, LOOPBACK_IFINDEX, 0, NULL)) < 0)
    return nl_fail(p, err, -r, "set lo up in %s", w->ns_path);
  /* The host end's IFLA_LINK is its peer's index in the pod's namespace
   * (veth_wired checked it when the pair was already there). */
  eth0.index = (int)host.peer;
  if (eth0.index <= 0 && (r = link_get(p, "eth0", &eth0)) < 0)
    return nl_fail(p, err, -r, "look up eth0 in %s", w->ns_path);

  char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
  pn_ip_str(w->addr, ip);
  pn_ip_str(w->cidr.net + 1, gw);
  r = addr_add(p, eth0.index, w->addr, &w->cidr);
  if (r < 0 && r != -EEXIST)
    return nl_fail(p, err, -r, "add address %s/%d to eth0 in %s", ip, w->cidr.prefix, w->ns_path);
  if ((r = link_set(p, eth0.index, 0, NULL)) < 0)
    return nl_fail(p, err, -r, "set eth0 up in %s", w->ns_path);
  if ((r = route_default(p, eth0.index, w->cidr.net + 1)) < 0)
    return nl_fail(p, err, -r, "add default route via %s in %s", gw, w->ns_path);
  if ((r = neigh_forget(h, w->bridge, w->addr)) < 0)
    return nl_fail(h, err, -r, "forget the stale neighbour entry of %s", ip);
  return 0;
}

/* ---- setup and teardown ---------------------------------------------------- */

int podnet_setup(const podnet_opts_t *o, const char *netns_path, const char *uid, char **ip,
                 berr_t *err)
{
  cidr_t c;
  if (podnet_check(o, err) < 0 || check_uid(uid, err) < 0)
    return -1;
  pn_cidr_parse(opt_cidr(o), &c, NULL);
  const char *bridge = opt_bridge(o);
  cleanup_free char *host_if = podnet_host_ifname(uid);

  cleanup_state_lock int lock = pn_lock_state(o->state_dir, err);
  if (lock < 0)
    return berr_wrap(err, "set up network of pod %s", uid);
  cleanup_close int ns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0)
    return berr_set(err, errno, "set up network of pod %s: open network namespace %s", uid,
                    netns_path);
  if (ioctl(ns_fd, NS_GET_NSTYPE) != CLONE_NEWNET)
    return berr_setc(err, EINVAL, "set up network of pod %s: %s is not a network namespace", uid,
                     netns_path);
  cleanup_nl nl_t host = { 0 };
  cleanup_nl nl_t pod = { 0 };
  link_info_t br;
  if (nl_open(&host, err) < 0 || nl_open_in(&pod, ns_fd, netns_path, err) < 0
      || bridge_ensure(&host, bridge, &c, &br, err) < 0)
    return berr_wrap(err, "set up network of pod %s", uid);

  uint32_t addr = 0;
  if (pn_ipam_acquire(o->state_dir, &c, uid, &addr, err) < 0)
    return berr_wrap(err, "set up network of pod %s", uid);
  pod_wire_t w = {
    .host = &host,
    .pod = &pod,
    .ns_fd = ns_fd,
    .ns_path = netns_path,
    .uid = uid,
    .host_if = host_if,
    .bridge = br.index,
    .mtu = br.mtu ? br.mtu : 1500,
    .cidr = c,
    .addr = addr,
  };
  char addr_s[INET_ADDRSTRLEN];
  pn_ip_str(addr, addr_s);
  if (pod_wire(&w, err) < 0) {
    /* Nothing stays behind: the veth (its peer goes with it) and the address. */
    int r = link_del(&host, host_if);
    if (r < 0 && r != -ENODEV)
      log_warn("msg=\"cannot delete veth after failed setup\" pod=%s veth=%s err=%d", uid, host_if,
               -r);
    berr_t rerr = BERR_INIT;
    if (pn_ipam_release(o->state_dir, uid, &rerr) < 0) {
      log_warn("msg=\"cannot release address after failed setup\" pod=%s err=\"%s\"", uid,
               rerr.msg);
      berr_clear(&rerr);
    }
    return berr_wrap(err, "set up network of pod %s", uid);
  }
  log_info("msg=\"pod network set up\" pod=%s ip=%s veth=%s bridge=%s netns=%s", uid, addr_s,
           host_if, bridge, netns_path);
  *ip = xstrdup(addr_s);
  return 0;
}

int podnet_teardown(const podnet_opts_t *o, const char *uid, berr_t *err)
{
  if (podnet_check(o, err) < 0 || check_uid(uid, err) < 0)
    return -1;
  cleanup_free char *host_if = podnet_host_ifname(uid);
  cleanup_state_lock int lock = pn_lock_state(o->state_dir, err);
  if (lock < 0)
    return berr_wrap(err, "tear down network of pod %s", uid);
  cleanup_nl nl_t host = { 0 };
  if (nl_open(&host, err) < 0)
    return berr_wrap(err, "tear down network of pod %s", uid);
  int r = link_del(&host, host_if);
  if (r < 0 && r != -ENODEV)
    return nl_fail(&host, err, -r, "tear down network of pod %s: delete veth %s", uid, host_if);
  if (pn_ipam_release(o->state_dir, uid, err) < 0)
    return berr_wrap(err, "tear down network of pod %s", uid);
  log_info("msg=\"pod network torn down\" pod=%s veth=%s", uid, host_if);
  return 0;
}
