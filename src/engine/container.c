/* container.c — the lifecycle of a container: create (image → bundle →
 * monitor), start, run attached, stop, kill, remove, prune.
 *
 * The engine works at the runtime's managed level: every container runs
 * under its own monitor process, so it outlives the command that started
 * it, and its exit status is recorded even when nobody is watching. A
 * container has two directories: ROOT/containers/ID/, what it is (kept
 * across reboots), and ROOT/run/containers/ID/, the runtime's state of its
 * processes (on a tmpfs, see run.c). Removal is an rm -rf of both after
 * rt_delete has released cgroups — which the monitor of an auto-remove
 * container (annotation berth.autoremove) does itself once the container
 * has ended, with nobody waiting.
 *
 * A reboot empties ROOT/run: a container without runtime state is then
 * either one never started (created) or one that was (exited, its exit code
 * unknown); meta.json's "started", written once, tells them apart. */
#include "engine/internal.h"

#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *eng_rt_root(const char *root)
{
  return path_join(root, "run/containers");
}

int engine_open(const char *root, engine **out, berr_t *err)
{
  cleanup_free char *dir = path_join(root, "containers");
  if (fs_mkdir_p(dir, 0700, err) < 0)
    return berr_wrap(err, "engine root %s", root);
  fs_spread_subdirs(dir);
  engine *e = xcalloc(1, sizeof *e);
  e->root = xstrdup(root);
  e->dir = steal_ptr(dir);
  e->rt = eng_rt_root(root);
  pthread_mutex_init(&e->cg_lock, NULL);
  e->spawn_fd = -1;
  eng_run_mount(e);
  *out = e;
  return 0;
}

void engine_close(engine *e)
{
  if (!e)
    return;
  engine_spawner_stop(e);
  free(e->root);
  free(e->dir);
  free(e->rt);
  strv_free(e->cg_mounts);
  pthread_mutex_destroy(&e->cg_lock);
  free(e);
}

const char *eng_status_word(rt_status s)
{
  switch (s) {
  case RT_CREATING:
  case RT_CREATED:
    return "created";
  case RT_RUNNING:
    return "running";
  case RT_STOPPED:
    return "exited";
  }
  return "unknown";
}

static bool being_created(engine *e, const char *id);

/* True when meta.json says the container was started (or is started as soon
 * as it is made: engine_create_opts.no_start unset). */
static bool was_started(json_t *meta)
{
  return json_bool(meta, "started", false);
}

int eng_state(engine *e, const char *id, rt_state *st, berr_t *err)
{
  *st = (rt_state){ 0 };
  cleanup_free char *state = eng_state_file(e, id, "state.json");
  if (!fs_exists(state)) {
    /* Being made, never started, or its state lost to a reboot. */
    cleanup_json json_t *meta = NULL;
    bool ran = eng_meta_load(e, id, &meta, NULL) == 0 && was_started(meta);
    st->id = xstrdup(id);
    st->status = ran && !being_created(e, id) ? RT_STOPPED : RT_CREATED;
    st->exit_code = -1;
    return 0;
  }
  if (rt_state_get(e->rt, id, st, err) < 0)
    return berr_wrap(err, "state of container %.12s", id);
  return 0;
}

int eng_status(engine *e, const char *id, rt_status *s, berr_t *err)
{
  rt_state st;
  if (eng_state(e, id, &st, err) < 0)
    return -1;
  *s = st.status;
  rt_state_free(&st);
  return 0;
}

/* Best-effort calls whose failure changes nothing for the caller (the
 * runtime wants a berr_t even then). */
static void kill_quiet(engine *e, const char *id)
{
  berr_t err = BERR_INIT;
  rt_kill(e->rt, id, SIGKILL, true, &err);
  berr_clear(&err);
}

static int wait_quiet(engine *e, const char *id, int timeout_ms)
{
  berr_t err = BERR_INIT;
  int r = rt_wait_stopped(e->rt, id, timeout_ms, &err);
  berr_clear(&err);
  return r;
}

