/* state.c — a container's state directory ROOT/ID: state.json (written at
 * create, updated at start), exit.json (written by the monitor when the
 * container ends), exec.fifo (present while the container waits for start).
 *
 * The status is never stored: it is derived on every read from what is on
 * disk and in /proc — exit.json means stopped; otherwise a live init (pid
 * plus start time, so a reused pid is not mistaken for it) means created
 * while exec.fifo exists and running after. That way a crashed runtime or
 * monitor can never leave a stale "running" behind. */
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *rt_status_name(rt_status s)
{
  switch (s) {
  case RT_CREATING:
    return "creating";
  case RT_CREATED:
    return "created";
  case RT_RUNNING:
    return "running";
  case RT_STOPPED:
    return "stopped";
  }
  return "unknown";
}

static bool id_valid(const char *id)
{
  if (!id
      || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')
           || (id[0] >= '0' && id[0] <= '9')))
    return false;
  size_t n = 0;
  for (const char *p = id; *p; p++, n++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '_' || *p == '.' || *p == '-'))
      return false;
  return n <= 256;
}

int rt_state_dir(const char *root, const char *id, char **out, berr_t *err)
{
  if (!id_valid(id))
    return berr_setc(err, EINVAL,
                     "invalid container id \"%s\": use letters, digits, '_', '.' and '-', "
                     "starting with a letter or digit (at most 256)",
                     id ? id : "");
  *out = path_join(root && *root ? root : RT_DEFAULT_ROOT, id);
  return 0;
}

int st_write_file(const char *path, const char *data, berr_t *err)
{
  cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return berr_set(err, errno, "create %s", tmp);
  size_t len = strlen(data);
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      int e = errno;
      unlink(tmp);
      return berr_set(err, e, "write %s", tmp);
    }
    data += w;
    len -= (size_t)w;
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return berr_set(err, e, "rename %s", path);
  }
  return 0;
}

json_t *st_load(const char *root, const char *id, berr_t *err)
{
  cleanup_free char *dir = NULL;
  if (rt_state_dir(root, id, &dir, err) < 0)
    return NULL;
  cleanup_free char *path = path_join(dir, "state.json");
  cleanup_free char *data = NULL;
  size_t len;
  berr_t e2 = BERR_INIT;
  if (fs_read_file(path, 0, &data, &len, &e2) < 0) {
    int code = e2.code;
    berr_clear(&e2);
    if (code == ENOENT) {
      berr_setc(err, ENOENT, "container %s does not exist", id);
    } else {
      berr_set(err, code, "read %s", path);
    }
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb(data, len, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    berr_setc(err, EINVAL, "%s: corrupt (%s)", path, je.text);
    return NULL;
  }
  return j;
}

int st_save(const char *root, const char *id, json_t *state, berr_t *err)
{
  cleanup_free char *dir = NULL;
  if (rt_state_dir(root, id, &dir, err) < 0)
    return -1;
  cleanup_free char *path = path_join(dir, "state.json");
  cleanup_free char *s = json_dumps(state, JSON_COMPACT);
  if (!s)
    return berr_set(err, ENOMEM, "encode %s", path);
  return st_write_file(path, s, err);
}

void st_remove(const char *dir)
{
  static const char *const files[]
      = { "state.json", "exit.json", "exec.fifo", "attach.sock", "config.snapshot.json", NULL };
  for (size_t i = 0; files[i]; i++) {
    cleanup_free char *p = path_join(dir, files[i]);
    unlink(p);
  }
  rmdir(dir); /* fails, harmlessly, when the caller keeps files here */
}

static int64_t time_field(json_t *j, const char *key)
{
  json_t *v = json_object_get(j, key);
  int64_t ns = 0;
  if (json_is_integer(v))
    return json_integer_value(v);
  if (json_is_string(v) && time_parse_rfc3339(json_string_value(v), &ns) == 0)
    return ns;
  return 0;
}

int rt_state_get(const char *root, const char *id, rt_state *out, berr_t *err)
{
  memset(out, 0, sizeof *out);
  cleanup_json json_t *st = st_load(root, id, err);
  if (!st)
    return -1;
  cleanup_free char *dir = NULL;
  rt_state_dir(root, id, &dir, NULL);
  out->id = xstrdup(id);
  out->bundle = xstrdup(json_str(st, "bundle") ? json_str(st, "bundle") : "");
  out->cgroup_path = json_str(st, "cgroupPath") ? xstrdup(json_str(st, "cgroupPath")) : NULL;
  json_t *ann = json_object_get(st, "annotations");
  out->annotations = json_is_object(ann) ? json_incref(ann) : json_object();
  out->created_ns = time_field(st, "created");
  out->started_ns = time_field(st, "started");
  out->exit_code = -1;

  pid_t pid = (pid_t)json_int(st, "pid", 0);
  uint64_t start = (uint64_t)json_int(st, "pidStartTime", 0);
  cleanup_free char *exit_path = path_join(dir, "exit.json");
  cleanup_json json_t *ex = fs_exists(exit_path) ? json_load_path(exit_path, NULL) : NULL;
  if (ex) {
    out->status = RT_STOPPED;
    out->exit_code = (int)json_int(ex, "exitCode", -1);
    out->exit_signal = (int)json_int(ex, "signal", 0);
    out->oom_killed = json_bool(ex, "oomKilled", false);
    out->finished_ns = time_field(ex, "finishedAt");
  } else if (pid > 0 && proc_alive(pid, start)) {
    cleanup_free char *fifo = path_join(dir, "exec.fifo");
    out->status = fs_exists(fifo) ? RT_CREATED : RT_RUNNING;
    out->pid = pid;
  } else {
    out->status = RT_STOPPED;
  }
  return 0;
}

void rt_state_free(rt_state *s)
{
  free(s->id);
  free(s->bundle);
  free(s->cgroup_path);
  json_decref(s->annotations);
  memset(s, 0, sizeof *s);
}

static int cmp_created(const void *a, const void *b)
{
  const rt_state *x = a, *y = b;
  if (x->created_ns != y->created_ns)
    return x->created_ns < y->created_ns ? -1 : 1;
  return strcmp(x->id, y->id);
}

int rt_list(const char *root, rt_state **out, size_t *n, berr_t *err)
{
  *out = NULL;
  *n = 0;
  const char *r = root && *root ? root : RT_DEFAULT_ROOT;
  cleanup_dir DIR *d = opendir(r);
  if (!d)
    return errno == ENOENT ? 0 : berr_set(err, errno, "open %s", r);
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!id_valid(de->d_name))
      continue; /* ".", "..", ".seccomp", the engine's ".lock" */
    rt_state st;
    berr_t e2 = BERR_INIT;
    if (rt_state_get(r, de->d_name, &st, &e2) < 0) {
      berr_clear(&e2); /* not a container (yet), or gone meanwhile */
      continue;
    }
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      *out = xrealloc(*out, cap * sizeof **out);
    }
    (*out)[(*n)++] = st;
  }
  if (*n > 1)
    qsort(*out, *n, sizeof **out, cmp_created);
  return 0;
}
