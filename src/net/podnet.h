/* podnet.h — a pod's network on one node: a Linux bridge (default
 * "berth0", gateway = the first address of the node's pod CIDR), one veth
 * pair per pod (host end on the bridge, pod end moved into the pod's network
 * namespace as eth0), an address from the CIDR and a default route through
 * the gateway; lo is brought up too. Done with rtnetlink (libmnl), no
 * external commands.
 *
 * Addresses are handed out from files: STATE/<ip> holds the pod uid that
 * owns it, created with O_EXCL, so two agents threads (or a restarted agent)
 * never hand out one address twice, and setup for a uid that already has an
 * address returns that address again (idempotent: adoption after a restart).
 * Cross-node routing and NAT are not here (a later networking issue). */
#ifndef BERTH_NET_PODNET_H
#define BERTH_NET_PODNET_H

#include "base/base.h"

#define PODNET_DEFAULT_BRIDGE "berth0"
#define PODNET_DEFAULT_CIDR   "10.88.0.0/16"

typedef struct podnet_opts {
  const char *bridge;    /* NULL: PODNET_DEFAULT_BRIDGE */
  const char *cidr;      /* IPv4 "A.B.C.D/N", 8 <= N <= 30; NULL: PODNET_DEFAULT_CIDR */
  const char *state_dir; /* IPAM files (created 0700 when missing); required */
} podnet_opts_t;

/* Checks the options (a bad CIDR is EINVAL "invalid pod CIDR \"…\": …"). */
int podnet_check(const podnet_opts_t *o, berr_t *err);
/* Creates the bridge if missing (up, gateway address), allocates an address
 * for uid, creates the veth pair and configures the pod end inside the
 * namespace at netns_path (a bind-mounted nsfs file). *ip gets the address
 * without prefix ("10.88.0.7"). Idempotent for the same uid. On failure
 * nothing stays behind (address released, veth deleted). */
int podnet_setup(const podnet_opts_t *o, const char *netns_path, const char *uid, char **ip,
                 berr_t *err);
/* Deletes the pod's host veth (if any) and releases its address.
 * Idempotent: a pod with nothing left is a success. */
int podnet_teardown(const podnet_opts_t *o, const char *uid, berr_t *err);
/* The host-side interface name for uid: "vb" + 12 hex digits of the uid. */
char *podnet_host_ifname(const char *uid);

#endif