/* The user-facing name of a container for messages (its id when unknown). */
static char *display_name(engine *e, const char *id)
{
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, NULL) == 0 && json_str(meta, "name"))
    return xstrdup(json_str(meta, "name"));
  return xstrndup(id, 12);
}

/* True while another process is still making the container: it has no
 * runtime state yet and its directory is flock'ed (see claim_and_write). */
static bool being_created(engine *e, const char *id)
{
  cleanup_free char *statef = eng_state_file(e, id, "state.json");
  if (fs_exists(statef))
    return false;
  cleanup_free char *dir = eng_ctr_dir(e, id);
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* ---- create ---------------------------------------------------------------- */

static json_t *binds_json(const engine_create_opts *o)
{
  json_t *a = json_array();
  for (size_t i = 0; i < o->n_binds; i++)
    json_array_append_new(
        a, json_sprintf("%s:%s%s", o->binds[i].host, o->binds[i].ctr, o->binds[i].ro ? ":ro" : ""));
  return a;
}

/* The string members of labels (others are dropped). */
static json_t *labels_copy(json_t *labels)
{
  json_t *out = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) if (json_is_string(v)) json_object_set(out, k, v);
  return out;
}

static json_t *build_meta(const engine_create_opts *o, img_image *img, json_t *oci, const char *id,
                          const char *bundle, berr_t *err)
{
  cleanup_strv char **ep = NULL, **cmd = NULL;
  if (eng_merge_command(img->config, o, &ep, &cmd, err) < 0)
    return NULL;
  json_t *proc = json_object_get(oci, "process");
  const char *user = o->user ? o->user : json_str(img->config, "User");
  json_t *ports = json_object_get(img->config, "ExposedPorts");
  const char *stop = json_str(img->config, "StopSignal");
  cleanup_free char *log = path_join(bundle, "ctr.log");
  json_t *m = json_object();
  json_object_set_new(m, "id", json_string(id));
  json_object_set_new(m, "image", json_string(o->image));
  json_object_set_new(m, "image_id", json_string(img->id));
  json_object_set_new(m, "created", json_integer(time_now_ns()));
  json_object_set_new(m, "entrypoint", strv_to_json(ep));
  json_object_set_new(m, "cmd", strv_to_json(cmd));
  json_object_set(m, "env", json_object_get(proc, "env"));
  json_object_set(m, "workdir", json_object_get(proc, "cwd"));
  json_object_set_new(m, "user", json_string(user ? user : ""));
  json_object_set(m, "hostname", json_object_get(oci, "hostname"));
  json_object_set_new(m, "tty", json_boolean(o->tty));
  json_object_set_new(m, "stdin", json_boolean(o->stdin_open));
  json_object_set_new(m, "binds", binds_json(o));
  json_object_set_new(m, "memory", json_integer(o->memory));
  json_object_set_new(m, "nano_cpus", json_integer(o->nano_cpus));
  json_object_set_new(m, "pids_limit", json_integer(o->pids_limit));
  json_object_set_new(m, "read_only", json_boolean(o->read_only));
  json_object_set_new(m, "init", json_boolean(o->init));
  json_object_set_new(m, "auto_remove", json_boolean(o->auto_remove));
  json_object_set_new(m, "log_opts", strv_to_json(o->log_opts));
  json_object_set_new(m, "labels", labels_copy(o->labels));
  if (o->cgroup_parent)
    json_object_set_new(m, "cgroup_parent", json_string(o->cgroup_parent));
  json_object_set_new(m, "exposed_ports",
                      json_is_object(ports) ? json_deep_copy(ports) : json_object());
  if (stop)
    json_object_set_new(m, "stop_signal", json_string(stop));
  json_object_set_new(m, "log_path", json_string(log));
  /* Written now when the container is started at once: no second write of
   * meta.json on the way to running. */
  if (!o->no_start)
    json_object_set_new(m, "started", json_true());
  return m;
}

