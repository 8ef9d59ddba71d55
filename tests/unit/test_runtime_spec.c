/* test_runtime_spec.c — config.json parsing and validation (spec.c), the
 * default config (spec_default.c) and the seccomp compiler and cache
 * (seccomp.c). Every rejected input must name its field. */
#include "runtime/launch.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

static json_t *config(void)
{
  return rt_default_config();
}

/* Parses cfg (stolen) and expects failure with a message containing want. */
static void expect_error(json_t *cfg, const char *want)
{
  rt_spec s;
  berr_t err = BERR_INIT;
  int r = spec_parse(cfg, &s, &err);
  json_decref(cfg);
  cr_assert_lt(r, 0, "accepted; wanted an error with \"%s\"", want);
  cr_assert(err.msg && strstr(err.msg, want), "error [%s] lacks [%s]", err.msg, want);
  berr_clear(&err);
}

static json_t *proc_of(json_t *cfg)
{
  return json_object_get(cfg, "process");
}

static json_t *linux_of(json_t *cfg)
{
  return json_object_get(cfg, "linux");
}

Test(runtime_default, shape)
{
  cleanup_json json_t *c = config();
  cr_assert_str_eq(json_str(c, "ociVersion"), "1.0.2");
  json_t *p = proc_of(c);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(p, "args"), 0)), "sh");
  cr_assert(json_bool(p, "noNewPrivileges", false));
  cr_assert_not(json_bool(p, "terminal", true));
  json_t *caps = json_object_get(json_object_get(p, "capabilities"), "bounding");
  cr_assert_eq(json_array_size(caps), 14);
  bool has_sys_admin = false, has_net_raw = false;
  size_t i;
  json_t *e;
  json_array_foreach(caps, i, e)
  {
    has_sys_admin |= !strcmp(json_string_value(e), "CAP_SYS_ADMIN");
    has_net_raw |= !strcmp(json_string_value(e), "CAP_NET_RAW");
  }
  cr_assert_not(has_sys_admin);
  cr_assert(has_net_raw);
  json_t *rl = json_array_get(json_object_get(p, "rlimits"), 0);
  cr_assert_str_eq(json_str(rl, "type"), "RLIMIT_NOFILE");
  cr_assert_eq(json_int(rl, "hard", 0), 1048576);

  json_t *ns = json_object_get(linux_of(c), "namespaces");
  cr_assert_eq(json_array_size(ns), 6);
  cr_assert_eq(json_array_size(json_object_get(linux_of(c), "maskedPaths")), 11);
  cr_assert_eq(json_array_size(json_object_get(linux_of(c), "readonlyPaths")), 5);
  const char *dests[]
      = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup" };
  json_t *mounts = json_object_get(c, "mounts");
  cr_assert_eq(json_array_size(mounts), ARRAY_SIZE(dests));
  for (i = 0; i < ARRAY_SIZE(dests); i++)
    cr_assert_str_eq(json_str(json_array_get(mounts, i), "destination"), dests[i]);
}

