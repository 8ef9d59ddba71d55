/* spec_default.c — rt_default_config(): the OCI config berth starts every
 * container from, with Docker's defaults.
 *
 * The seccomp profile is Docker's default profile, written out in OCI form
 * (so that config.json shows exactly what is enforced and crun or runc can
 * run the same bundle): an allow-list, every other system call fails with
 * EPERM, clone3 with ENOSYS (so that libc falls back to clone, which can be
 * filtered on its flags), clone only without namespace flags, personality
 * only with the harmless values, socket without AF_VSOCK. It denies
 * everything Docker's denies for a container without CAP_SYS_ADMIN (mount,
 * unshare, setns, keyctl, bpf, perf_event_open, kexec, modules, reboot,
 * swap, clock setting, open_by_handle_at, userfaultfd, …), and, like
 * Docker's profile on kernels before 4.8, ptrace, process_vm_readv/writev
 * and name_to_handle_at as well. */
#include "runtime/runtime.h"

#include <string.h>

static const char *const default_caps[] = { "CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_FSETID",
                                            "CAP_FOWNER",
                                            "CAP_MKNOD",
                                            "CAP_NET_RAW",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETFCAP",
                                            "CAP_SETPCAP",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_SYS_CHROOT",
                                            "CAP_KILL",
                                            "CAP_AUDIT_WRITE",
                                            NULL };

static const char *const masked_paths[] = { "/proc/acpi",
                                            "/proc/asound",
                                            "/proc/kcore",
                                            "/proc/keys",
                                            "/proc/latency_stats",
                                            "/proc/timer_list",
                                            "/proc/timer_stats",
                                            "/proc/sched_debug",
                                            "/proc/scsi",
                                            "/sys/firmware",
                                            "/sys/devices/virtual/powercap",
                                            NULL };

static const char *const readonly_paths[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };

/* Allowed unconditionally (Docker's list; names unknown to an architecture
   or to libseccomp are skipped when the filter is built). */
/* clang-format off */
static const char *const allowed_syscalls[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
    "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
    "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
    "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret",
    "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
    "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64",
    "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
    "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
    "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
    "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
    "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
    "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
    /* Docker's architecture-specific additions */
#if defined(__x86_64__)
    "arch_prctl", "modify_ldt",
#elif defined(__aarch64__)
    "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
    "set_tls",
#endif
    NULL};
/* clang-format on */

static json_t *strs(const char *const *v)
{
  json_t *a = json_array();
  for (size_t i = 0; v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *rule_arg(const char *name, int index, json_int_t value, const char *op)
{
  return json_pack("{s:[s],s:s,s:[{s:i,s:I,s:s}]}", "names", name, "action", "SCMP_ACT_ALLOW",
                   "args", "index", index, "value", value, "op", op);
}

static json_t *default_seccomp(void)
{
  json_t *arches;
#if defined(__x86_64__)
  arches = json_pack("[sss]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#elif defined(__aarch64__)
  arches = json_pack("[ss]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
  arches = json_array();
#endif
  json_t *rules = json_array();
  json_array_append_new(
      rules, json_pack("{s:o,s:s}", "names", strs(allowed_syscalls), "action", "SCMP_ACT_ALLOW"));
  json_array_append_new(rules, rule_arg("socket", 0, 40 /* AF_VSOCK */, "SCMP_CMP_NE"));
  static const json_int_t personas[] = { 0, 8, 0x20000, 0x20008, 0xffffffff };
  for (size_t i = 0; i < ARRAY_SIZE(personas); i++)
    json_array_append_new(rules, rule_arg("personality", 0, personas[i], "SCMP_CMP_EQ"));
  /* clone without CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
  json_array_append_new(rules, rule_arg("clone", 0, 0x7E020000, "SCMP_CMP_MASKED_EQ"));
  json_array_append_new(rules, json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action",
                                         "SCMP_ACT_ERRNO", "errnoRet", 38 /* ENOSYS */));
  return json_pack("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", 1,
                   "architectures", arches, "syscalls", rules);
}

static json_t *mount_entry(const char *dest, const char *type, const char *src, const char *opts)
{
  json_t *m = json_pack("{s:s,s:s,s:s}", "destination", dest, "type", type, "source", src);
  json_t *o = json_array();
  cleanup_free char *copy = xstrdup(opts);
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    json_array_append_new(o, json_string(t));
  json_object_set_new(m, "options", o);
  return m;
}

json_t *rt_default_config(void)
{
  json_t *process = json_pack(
      "{s:b,s:{s:i,s:i},s:[s],s:[ss],s:s,s:{s:o,s:o,s:o},s:[{s:s,s:I,s:I}],s:b}", "terminal", 0,
      "user", "uid", 0, "gid", 0, "args", "sh", "env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd", "/",
      "capabilities", "bounding", strs(default_caps), "effective", strs(default_caps), "permitted",
      strs(default_caps), "rlimits", "type", "RLIMIT_NOFILE", "hard", (json_int_t)1048576, "soft",
      (json_int_t)1048576, "noNewPrivileges", 1);

  json_t *mounts = json_array();
  json_array_append_new(mounts, mount_entry("/proc", "proc", "proc", "nosuid,noexec,nodev"));
  json_array_append_new(
      mounts, mount_entry("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  json_array_append_new(mounts,
                        mount_entry("/dev/pts", "devpts", "devpts",
                                    "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new(
      mounts, mount_entry("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
  json_array_append_new(mounts,
                        mount_entry("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  json_array_append_new(mounts, mount_entry("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
  json_array_append_new(
      mounts, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"));

  json_t *linux_
      = json_pack("{s:{},s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}],s:o,s:o,s:o}", "resources",
                  "namespaces", "type", "pid", "type", "network", "type", "ipc", "type", "uts",
                  "type", "mount", "type", "cgroup", "maskedPaths", strs(masked_paths),
                  "readonlyPaths", strs(readonly_paths), "seccomp", default_seccomp());

  return json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2", "process", process,
                   "root", "path", "rootfs", "readonly", 0, "hostname", "berth", "mounts", mounts,
                   "linux", linux_);
}