/* Claims a name under the lock and makes the container directory, flock'ed
 * (*busy) until the container is under its monitor: prune leaves a
 * container alone while it is being created. Then, without the lock, the
 * bundle: config.json, and meta.json last (a directory without it is not a
 * container yet). */
static int claim_and_write(engine *e, const engine_create_opts *o, json_t *meta, json_t *oci,
                           const char *id, const char *dir, bool empty_lower, int *busy,
                           berr_t *err)
{
  {
    cleanup_eng_lock int lock = eng_lock(e, err);
    if (lock < 0)
      return -1;
    cleanup_free char *name = NULL;
    if (o->name) {
      if (eng_name_claim(e, o->name, id, err) < 0)
        return -1;
      name = xstrdup(o->name);
    } else {
      for (int i = 0; !name; i++) {
        name = engine_name_generate();
        if (i >= 20) { /* the word lists are small: add a number */
          char *n = xasprintf("%s_%d", name, i);
          free(name);
          name = n;
        }
        berr_t cerr = BERR_INIT;
        if (eng_name_claim(e, name, id, &cerr) < 0) {
          free(name);
          name = NULL;
          if (cerr.code != EEXIST) {
            berr_move(err, &cerr);
            return -1;
          }
          berr_clear(&cerr);
        }
      }
    }
    json_object_set_new(meta, "name", json_string(name));
    if (mkdir(dir, 0700) < 0) {
      int en = errno;
      eng_name_release(e, name, id);
      return berr_set(err, en, "mkdir %s", dir);
    }
    *busy = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*busy < 0 || flock(*busy, LOCK_EX) < 0)
      return berr_set(err, errno, "lock %s", dir);
  }
  static const char *const subdirs[] = { "upper", "work" };
  for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
    cleanup_free char *p = path_join(dir, subdirs[i]);
    if (mkdir(p, 0755) < 0)
      return berr_set(err, errno, "mkdir %s", p);
  }
  if (empty_lower) {
    cleanup_free char *p = path_join(dir, "empty");
    if (mkdir(p, 0755) < 0)
      return berr_set(err, errno, "mkdir %s", p);
  }
  cleanup_free char *cfg = path_join(dir, "config.json");
  if (eng_save_json(cfg, oci, !o->no_sync, err) < 0)
    return -1;
  cleanup_free char *mp = path_join(dir, "meta.json");
  return eng_save_json(mp, meta, !o->no_sync, err);
}

int eng_save_json(const char *path, json_t *j, bool sync, berr_t *err)
{
  if (sync)
    return json_save_atomic(path, j, err);
  cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)gettid());
  if (json_dump_file(j, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return berr_set(err, e ? e : EIO, "write %s", path);
  }
  return 0;
}

/* ROOT/run/containers/ID and the rootfs mount point in it (root.path of the
 * containers made since the state moved there): made for a new container,
 * and again for one whose state a reboot took. The runtime makes the state
 * directory with mode 0711; so do we. */
static int state_dir_make(engine *e, const char *id, berr_t *err)
{
  cleanup_free char *dir = eng_state_dir(e, id);
  int r = mkdir(dir, 0711);
  if (r < 0 && errno == ENOENT) {
    /* ROOT/run was unmounted under this handle (a long-lived agent's). */
    eng_run_mount(e);
    r = mkdir(dir, 0711);
  }
  if (r < 0 && errno != EEXIST)
    return berr_set(err, errno, "mkdir %s", dir);
  cleanup_free char *rootfs = path_join(dir, "rootfs");
  if (mkdir(rootfs, 0755) < 0 && errno != EEXIST)
    return berr_set(err, errno, "mkdir %s", rootfs);
  return 0;
}

/* Puts a container under a new monitor, in the created state: when it is
 * made, and again when an exited container is started. config NULL: the
 * bundle's config.json. */
