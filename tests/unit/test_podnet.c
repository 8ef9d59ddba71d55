/* test_podnet.c — the pod network for real, as root: each test makes its own
 * network namespaces (unshare in a thread, bind-mounted on a file as
 * `ip netns add` does), its own bridge "bt<pid>" with the CIDR
 * 10.252.<pid%250+1>.0/24 and its own state directory, then checks what the
 * kernel shows with `nsenter --net=NS ip …` and with TCP connections
 * (pod → gateway in the host namespace, pod → pod). The suite's fini removes
 * the namespaces, the bridge and the files even when a test fails. */
#include "net/podnet.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_NS 16

/* What this test process created, for fini. */
static char *g_dir;
static char g_bridge[16];
static int g_octet;
static char *g_ns[MAX_NS];
static int g_nns;

/* ---- helpers -------------------------------------------------------------- */

/* Runs argv, returns its exit status (-1 when it did not exit); *out gets
 * stdout+stderr when out is not NULL. */
static int run(char *const argv[], char **out)
{
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  cr_assert_eq(r, 0, "spawn %s: %s", argv[0], strerror(r));
  buf_t b = { 0 };
  char chunk[4096];
  ssize_t n;
  while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
    buf_append(&b, chunk, (size_t)n);
  close(p[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (out)
    *out = b.data ? buf_steal(&b) : xstrdup("");
  else
    buf_free(&b);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `ip ARGS…` inside the namespace at ns (the host's when ns is NULL);
 * returns the output, *status gets the exit status. */
static char *ip_vrun(const char *ns, int *status, va_list ap)
{
  cleanup_free char *nsarg = ns ? xasprintf("--net=%s", ns) : NULL;
  const char *argv[16];
  size_t i = 0;
  if (ns) {
    argv[i++] = "nsenter";
    argv[i++] = nsarg;
  }
  argv[i++] = "ip";
  const char *a;
  while ((a = va_arg(ap, const char *)) && i < ARRAY_SIZE(argv) - 1)
    argv[i++] = a;
  argv[i] = NULL;
  char *out = NULL;
  *status = run((char *const *)argv, &out);
  return out;
}

/* The output of `ip ARGS… NULL` in ns. */
static char *ip_in(const char *ns, ...) __attribute__((sentinel));
static char *ip_in(const char *ns, ...)
{
  int status;
  va_list ap;
  va_start(ap, ns);
  char *out = ip_vrun(ns, &status, ap);
  va_end(ap);
  return out;
}

/* The exit status of `ip ARGS… NULL` in ns. */
static int ip_status(const char *ns, ...) __attribute__((sentinel));
static int ip_status(const char *ns, ...)
{
  int status;
  va_list ap;
  va_start(ap, ns);
  free(ip_vrun(ns, &status, ap));
  va_end(ap);
  return status;
}

/* Whether the namespace at ns (the host's when NULL) has a link of that name. */
static bool has_link(const char *ns, const char *name)
{
  return ip_status(ns, "link", "show", "dev", name, NULL) == 0;
}

static void *unshare_thread(void *arg)
{
  const char *path = arg;
  if (unshare(CLONE_NEWNET) < 0)
    return (void *)(intptr_t)errno;
  if (mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0)
    return (void *)(intptr_t)errno;
  return NULL;
}

/* A new, empty network namespace bind-mounted on g_dir/ns-NAME. */
static const char *make_netns(const char *name)
{
  cr_assert_lt(g_nns, MAX_NS);
  char *path = xasprintf("%s/ns-%s", g_dir, name);
  int fd = open(path, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
  close(fd);
  g_ns[g_nns++] = path;
  pthread_t t;
  void *res;
  cr_assert_eq(pthread_create(&t, NULL, unshare_thread, path), 0);
  pthread_join(t, &res);
  cr_assert_null(res, "new network namespace on %s: %s", path, strerror((int)(intptr_t)res));
  return path;
}

typedef struct ns_sock {
  const char *ns;
  int fd, err;
} ns_sock_t;

static void *ns_sock_thread(void *arg)
{
  ns_sock_t *s = arg;
  int ns = open(s->ns, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    s->err = errno;
  } else {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    s->err = errno;
  }
  if (ns >= 0)
    close(ns);
  return NULL; /* the thread ends in that namespace; nothing else runs there */
}

/* A TCP socket of the namespace at ns (the host's when NULL). */
static int tcp_socket(const char *ns)
{
  if (!ns)
    return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ns_sock_t s = { .ns = ns, .fd = -1 };
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, ns_sock_thread, &s), 0);
  pthread_join(t, NULL);
  cr_assert_geq(s.fd, 0, "socket in %s: %s", ns, strerror(s.err));
  return s.fd;
}

static struct sockaddr_in sin_of(const char *ip, int port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  cr_assert_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1, "bad address %s", ip);
  return sa;
}

/* Connects from client_ns to a listener on server_ip in server_ns, sends a
 * line each way and checks the server sees client_ip as the peer. */
static void check_tcp(const char *client_ns, const char *client_ip, const char *server_ns,
                      const char *server_ip)
{
  cleanup_close int lfd = tcp_socket(server_ns);
  struct sockaddr_in sa = sin_of(server_ip, 0);
  cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", server_ip,
               strerror(errno));
  cr_assert_eq(listen(lfd, 1), 0);
  socklen_t sl = sizeof(sa);
  cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);

  cleanup_close int cfd = tcp_socket(client_ns);
  struct timeval tv = { .tv_sec = 10 };
  setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s → %s:%d: %s",
               client_ip, server_ip, ntohs(sa.sin_port), strerror(errno));
  struct sockaddr_in peer;
  socklen_t pl = sizeof(peer);
  cleanup_close int afd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
  cr_assert_geq(afd, 0, "accept: %s", strerror(errno));
  char peer_ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &peer.sin_addr, peer_ip, sizeof(peer_ip));
  cr_assert_str_eq(peer_ip, client_ip);

  char got[8] = { 0 };
  cr_assert_eq(write(cfd, "ping", 4), 4);
  cr_assert_eq(read(afd, got, sizeof(got) - 1), 4);
  cr_assert_str_eq(got, "ping");
  cr_assert_eq(write(afd, "pong", 4), 4);
  memset(got, 0, sizeof(got));
  cr_assert_eq(read(cfd, got, sizeof(got) - 1), 4);
  cr_assert_str_eq(got, "pong");
}

