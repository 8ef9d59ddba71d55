/* podnet_internal.h — what podnet.c (the links) and podnet_ipam.c (the
 * CIDR and the file-per-address IPAM) share. Not for other modules. */
#ifndef BERTH_NET_PODNET_INTERNAL_H
#define BERTH_NET_PODNET_INTERNAL_H

#include "net/podnet.h"

#include <arpa/inet.h>

/* A uid longer than this cannot be read back from an address file. */
#define PODNET_UID_MAX 1024

typedef struct cidr {
  uint32_t net; /* host byte order */
  int prefix;
} cidr_t;

uint32_t pn_cidr_mask(const cidr_t *c);
uint32_t pn_cidr_bcast(const cidr_t *c);
bool pn_cidr_contains(const cidr_t *c, uint32_t a);
void pn_ip_str(uint32_t a, char out[INET_ADDRSTRLEN]);
int pn_cidr_parse(const char *s, cidr_t *out, berr_t *err);
int pn_lock_state(const char *dir, berr_t *err);
void pn_unlock_statep(int *fd);
int pn_ipam_acquire(const char *dir, const cidr_t *c, const char *uid, uint32_t *out, berr_t *err);
int pn_ipam_release(const char *dir, const char *uid, berr_t *err);
#define cleanup_state_lock __attribute__((cleanup(pn_unlock_statep)))

#endif