static int monitor_container(engine *e, const char *id, json_t *meta, json_t *config,
                             int *exec_status, berr_t *err)
{
  rt_monitor_opts mo;
  rt_monitor_opts_init(&mo);
  cleanup_strv char **log_opts = NULL;
  if (json_to_strv(json_object_get(meta, "log_opts"), &log_opts, err) < 0
      || engine_parse_log_opts(log_opts, &mo.log_max_bytes, &mo.log_max_files, err) < 0
      || state_dir_make(e, id, err) < 0)
    return -1;
  cleanup_free char *dir = eng_ctr_dir(e, id);
  cleanup_free char *log = path_join(dir, "ctr.log");
  mo.create.root = e->rt;
  mo.create.id = id;
  mo.create.bundle = dir;
  mo.create.config = config;
  mo.remove_dir = dir; /* auto-remove: the container's files go with its state */
  mo.log_path = log;
  mo.stdin_open = json_bool(meta, "stdin", false);
  mo.exec_status = exec_status;
  pid_t pid = 0;
  return rt_monitor_create(&mo, &pid, err);
}

int engine_create(engine *e, const engine_create_opts *o, char **id_out, int *exec_status,
                  berr_t *err)
{
  if (!o->image || !*o->image)
    return berr_setc(err, EINVAL, "no image given");
  if (o->name && engine_name_check(o->name, err) < 0)
    return -1;
  int sr = eng_spawn_create(e, o, id_out, exec_status, err);
  if (sr <= 0)
    return sr;

  int64_t t0 = time_mono_ns();
  img_store *store = NULL;
  if (img_store_open(e->root, &store, err) < 0)
    return -1;
  img_image *img = NULL;
  int r = img_resolve(store, o->image, &img, err);
  img_store_close(store);
  if (r < 0)
    return -1;
  int64_t t1 = time_mono_ns();

  cleanup_free char *id = engine_id_generate();
  cleanup_free char *dir = eng_ctr_dir(e, id);
  cleanup_free char *rootfs = eng_state_file(e, id, "rootfs");
  cleanup_json json_t *oci = NULL, *meta = NULL;
  if (engine_build_config(img->config, img->layer_dirs, o, id, dir, rootfs, &oci, err) < 0
      || !(meta = build_meta(o, img, oci, id, dir, err))) {
    img_image_free(img);
    return -1;
  }
  bool empty_lower = strv_len(img->layer_dirs) == 0;
  img_image_free(img);

  cleanup_close int busy = -1;
  berr_t cerr = BERR_INIT;
  if (claim_and_write(e, o, meta, oci, id, dir, empty_lower, &busy, &cerr) < 0) {
    if (cerr.code != EEXIST)
      fs_rm_rf(dir, NULL); /* the stale name link goes with the next claim */
    berr_move(err, &cerr);
    return -1;
  }

  int64_t t2 = time_mono_ns();
  r = monitor_container(e, id, meta, oci, exec_status, err);
  flock(busy, LOCK_UN); /* for every copy: the container's init holds one until it starts */
  if (r < 0) {
    berr_t derr = BERR_INIT;
    rt_delete(e->rt, id, true, &derr);
    berr_clear(&derr);
    cleanup_free char *sdir = eng_state_dir(e, id);
    fs_rm_rf(sdir, NULL);
    fs_rm_rf(dir, NULL);
    return berr_wrap(err, "create container from %s", o->image);
  }
  log_debug("msg=\"container created\" id=%s name=%s image=%s image_us=%lld bundle_us=%lld "
            "monitor_us=%lld",
            id, json_str(meta, "name"), o->image, (long long)(t1 - t0) / 1000,
            (long long)(t2 - t1) / 1000, (long long)(time_mono_ns() - t2) / 1000);
  *id_out = steal_ptr(id);
  return 0;
}

/* ---- start and run ----------------------------------------------------------- */

static int start_created(engine *e, const char *id, berr_t *err)
{
  if (rt_start(e->rt, id, err) < 0)
    return berr_wrap(err, "start container %.12s", id);
  return 0;
}

/* meta.json's "started", written before the first start of a container made
 * with no_start: from then on, a reboot leaves it exited, not created. */