static char *pod_ip(int host)
{
  return xasprintf("10.252.%d.%d", g_octet, host);
}

static char *state_dir(void)
{
  return xasprintf("%s/state", g_dir);
}

static podnet_opts_t opts(const char *cidr, const char *state)
{
  return (podnet_opts_t){ .bridge = g_bridge, .cidr = cidr, .state_dir = state };
}

static char *cidr24(void)
{
  return xasprintf("10.252.%d.0/24", g_octet);
}

/* Checks eth0, lo and the default route inside ns. */
static void check_pod_ns(const char *ns, const char *ip)
{
  cleanup_free char *addr = ip_in(ns, "-o", "-4", "addr", "show", "dev", "eth0", NULL);
  cleanup_free char *want = xasprintf("inet %s/24 ", ip);
  cr_assert(strstr(addr, want), "eth0 in %s has not %s: %s", ns, ip, addr);
  cleanup_free char *eth0 = ip_in(ns, "-o", "link", "show", "dev", "eth0", NULL);
  cr_assert(strstr(eth0, ",UP") && strstr(eth0, "mtu 1500"), "eth0 in %s: %s", ns, eth0);
  cleanup_free char *lo = ip_in(ns, "-o", "link", "show", "dev", "lo", NULL);
  cr_assert(strstr(lo, ",UP"), "lo in %s is not up: %s", ns, lo);
  cleanup_free char *route = ip_in(ns, "-4", "route", "show", "default", NULL);
  cleanup_free char *gw = xasprintf("default via 10.252.%d.1 dev eth0", g_octet);
  cr_assert(strstr(route, gw), "default route in %s: %s", ns, route);
}