Test(runtime_default, parses_into_spec)
{
  cleanup_json json_t *c = config();
  rt_spec s;
  berr_t err = BERR_INIT;
  cr_assert_eq(spec_parse(c, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(s.ns_create, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS
                                | CLONE_NEWCGROUP);
  cr_assert(s.proc.caps.set);
  cr_assert(s.proc.caps.bounding & (UINT64_C(1) << CAP_NET_BIND_SERVICE));
  cr_assert_not(s.proc.caps.bounding & (UINT64_C(1) << CAP_SYS_ADMIN));
  cr_assert_eq(s.proc.caps.effective, s.proc.caps.bounding);
  cr_assert(s.proc.no_new_privs);
  cr_assert_eq(s.proc.n_rlimits, 1);
  cr_assert_eq(s.proc.rlimits[0].resource, RLIMIT_NOFILE);
  cr_assert_str_eq(s.proc.cwd, "/");
  cr_assert_eq(s.n_mounts, 7);
  cr_assert_eq(s.mounts[5].flags & MS_RDONLY, MS_RDONLY); /* /sys */
  cr_assert_str_eq(s.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  cr_assert_eq(s.mounts[0].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
  cr_assert_not_null(s.seccomp);
  cr_assert_not(s.init);
  cr_assert_eq(s.proc.console_rows, 0);
  spec_free(&s);

  json_object_set_new(json_object_get(c, "process"), "consoleSize",
                      json_pack("{s:i,s:i}", "height", 31, "width", 97));
  cr_assert_eq(spec_parse(c, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(s.proc.console_rows, 31);
  cr_assert_eq(s.proc.console_cols, 97);
  spec_free(&s);
}

Test(runtime_spec, process_errors)
{
  json_t *c = config();
  json_object_set_new(proc_of(c), "args", json_array());
  expect_error(c, "process.args: must be a non-empty array of strings");

  c = config();
  json_object_del(c, "process");
  expect_error(c, "process: missing");

  c = config();
  json_object_set_new(proc_of(c), "cwd", json_string("relative/dir"));
  expect_error(c, "process.cwd: \"relative/dir\" must be an absolute path");

  c = config();
  json_object_set_new(proc_of(c), "env", json_pack("[s]", "NOEQUALS"));
  expect_error(c, "process.env[0]: \"NOEQUALS\" is not of the form NAME=VALUE");

  c = config();
  json_object_set_new(json_object_get(proc_of(c), "user"), "uid", json_integer(-5));
  expect_error(c, "process.user.uid: must be an integer between 0 and");

  c = config();
  json_object_set_new(json_object_get(proc_of(c), "user"), "additionalGids", json_pack("[s]", "x"));
  expect_error(c, "process.user.additionalGids[0]: must be an integer");

  c = config();
  json_array_append_new(json_object_get(json_object_get(proc_of(c), "capabilities"), "bounding"),
                        json_string("CAP_FLY"));
  expect_error(c, "process.capabilities.bounding[14]: unknown capability \"CAP_FLY\"");

  c = config();
  json_object_set_new(proc_of(c), "rlimits",
                      json_pack("[{s:s,s:i,s:i}]", "type", "RLIMIT_BOGUS", "soft", 1, "hard", 1));
  expect_error(c, "process.rlimits[0].type: unknown resource \"RLIMIT_BOGUS\"");

  c = config();
  json_object_set_new(proc_of(c), "rlimits",
                      json_pack("[{s:s,s:i,s:i}]", "type", "RLIMIT_NPROC", "soft", 10, "hard", 5));
  expect_error(c, "soft 10 is above hard 5");

  c = config();
  json_object_set_new(proc_of(c), "oomScoreAdj", json_integer(5000));
  expect_error(c, "process.oomScoreAdj: must be an integer between -1000 and 1000");

  c = config();
  json_object_set_new(proc_of(c), "terminal", json_string("yes"));
  expect_error(c, "process.terminal: must be true or false");

  c = config();
  json_object_set_new(proc_of(c), "consoleSize",
                      json_pack("{s:i,s:i}", "height", 70000, "width", 80));
  expect_error(c, "process.consoleSize.height");
}

Test(runtime_spec, root_mount_namespace_errors)
{
  json_t *c = config();
  json_object_del(json_object_get(c, "root"), "path");
  expect_error(c, "root.path: missing");

  c = config();
  json_object_set_new(c, "ociVersion", json_string("0.9"));
  expect_error(c, "ociVersion: \"0.9\" is not supported");

  c = config();
  json_object_set_new(json_array_get(json_object_get(c, "mounts"), 3), "destination",
                      json_string("dev/shm"));
  expect_error(c, "mounts[3].destination: must be an absolute path");

  c = config();
  json_object_set_new(json_array_get(json_object_get(c, "mounts"), 1), "destination",
                      json_string("/a/../../etc"));
  expect_error(c, "mounts[1].destination: must be an absolute path without \"..\"");

  c = config();
  json_array_append_new(json_object_get(c, "mounts"),
                        json_pack("{s:s,s:[s]}", "destination", "/data", "options", "rbind"));
  expect_error(c, "mounts[7] (/data): a bind mount needs a source");

  c = config();
  json_array_append_new(json_object_get(c, "mounts"), json_pack("{s:s}", "destination", "/x"));
  expect_error(c, "mounts[7] (/x): type missing");

  c = config();
  json_array_append_new(json_object_get(linux_of(c), "namespaces"),
                        json_pack("{s:s}", "type", "bogus"));
  expect_error(c, "linux.namespaces[6].type: unknown namespace type \"bogus\"");

  c = config();
  json_array_append_new(json_object_get(linux_of(c), "namespaces"),
                        json_pack("{s:s}", "type", "pid"));
  expect_error(c, "linux.namespaces[6]: pid given twice");

  c = config();
  json_array_append_new(json_object_get(linux_of(c), "namespaces"),
                        json_pack("{s:s}", "type", "user"));
  expect_error(c, "linux.namespaces[6]: user namespaces are not supported");

  c = config();
  json_object_set_new(json_array_get(json_object_get(linux_of(c), "namespaces"), 1), "path",
                      json_string("proc/1/ns/net"));
  expect_error(c, "linux.namespaces[1].path: \"proc/1/ns/net\" must be absolute");

  /* hostname without its own uts namespace */
  c = config();
  json_array_remove(json_object_get(linux_of(c), "namespaces"), 3);
  expect_error(c, "hostname: needs a new uts namespace");

  c = config();
  json_object_set_new(linux_of(c), "maskedPaths", json_pack("[s]", "proc/kcore"));
  expect_error(c, "linux.maskedPaths[0]: \"proc/kcore\" must be an absolute path");

  c = config();
  json_object_set_new(linux_of(c), "rootfsPropagation", json_string("sideways"));
  expect_error(c, "linux.rootfsPropagation: unknown value \"sideways\"");
}

Test(runtime_spec, resources_sysctl_annotations)
{
  json_t *c = config();
  json_object_set_new(linux_of(c), "resources", json_pack("{s:{s:i}}", "memory", "limit", 0));
  expect_error(c, "linux.resources.memory.limit: must be positive");

  c = config();
  json_object_set_new(linux_of(c), "resources", json_pack("{s:{s:i}}", "cpu", "shares", 1));
  expect_error(c, "linux.resources.cpu.shares: must be between 2 and 262144");

  c = config();
  json_object_set_new(linux_of(c), "cgroupsPath", json_string("system.slice:berth:x"));
  expect_error(c, "linux.cgroupsPath: \"system.slice:berth:x\" is not a cgroup path");

  c = config();
  json_object_set_new(linux_of(c), "sysctl", json_pack("{s:s}", "kernel.panic", "1"));
  expect_error(c, "linux.sysctl.kernel.panic: not allowed");

  c = config();
  json_object_set_new(linux_of(c), "sysctl", json_pack("{s:s}", "net/../../x", "1"));
  expect_error(c, "linux.sysctl: invalid name");

  c = config();
  json_object_set_new(c, "annotations", json_pack("{s:s}", RT_ANN_INIT, "yes"));
  expect_error(c, "annotations.berth.init: must be \"true\" or \"false\"");

  c = config();
  json_object_set_new(c, "annotations", json_pack("{s:s}", RT_ANN_AUTOREMOVE, "1"));
  expect_error(c, "annotations.berth.autoremove: must be \"true\" or \"false\"");

  c = config();
  json_object_set_new(c, "annotations", json_pack("{s:s}", RT_ANN_UPPERDIR, "/u"));
  expect_error(c, "berth.overlay.upperdir and berth.overlay.workdir go together");

  /* and what is right is taken */
  c = config();
  json_object_set_new(linux_of(c), "resources",
                      json_pack("{s:{s:I},s:{s:i},s:{s:I,s:I}}", "memory", "limit",
                                (json_int_t)64 << 20, "pids", "limit", 100, "cpu", "quota",
                                (json_int_t)50000, "period", (json_int_t)100000));
  json_object_set_new(linux_of(c), "sysctl", json_pack("{s:s}", "net.ipv4.ip_forward", "1"));
  json_object_set_new(c, "annotations",
                      json_pack("{s:s,s:s,s:s,s:s}", RT_ANN_INIT, "true", RT_ANN_LOWERDIR,
                                "/l1:/l2", RT_ANN_UPPERDIR, "/u", RT_ANN_WORKDIR, "/w"));
  rt_spec s;
  berr_t err = BERR_INIT;
  cr_assert_eq(spec_parse(c, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(s.res.memory_limit, 64 << 20);
  cr_assert_eq(s.res.pids_limit, 100);
  cr_assert_eq(s.res.cpu_quota, 50000);
  cr_assert_eq(s.res.cpu_period, 100000);
  cr_assert(s.init);
  cr_assert_str_eq(s.overlay_lower, "/l1:/l2");
  cr_assert_str_eq(s.overlay_work, "/w");
  spec_free(&s);
  json_decref(c);
}

Test(runtime_spec, mount_options)
{
  cleanup_json json_t *c = config();
  json_object_set_new(c, "mounts",
                      json_pack("[{s:s,s:s,s:s,s:[sssss]}]", "destination", "/v", "type", "none",
                                "source", "/srv", "options", "rbind", "ro", "nosuid", "rshared",
                                "custom=1"));
  rt_spec s;
  berr_t err = BERR_INIT;
  cr_assert_eq(spec_parse(c, &s, &err), 0, "%s", err.msg);
  cr_assert(s.mounts[0].bind);
  cr_assert(s.mounts[0].recursive);
  cr_assert_str_eq(s.mounts[0].type, "bind");
  cr_assert_eq(s.mounts[0].flags, MS_RDONLY | MS_NOSUID);
  cr_assert_eq(s.mounts[0].propagation, MS_SHARED | MS_REC);
  cr_assert_str_eq(s.mounts[0].data, "custom=1");
  spec_free(&s);
}

Test(runtime_spec, exec_process_alone)
{
  rt_process p;
  berr_t err = BERR_INIT;
  cleanup_json json_t *j = json_pack("{s:[ss],s:s,s:{s:i,s:i,s:i}}", "args", "ls", "-l", "cwd",
                                     "/tmp", "user", "uid", 1000, "gid", 100, "umask", 077);
  cr_assert_eq(spec_parse_process(j, &p, &err), 0, "%s", err.msg);
  cr_assert_str_eq(p.args[1], "-l");
  cr_assert_eq(p.uid, 1000);
  cr_assert_eq(p.umask, 077);
  cr_assert_not(p.caps.set);
  spec_process_free(&p);
}

Test(runtime_spec, rlimit_names)
{
  cr_assert_eq(spec_rlimit_resource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  cr_assert_eq(spec_rlimit_resource("NOFILE"), -1);
  cr_assert_str_eq(spec_rlimit_name(RLIMIT_NPROC), "RLIMIT_NPROC");
  cr_assert_str_eq(spec_ns_file(CLONE_NEWNET), "net");
  cr_assert_str_eq(spec_ns_name(CLONE_NEWNS), "mount");
}

/* ---- seccomp ----------------------------------------------------------------------- */

Test(runtime_seccomp, default_profile_compiles_and_caches)
{
  char root[] = "/tmp/berth-unit-sc.XXXXXX";
  cr_assert_not_null(mkdtemp(root));
  cleanup_json json_t *c = config();
  json_t *sec = json_object_get(linux_of(c), "seccomp");
  sc_filter a, b;
  berr_t err = BERR_INIT;
  int64_t t0 = time_mono_ns();
  cr_assert_eq(sc_prepare(sec, root, &a, &err), 0, "%s", err.msg);
  int64_t t1 = time_mono_ns();
  cr_assert_gt(a.prog.len, 100);
  cleanup_free char *dir = path_join(root, ".seccomp");
  cleanup_dir DIR *d = opendir(dir);
  cr_assert_not_null(d, "no cache directory");
  /* from the cache: the same program, and much faster */
  cr_assert_eq(sc_prepare(sec, root, &b, &err), 0, "%s", err.msg);
  int64_t t2 = time_mono_ns();
  cr_assert_eq(a.prog.len, b.prog.len);
  cr_assert_eq(memcmp(a.mem, b.mem, a.prog.len * sizeof(struct sock_filter)), 0);
  cr_log_info("seccomp: compile %lld us, cached %lld us", (long long)(t1 - t0) / 1000,
              (long long)(t2 - t1) / 1000);
  sc_free(&b);
  /* another profile: another program, not the cached one */
  json_object_set_new(sec, "defaultErrnoRet", json_integer(13));
  cr_assert_eq(sc_prepare(sec, root, &b, &err), 0, "%s", err.msg);
  cr_assert(a.prog.len != b.prog.len
            || memcmp(a.mem, b.mem, a.prog.len * sizeof(struct sock_filter)) != 0);
  sc_free(&a);
  sc_free(&b);
  fs_rm_rf(root, NULL);
}

Test(runtime_seccomp, errors_name_the_field)
{
  sc_filter f;
  berr_t err = BERR_INIT;
  cleanup_json json_t *bad_action
      = json_pack("{s:s,s:[{s:[s],s:s}]}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls", "names",
                  "getpid", "action", "SCMP_ACT_EXPLODE");
  cr_assert_lt(sc_prepare(bad_action, "/nonexistent-root", &f, &err), 0);
  cr_assert(strstr(err.msg, "linux.seccomp.syscalls[0]: unknown action \"SCMP_ACT_EXPLODE\""), "%s",
            err.msg);
  berr_clear(&err);
  cleanup_json json_t *bad_op = json_pack(
      "{s:s,s:[{s:[s],s:s,s:[{s:i,s:i,s:s}]}]}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls",
      "names", "socket", "action", "SCMP_ACT_ERRNO", "args", "index", 0, "value", 1, "op", "LIKE");
  cr_assert_lt(sc_prepare(bad_op, "/nonexistent-root", &f, &err), 0);
  cr_assert(strstr(err.msg, "linux.seccomp.syscalls[0].args[0].op: unknown \"LIKE\""), "%s",
            err.msg);
  berr_clear(&err);
  cleanup_json json_t *bad_arch = json_pack("{s:s,s:[s]}", "defaultAction", "SCMP_ACT_ALLOW",
                                            "architectures", "SCMP_ARCH_Z80");
  cr_assert_lt(sc_prepare(bad_arch, "/nonexistent-root", &f, &err), 0);
  cr_assert(strstr(err.msg, "linux.seccomp.architectures[0]: unknown \"SCMP_ARCH_Z80\""), "%s",
            err.msg);
  berr_clear(&err);
}