static int mark_started(engine *e, const char *id, json_t *meta, berr_t *err)
{
  if (was_started(meta))
    return 0;
  json_object_set_new(meta, "started", json_true());
  cleanup_free char *path = eng_ctr_file(e, id, "meta.json");
  if (eng_save_json(path, meta, true, err) < 0)
    return berr_wrap(err, "start container %.12s", id);
  return 0;
}

/* An exited container starts again as docker's does: the same bundle and
 * writable layer, its log appended to. The runtime state of the last run
 * goes (a reboot may have taken it already) and a new monitor takes the
 * container, in the created state. */
static int recreate(engine *e, const char *id, json_t *meta, bool had_state, berr_t *err)
{
  if (had_state && rt_delete(e->rt, id, false, err) < 0)
    return berr_wrap(err, "start container %.12s", id);
  if (monitor_container(e, id, meta, NULL, NULL, err) < 0)
    return berr_wrap(err, "start container %.12s", id);
  return 0;
}

int engine_start(engine *e, const char *id, berr_t *err)
{
  cleanup_json json_t *meta = NULL;
  rt_status s;
  if (eng_meta_load(e, id, &meta, err) < 0 || eng_status(e, id, &s, err) < 0)
    return -1;
  cleanup_free char *statef = eng_state_file(e, id, "state.json");
  bool had_state = fs_exists(statef);
  if (s == RT_RUNNING) {
    cleanup_free char *name = display_name(e, id);
    return berr_setc(err, EINVAL, "container %s cannot be started: it is running", name);
  }
  if (!had_state && being_created(e, id))
    return berr_setc(err, EBUSY, "container %.12s is being created", id);
  if (mark_started(e, id, meta, err) < 0)
    return -1;
  /* Stopped, or without runtime state (after a reboot, or a start that
   * failed half-way). */
  if ((s == RT_STOPPED || !had_state) && recreate(e, id, meta, had_state, err) < 0)
    return -1;
  return start_created(e, id, err);
}

int engine_run_attached(engine *e, const char *id, int in_fd, int out_fd, int err_fd,
                        int *exit_code, berr_t *err)
{
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, err) < 0 || mark_started(e, id, meta, err) < 0)
    return -1;
  /* Connected before the start: the monitor serves this connection ahead of
   * any output, so not a byte is missed. */
  int sock = -1;
  if (rt_attach_open(e->rt, id, &sock, err) < 0)
    return berr_wrap(err, "attach to container %.12s", id);
  if (start_created(e, id, err) < 0) {
    close(sock);
    kill_quiet(e, id); /* nothing will run: do not leave it waiting */
    return -1;
  }
  if (rt_attach_io(e->rt, id, sock, in_fd, out_fd, err_fd, exit_code, err) < 0)
    return berr_wrap(err, "attach to container %.12s", id);
  return 0;
}

/* ---- stop, kill, remove -------------------------------------------------------- */

int engine_kill(engine *e, const char *id, int sig, berr_t *err)
{
  rt_status s;
  if (eng_status(e, id, &s, err) < 0)
    return -1;
  if (s != RT_RUNNING) {
    cleanup_free char *name = display_name(e, id);
    return berr_setc(err, ESRCH, "container %s is not running", name);
  }
  if (rt_kill(e->rt, id, sig, false, err) < 0)
    return berr_wrap(err, "kill container %.12s", id);
  return 0;
}