static char *setup_ok(const podnet_opts_t *o, const char *ns, const char *uid)
{
  berr_t err = BERR_INIT;
  char *ip = NULL;
  int r = podnet_setup(o, ns, uid, &ip, &err);
  cr_assert_eq(r, 0, "setup %s: %s", uid, err.msg);
  cr_assert_not_null(ip);
  return ip;
}

static void teardown_ok(const podnet_opts_t *o, const char *uid)
{
  berr_t err = BERR_INIT;
  cr_assert_eq(podnet_teardown(o, uid, &err), 0, "teardown %s: %s", uid, err.msg);
}

/* Number of address files in the state directory. */
static int address_files(const char *dir)
{
  cleanup_dir DIR *d = opendir(dir);
  if (!d)
    return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
      n++;
  return n;
}

/* ---- suite ---------------------------------------------------------------- */

static void init(void)
{
  int pid = (int)getpid();
  snprintf(g_bridge, sizeof(g_bridge), "bt%d", pid % 100000);
  g_octet = pid % 250 + 1;
  g_dir = xasprintf("/tmp/berth-podnet-%d", pid);
  mkdir(g_dir, 0700);
}

static void fini(void)
{
  for (int i = 0; i < g_nns; i++) {
    umount2(g_ns[i], MNT_DETACH);
    unlink(g_ns[i]);
    free(g_ns[i]);
  }
  g_nns = 0;
  /* The bridge, and the non-bridge link of failed_setup_leaves_nothing_behind. */
  char other[16];
  snprintf(other, sizeof(other), "bd%d", (int)getpid() % 100000);
  const char *links[] = { g_bridge, other };
  for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
    if (geteuid() != 0 || !has_link(NULL, links[i]))
      continue;
    char *argv[] = { "ip", "link", "del", (char *)links[i], NULL };
    cleanup_free char *out = NULL;
    if (run(argv, &out) != 0)
      fprintf(stderr, "podnet test clean-up: delete %s: %s", links[i], out);
  }
  berr_t err = BERR_INIT;
  if (g_dir && fs_rm_rf(g_dir, &err) < 0) {
    fprintf(stderr, "podnet test clean-up: %s\n", err.msg);
    berr_clear(&err);
  }
  free(g_dir);
  g_dir = NULL;
}

static void need_root(void)
{
  if (geteuid() != 0)
    cr_skip_test("needs root");
}

TestSuite(podnet, .init = init, .fini = fini, .timeout = 60);

/* ---- options -------------------------------------------------------------- */

