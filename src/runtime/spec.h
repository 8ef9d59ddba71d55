/* spec.h — config.json as the launcher needs it. The OCI config is parsed
 * and validated once, in the parent and before any process exists, into
 * plain C values (flags, bit masks, numbers): the child then runs a straight
 * sequence of system calls without touching JSON, and every mistake in the
 * config is reported with the name of its field ("process.user.uid: …"). */
#ifndef BERTH_RUNTIME_SPEC_H
#define BERTH_RUNTIME_SPEC_H

#include "runtime/internal.h"

#include <stdint.h>

/* Annotations that ask for berth-specific behaviour (see runtime.h). */
#define RT_ANN_LOWERDIR   "berth.overlay.lowerdir"
#define RT_ANN_UPPERDIR   "berth.overlay.upperdir"
#define RT_ANN_WORKDIR    "berth.overlay.workdir"
#define RT_ANN_INIT       "berth.init"
#define RT_ANN_AUTOREMOVE "berth.autoremove"

typedef struct rt_caps {
  bool set; /* process.capabilities present; else the caller's are kept */
  uint64_t bounding, effective, permitted, inheritable, ambient; /* 1 << CAP_X */
} rt_caps;

typedef struct rt_rlimit {
  int resource; /* RLIMIT_* */
  uint64_t soft, hard;
} rt_rlimit;

typedef struct rt_process {
  char **args; /* non-empty */
  char **env;  /* may be NULL */
  char *cwd;   /* absolute */
  bool terminal;
  uint16_t console_rows, console_cols; /* process.consoleSize; 0 = unset */
  uint32_t uid, gid;
  gid_t *gids; /* user.additionalGids */
  size_t n_gids;
  int umask; /* -1 = 0022 */
  rt_caps caps;
  rt_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privs;
  bool has_oom_score_adj;
  int oom_score_adj;
} rt_process;

typedef struct rt_mount {
  char *dest;                /* absolute, inside the container */
  char *type;                /* "bind" for bind mounts */
  char *source;              /* may be NULL */
  unsigned long flags;       /* MS_* for mount(2), without MS_BIND/MS_REC */
  unsigned long propagation; /* MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (+MS_REC), 0 = none */
  char *data;                /* filesystem options "a=b,c"; NULL = none */
  bool bind, recursive;      /* bind / rbind */
} rt_mount;

typedef struct rt_nsent {
  int flag;   /* CLONE_NEW* */
  char *path; /* join this namespace; NULL = create one */
} rt_nsent;

typedef struct rt_device {
  char *path;
  mode_t type; /* S_IFCHR, S_IFBLK, S_IFIFO */
  uint32_t major, minor, mode, uid, gid;
} rt_device;

typedef struct rt_spec {
  rt_process proc;
  char *root_path; /* root.path as written: relative to the bundle or absolute */
  bool root_readonly;
  char *hostname, *domainname; /* NULL = leave alone */
  rt_mount *mounts;
  size_t n_mounts;
  rt_nsent ns[8];
  size_t n_ns;
  int ns_listed;                    /* CLONE_NEW* of every namespace listed (created or joined) */
  int ns_create;                    /* those to create */
  char **masked, **readonly;        /* linux.maskedPaths, linux.readonlyPaths */
  unsigned long rootfs_propagation; /* applied to / of the new mount namespace */
  json_t *seccomp;                  /* linux.seccomp (borrowed); NULL = none */
  rt_resources res;
  char *cgroups_path; /* NULL = "/berth/ID" */
  json_t *sysctl;     /* linux.sysctl (borrowed), validated */
  rt_device *devices; /* linux.devices */
  size_t n_devices;
  json_t *annotations;                                /* borrowed; NULL when absent */
  char *overlay_lower, *overlay_upper, *overlay_work; /* from annotations */
  bool init;                                          /* berth.init = "true" */
} rt_spec;

/* Parses and validates a whole config.json. On failure *out is freed. */
int spec_parse(json_t *config, rt_spec *out, berr_t *err);
void spec_free(rt_spec *s);

/* A process object alone (rt_exec); field names in errors start with
 * "process.". */
int spec_parse_process(json_t *proc, rt_process *out, berr_t *err);
void spec_process_free(rt_process *p);

/* "pid", "network", … for CLONE_NEW* (NULL when unknown), and the
 * /proc/PID/ns/ file name for it ("net" for network). */
const char *spec_ns_name(int flag);
const char *spec_ns_file(int flag);

/* "RLIMIT_NOFILE" → RLIMIT_NOFILE; -1 when unknown. */
int spec_rlimit_resource(const char *name);
const char *spec_rlimit_name(int resource);

#endif