int engine_stop(engine *e, const char *id, int sig, int timeout_s, berr_t *err)
{
  rt_status s;
  if (eng_status(e, id, &s, err) < 0)
    return -1;
  if (s == RT_STOPPED)
    return 0;
  if (s == RT_CREATED || s == RT_CREATING) {
    /* Never started: there is nothing to ask politely. */
    kill_quiet(e, id);
    return wait_quiet(e, id, 5000) == 1 ? 0
                                        : berr_setc(err, ETIMEDOUT,
                                                    "stop container %.12s: "
                                                    "still there 5 s after SIGKILL",
                                                    id);
  }
  if (sig == 0) {
    cleanup_json json_t *meta = NULL;
    const char *ss = NULL;
    if (eng_meta_load(e, id, &meta, NULL) == 0)
      ss = json_str(meta, "stop_signal");
    berr_t serr = BERR_INIT;
    if (!ss || rt_parse_signal(ss, &sig, &serr) < 0)
      sig = SIGTERM;
    berr_clear(&serr);
  }
  if (rt_kill(e->rt, id, sig, false, err) < 0) {
    /* It may have stopped between the state check and the signal. */
    if (eng_status(e, id, &s, NULL) == 0 && s == RT_STOPPED) {
      berr_clear(err);
      return 0;
    }
    return berr_wrap(err, "stop container %.12s", id);
  }
  int r = rt_wait_stopped(e->rt, id, timeout_s < 0 ? 0 : timeout_s * 1000, err);
  if (r < 0)
    return berr_wrap(err, "stop container %.12s", id);
  if (r == 1)
    return 0;
  log_info("msg=\"grace period over, killing\" id=%s timeout=%d", id, timeout_s);
  if (rt_kill(e->rt, id, SIGKILL, true, err) < 0)
    return berr_wrap(err, "stop container %.12s", id);
  r = rt_wait_stopped(e->rt, id, 10000, err);
  if (r < 0)
    return berr_wrap(err, "stop container %.12s", id);
  if (r == 0)
    return berr_setc(err, ETIMEDOUT, "stop container %.12s: still running 10 s after SIGKILL", id);
  return 0;
}

int engine_remove(engine *e, const char *id, bool force, berr_t *err)
{
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, err) < 0)
    return -1;
  const char *name = json_str(meta, "name");
  rt_status s;
  if (eng_status(e, id, &s, err) < 0)
    return -1;
  if (s == RT_RUNNING && !force)
    return berr_setc(err, EBUSY, "container %s is running: stop it first or use rm -f",
                     name ? name : id);
  cleanup_free char *statef = eng_state_file(e, id, "state.json");
  if (fs_exists(statef)) {
    if (s != RT_STOPPED) {
      kill_quiet(e, id);
      wait_quiet(e, id, 5000);
    }
    if (rt_delete(e->rt, id, true, err) < 0 && fs_exists(statef))
      return berr_wrap(err, "remove container %s", name ? name : id);
    berr_clear(err);
  } else {
    eng_cgroup_drop(e, id);
  }
  /* The state first: a container whose files could not all go is still
   * listed (exited), and can be removed again. */
  cleanup_free char *sdir = eng_state_dir(e, id);
  cleanup_free char *dir = eng_ctr_dir(e, id);
  if (fs_rm_rf(sdir, err) < 0 || fs_rm_rf(dir, err) < 0)
    return berr_wrap(err, "remove container %s", name ? name : id);
  cleanup_eng_lock int lock = eng_lock(e, NULL);
  eng_name_release(e, name, id);
  log_debug("msg=\"container removed\" id=%s", id);
  return 0;
}

int engine_prune(engine *e, char ***removed, berr_t *err)
{
  *removed = NULL;
  cleanup_strv char **ids = eng_all_ids(e);
  for (size_t i = 0; ids[i]; i++) {
    rt_status s;
    if (eng_status(e, ids[i], &s, NULL) < 0)
      continue;
    /* Every container that does not run, the never started ones too. */
    if (s == RT_RUNNING || being_created(e, ids[i]))
      continue;
    berr_t rerr = BERR_INIT;
    if (engine_remove(e, ids[i], false, &rerr) < 0) {
      /* removed meanwhile (auto-remove), or started meanwhile */
      if (rerr.code == ENOENT || rerr.code == EBUSY) {
        berr_clear(&rerr);
        continue;
      }
      berr_move(err, &rerr);
      return -1;
    }
    strv_push(removed, ids[i]);
  }
  cleanup_eng_lock int lock = eng_lock(e, NULL);
  if (lock >= 0)
    eng_names_gc(e);
  return 0;
}