static void check_fails(const char *bridge, const char *cidr, const char *state, const char *want)
{
  podnet_opts_t o = { .bridge = bridge, .cidr = cidr, .state_dir = state };
  berr_t err = BERR_INIT;
  cr_assert_eq(podnet_check(&o, &err), -1, "accepted bridge=%s cidr=%s", bridge, cidr);
  cr_assert_eq(err.code, EINVAL);
  cr_assert(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
  berr_clear(&err);
}

Test(podnet, check_rejects_bad_input)
{
  check_fails(NULL, "10.0.0.0/33", "/s", "invalid pod CIDR \"10.0.0.0/33\": prefix length 33");
  check_fails(NULL, "x", "/s", "invalid pod CIDR \"x\"");
  check_fails(NULL, "10.0.0.0/7", "/s",
              "invalid pod CIDR \"10.0.0.0/7\": prefix length 7 is "
              "outside 8..30");
  check_fails(NULL, "10.0.0.0/31", "/s", "outside 8..30");
  check_fails(NULL, "10.0.0.5/24", "/s", "host bits set (the network is 10.0.0.0/24)");
  check_fails(NULL, "10.0.0/24", "/s", "\"10.0.0\" is not an IPv4 address");
  check_fails(NULL, "10.0.0.0/", "/s", "prefix length \"\" is not a number");
  check_fails(NULL, "10.0.0.0/2x", "/s", "prefix length \"2x\"");
  check_fails(NULL, "10.0.0.0/024", "/s", "prefix length \"024\"");
  check_fails(NULL, "10.0.0.0/-8", "/s", "prefix length \"-8\"");
  check_fails(NULL, "256.0.0.0/8", "/s", "\"256.0.0.0\" is not an IPv4 address");
  check_fails("averyveryverylongname", NULL, "/s",
              "invalid bridge name \"averyveryverylongname\": longer than 15");
  check_fails("a/b", NULL, "/s", "invalid bridge name \"a/b\"");
  check_fails("", NULL, "/s", "invalid bridge name \"\"");
  check_fails("a b", NULL, "/s", "invalid bridge name \"a b\"");
  check_fails(NULL, NULL, NULL, "no state directory");
  check_fails(NULL, NULL, "", "no state directory");

  berr_t err = BERR_INIT;
  podnet_opts_t o = { .state_dir = "/s" };
  cr_assert_eq(podnet_check(&o, &err), 0, "%s", err.msg);
  o = (podnet_opts_t){ .bridge = "abcdefghijklmno", .cidr = "192.168.4.0/30", .state_dir = "/s" };
  cr_assert_eq(podnet_check(&o, &err), 0, "%s", err.msg);
  o.cidr = "10.0.0.0/8";
  cr_assert_eq(podnet_check(&o, &err), 0, "%s", err.msg);

  /* setup checks the options before it touches anything. */
  char *ip = NULL;
  o.cidr = "10.0.0.0/33";
  cr_assert_eq(podnet_setup(&o, "/nonexistent", "u", &ip, &err), -1);
  cr_assert(strstr(err.msg, "10.0.0.0/33"), "%s", err.msg);
  cr_assert_null(ip);
  berr_clear(&err);
}

Test(podnet, host_ifname)
{
  cleanup_free char *a = podnet_host_ifname("3F2A9C1E-7b4d-4e8a-9c2f-1a2b3c4d5e6f");
  cr_assert_str_eq(a, "vb3f2a9c1e7b4d");
  /* Not a UUID: a hash, stable, valid and different per uid. */
  cleanup_free char *b = podnet_host_ifname("pod-1");
  cleanup_free char *b2 = podnet_host_ifname("pod-1");
  cleanup_free char *c = podnet_host_ifname("pod-2");
  cleanup_free char *d = podnet_host_ifname("abc");
  cr_assert_str_eq(b, b2);
  cr_assert_str_neq(b, c);
  cr_assert_eq(strlen(b), 14);
  cr_assert_eq(strlen(d), 14);
  cr_assert(str_has_prefix(b, "vb"));
  for (const char *p = b + 2; *p; p++)
    cr_assert(strchr("0123456789abcdef", *p), "%s", b);
}

/* ---- the network ---------------------------------------------------------- */

Test(podnet, setup_connect_and_teardown)
{
  need_root();
  cleanup_free char *cidr = cidr24();
  cleanup_free char *state = state_dir();
  podnet_opts_t o = opts(cidr, state);
  const char *ns1 = make_netns("p1"), *ns2 = make_netns("p2"), *ns3 = make_netns("p3");
  const char *uid1 = "6a1f3c2e-0b9d-4c7a-8e21-5d4c3b2a1f00";
  const char *uid2 = "pod-two";
  cleanup_free char *want2 = pod_ip(2), *want3 = pod_ip(3), *gw = pod_ip(1);

  cleanup_free char *ip1 = setup_ok(&o, ns1, uid1);
  cr_assert_str_eq(ip1, want2);
  check_pod_ns(ns1, ip1);

  /* The bridge: up, the gateway address, the pod's veth attached and up. */
  cleanup_free char *br = ip_in(NULL, "-o", "-4", "addr", "show", "dev", g_bridge, NULL);
  cleanup_free char *gwaddr = xasprintf("inet %s/24 ", gw);
  cr_assert(strstr(br, gwaddr), "bridge %s: %s", g_bridge, br);
  cleanup_free char *host1 = podnet_host_ifname(uid1);
  cleanup_free char *veth = ip_in(NULL, "-o", "link", "show", "dev", host1, NULL);
  cleanup_free char *master = xasprintf("master %s ", g_bridge);
  cr_assert(strstr(veth, master) && strstr(veth, ",UP"), "veth %s: %s", host1, veth);
  /* one queue each way on both ends, whatever the number of CPUs */
  cleanup_free char *qh = ip_in(NULL, "-d", "-o", "link", "show", "dev", host1, NULL);
  cleanup_free char *qp = ip_in(ns1, "-d", "-o", "link", "show", "dev", "eth0", NULL);
  cr_assert(strstr(qh, "numtxqueues 1 numrxqueues 1 "), "%s", qh);
  cr_assert(strstr(qp, "numtxqueues 1 numrxqueues 1 "), "%s", qp);

  /* The address file holds the uid. */
  cleanup_free char *file = xasprintf("%s/%s", state, ip1);
  cleanup_free char *owner = NULL;
  cr_assert_eq(fs_read_file(file, 0, &owner, NULL, NULL), 0);
  cr_assert_str_eq(owner, uid1);

  check_tcp(ns1, ip1, NULL, gw);

  cleanup_free char *ip2 = setup_ok(&o, ns2, uid2);
  cr_assert_str_eq(ip2, want3);
  check_pod_ns(ns2, ip2);
  check_tcp(ns2, ip2, ns1, ip1);

  /* Again for pod 1: the same address, and the same veth (kept, not rebuilt). */
  unsigned idx = if_nametoindex(host1);
  cr_assert_neq(idx, 0);
  cleanup_free char *again = setup_ok(&o, ns1, uid1);
  cr_assert_str_eq(again, ip1);
  cr_assert_eq(if_nametoindex(host1), idx, "the veth of a wired pod was recreated");
  check_pod_ns(ns1, ip1);
  check_tcp(ns1, ip1, ns2, ip2);
  cr_assert_eq(address_files(state), 2);

  /* Teardown: veth and address gone; twice is fine; the next pod reuses .2. */
  teardown_ok(&o, uid1);
  cr_assert_not(has_link(NULL, host1), "veth %s still there", host1);
  cr_assert_not(fs_exists(file));
  teardown_ok(&o, uid1);
  cr_assert_not(has_link(ns1, "eth0"), "eth0 left in %s", ns1);

  cleanup_free char *ip3 = setup_ok(&o, ns3, "pod-three");
  cr_assert_str_eq(ip3, want2);
  check_pod_ns(ns3, ip3);
  check_tcp(ns3, ip3, ns2, ip2);

  teardown_ok(&o, uid2);
  teardown_ok(&o, "pod-three");
  cr_assert_eq(address_files(state), 0);
}

Test(podnet, setup_in_a_new_namespace_replaces_the_old_veth)
{
  need_root();
  cleanup_free char *cidr = cidr24();
  cleanup_free char *state = state_dir();
  podnet_opts_t o = opts(cidr, state);
  const char *old_ns = make_netns("old"), *new_ns = make_netns("new");
  cleanup_free char *ip = setup_ok(&o, old_ns, "pod-moved");
  cleanup_free char *ip2 = setup_ok(&o, new_ns, "pod-moved");
  cr_assert_str_eq(ip2, ip);
  check_pod_ns(new_ns, ip);
  cleanup_free char *gw = pod_ip(1);
  check_tcp(new_ns, ip, NULL, gw);
  cr_assert_not(has_link(old_ns, "eth0"), "eth0 left in the old namespace");
  teardown_ok(&o, "pod-moved");
}

Test(podnet, failed_setup_leaves_nothing_behind)
{
  need_root();
  cleanup_free char *cidr = cidr24();
  cleanup_free char *state = state_dir();
  podnet_opts_t o = opts(cidr, state);
  berr_t err = BERR_INIT;
  char *ip = NULL;

  /* The namespace already has an eth0: the veth's pod end cannot be made
   * there after the address was taken, and the address must go. */
  const char *ns = make_netns("busy");
  cleanup_free char *out
      = ip_in(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", NULL);
  cr_assert(has_link(ns, "eth0"), "extra eth0: %s", out);
  cr_assert_eq(podnet_setup(&o, ns, "pod-busy", &ip, &err), -1);
  cr_assert_null(ip);
  cr_assert(strstr(err.msg, "set up network of pod pod-busy: create veth vb")
                && strstr(err.msg, "(peer eth0 in ") && strstr(err.msg, "File exists"),
            "%s", err.msg);
  berr_clear(&err);
  cleanup_free char *host = podnet_host_ifname("pod-busy");
  cr_assert_not(has_link(NULL, host), "veth %s left behind", host);
  cr_assert_eq(address_files(state), 0);

  /* Not a namespace at all. */
  cleanup_free char *plain = xasprintf("%s/not-a-netns", g_dir);
  int fd = open(plain, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  cr_assert_eq(podnet_setup(&o, plain, "pod-x", &ip, &err), -1);
  cleanup_free char *not_ns = xasprintf("%s is not a network namespace", plain);
  cr_assert_eq(err.code, EINVAL);
  cr_assert(strstr(err.msg, not_ns), "%s", err.msg);
  berr_clear(&err);
  cleanup_free char *missing = xasprintf("%s/missing", g_dir);
  cr_assert_eq(podnet_setup(&o, missing, "pod-x", &ip, &err), -1);
  cr_assert_eq(err.code, ENOENT);
  cr_assert(strstr(err.msg, "open network namespace") && strstr(err.msg, missing), "%s", err.msg);
  berr_clear(&err);
  cr_assert_eq(address_files(state), 0);

  /* A link with the bridge's name that is not a bridge. */
  cleanup_free char *other = xasprintf("bd%d", (int)getpid() % 100000);
  cleanup_free char *peer = xasprintf("be%d", (int)getpid() % 100000);
  free(ip_in(NULL, "link", "add", other, "type", "veth", "peer", "name", peer, NULL));
  podnet_opts_t bad = { .bridge = other, .cidr = cidr, .state_dir = state };
  const char *ns2 = make_netns("ok");
  int r = podnet_setup(&bad, ns2, "pod-y", &ip, &err);
  free(ip_in(NULL, "link", "del", other, NULL));
  cr_assert_eq(r, -1);
  cr_assert(strstr(err.msg, "is not a bridge (veth)"), "%s", err.msg);
  berr_clear(&err);
  cr_assert_eq(address_files(state), 0);
}

Test(podnet, exhausted_cidr)
{
  need_root();
  cleanup_free char *cidr = xasprintf("10.252.%d.0/30", g_octet);
  cleanup_free char *state = state_dir();
  podnet_opts_t o = opts(cidr, state);
  const char *ns1 = make_netns("a"), *ns2 = make_netns("b");
  cleanup_free char *ip = setup_ok(&o, ns1, "pod-a");
  cleanup_free char *want = pod_ip(2);
  cr_assert_str_eq(ip, want);
  berr_t err = BERR_INIT;
  char *ip2 = NULL;
  cr_assert_eq(podnet_setup(&o, ns2, "pod-b", &ip2, &err), -1);
  cr_assert_eq(err.code, ENOSPC);
  cleanup_free char *msg = xasprintf("no free address in pod CIDR %s (1 in use)", cidr);
  cr_assert(strstr(err.msg, msg), "%s", err.msg);
  berr_clear(&err);
  teardown_ok(&o, "pod-a");
  cleanup_free char *ip3 = setup_ok(&o, ns2, "pod-b");
  cr_assert_str_eq(ip3, want);
  teardown_ok(&o, "pod-b");
}

typedef struct par {
  podnet_opts_t o;
  const char *ns;
  char uid[32];
  char *ip;
  char *err;
} par_t;

static void *par_setup(void *arg)
{
  par_t *p = arg;
  berr_t err = BERR_INIT;
  if (podnet_setup(&p->o, p->ns, p->uid, &p->ip, &err) < 0)
    p->err = steal_ptr(err.msg);
  return NULL;
}

Test(podnet, concurrent_setups_get_distinct_addresses)
{
  need_root();
  cleanup_free char *cidr = cidr24();
  cleanup_free char *state = state_dir();
  enum { N = 6 };
  par_t p[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof(name), "c%d", i);
    p[i] = (par_t){ .o = opts(cidr, state), .ns = make_netns(name) };
    snprintf(p[i].uid, sizeof(p[i].uid), "pod-c%d", i);
  }
  for (int i = 0; i < N; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, par_setup, &p[i]), 0);
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  bool seen[256] = { false };
  for (int i = 0; i < N; i++) {
    cr_assert_null(p[i].err, "%s: %s", p[i].uid, p[i].err);
    int a, b, c, d;
    cr_assert_eq(sscanf(p[i].ip, "%d.%d.%d.%d", &a, &b, &c, &d), 4);
    cr_assert(d >= 2 && d < 2 + N, "%s got %s", p[i].uid, p[i].ip);
    cr_assert_not(seen[d], "%s handed out twice", p[i].ip);
    seen[d] = true;
    check_pod_ns(p[i].ns, p[i].ip);
  }
  check_tcp(p[0].ns, p[0].ip, p[N - 1].ns, p[N - 1].ip);
  for (int i = 0; i < N; i++) {
    teardown_ok(&p[i].o, p[i].uid);
    free(p[i].ip);
  }
  cr_assert_eq(address_files(state), 0);
}

Test(podnet, address_files_survive_a_restart)
{
  need_root();
  cleanup_free char *cidr = cidr24();
  cleanup_free char *state = state_dir();
  podnet_opts_t o = opts(cidr, state);
  cr_assert_eq(fs_mkdir_p(state, 0700, NULL), 0);
  /* What a previous agent left: .2 empty (it crashed between create and
   * write), .3 taken by another pod, .4 held by pod-q (with a newline, as a
   * person would write it). */
  cleanup_free char *f2 = xasprintf("%s/10.252.%d.2", state, g_octet);
  cleanup_free char *f3 = xasprintf("%s/10.252.%d.3", state, g_octet);
  cleanup_free char *f4 = xasprintf("%s/10.252.%d.4", state, g_octet);
  cr_assert_eq(fs_write_atomic(f2, "", 0, 0600, NULL), 0);
  cr_assert_eq(fs_write_atomic(f3, "pod-other", 9, 0600, NULL), 0);
  cr_assert_eq(fs_write_atomic(f4, "pod-q\n", 6, 0600, NULL), 0);
  const char *nsq = make_netns("q"), *nsn = make_netns("n");

  cleanup_free char *ipq = setup_ok(&o, nsq, "pod-q");
  cleanup_free char *want4 = pod_ip(4), *want2 = pod_ip(2);
  cr_assert_str_eq(ipq, want4);
  cleanup_free char *ipn = setup_ok(&o, nsn, "pod-new");
  cr_assert_str_eq(ipn, want2);
  check_tcp(nsn, ipn, nsq, ipq);

  teardown_ok(&o, "pod-q");
  teardown_ok(&o, "pod-new");
  cr_assert_not(fs_exists(f4));
  cr_assert(fs_exists(f3), "another pod's address was released");
  cr_assert_eq(address_files(state), 1);
}
