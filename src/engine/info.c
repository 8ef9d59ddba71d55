/* info.c — looking at containers: the listing behind `ls`, the docker-style
 * inspect object, status lines such as "Exited (0) 5 seconds ago", resource
 * samples for `stats` and the log reader. meta.json says what the container
 * was asked to be; the runtime's state says what it is doing now. */
#include "engine/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void engine_info_clear(engine_info *i)
{
  if (!i)
    return;
  free(i->id);
  free(i->name);
  free(i->image);
  free(i->image_id);
  free(i->command);
  json_decref(i->labels);
  *i = (engine_info){ 0 };
}

void engine_infos_free(engine_info *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    engine_info_clear(&v[i]);
  free(v);
}

static char *join_command(json_t *meta)
{
  buf_t b = { 0 };
  const char *keys[] = { "entrypoint", "cmd" };
  for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(meta, keys[k]), i, a)
        buf_printf(&b, "%s%s", b.len ? " " : "", json_string_value(a) ? json_string_value(a) : "");
  }
  return b.data ? buf_steal(&b) : xstrdup("");
}

int engine_info_get(engine *e, const char *id, engine_info *out, berr_t *err)
{
  *out = (engine_info){ 0 };
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, err) < 0)
    return -1;
  rt_state st;
  if (eng_state(e, id, &st, err) < 0)
    return -1;
  out->id = xstrdup(id);
  out->name = xstrdup(json_str(meta, "name") ? json_str(meta, "name") : "");
  out->image = xstrdup(json_str(meta, "image") ? json_str(meta, "image") : "");
  out->image_id = xstrdup(json_str(meta, "image_id") ? json_str(meta, "image_id") : "");
  out->command = join_command(meta);
  out->created_ns = json_int(meta, "created", 0);
  out->started_ns = st.started_ns;
  out->finished_ns = st.finished_ns;
  out->status = st.status;
  out->pid = st.status == RT_RUNNING ? st.pid : 0;
  out->exit_code = st.exit_code;
  out->oom_killed = st.oom_killed;
  if (st.status == RT_STOPPED && !st.finished_ns) {
    /* The monitor removes attach.sock only after writing exit.json. */
    cleanup_free char *exitf = eng_state_file(e, id, ENGINE_EXIT_FILE);
    cleanup_free char *sock = eng_state_file(e, id, "attach.sock");
    out->exit_pending = !fs_exists(exitf) && fs_exists(sock);
  }
  rt_state_free(&st);
  const char *ss = json_str(meta, "stop_signal");
  if (!ss || rt_parse_signal(ss, &out->stop_signal, NULL) < 0)
    out->stop_signal = SIGTERM;
  json_t *labels = json_object_get(meta, "labels");
  out->labels = json_is_object(labels) ? json_incref(labels) : json_object();
  return 0;
}

const char *engine_info_label(const engine_info *i, const char *key)
{
  return json_str(i->labels, key);
}

bool engine_err_is_no_image(const berr_t *err)
{
  return err && err->code == ENOENT && err->msg && strstr(err->msg, "unknown image ");
}

static int by_created_desc(const void *a, const void *b)
{
  const engine_info *x = a, *y = b;
  return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

int engine_list(engine *e, bool all, engine_info **out, size_t *n, berr_t *err)
{
  cleanup_strv char **ids = eng_all_ids(e);
  size_t cap = strv_len(ids), cnt = 0;
  engine_info *v = xcalloc(cap + 1, sizeof *v);
  for (size_t i = 0; ids[i]; i++) {
    berr_t ierr = BERR_INIT;
    if (engine_info_get(e, ids[i], &v[cnt], &ierr) < 0) {
      /* Removed while we looked, or unreadable: one bad container must not
       * hide the others. */
      if (ierr.code != ENOENT)
        log_warn("msg=\"cannot read container\" id=%s err=\"%s\"", ids[i], ierr.msg);
      berr_clear(&ierr);
      continue;
    }
    if (!all && v[cnt].status != RT_RUNNING) {
      engine_info_clear(&v[cnt]);
      continue;
    }
    cnt++;
  }
  qsort(v, cnt, sizeof *v, by_created_desc);
  *out = v;
  *n = cnt;
  return 0;
}

/* "3 seconds", "About a minute", "5 minutes", "About an hour", "2 days". */
static char *human_duration(int64_t ns)
{
  int64_t s = ns / 1000000000;
  if (s < 1)
    return xstrdup("Less than a second");
  if (s < 60)
    return xasprintf("%lld second%s", (long long)s, s == 1 ? "" : "s");
  int64_t m = s / 60;
  if (m == 1)
    return xstrdup("About a minute");
  if (m < 60)
    return xasprintf("%lld minutes", (long long)m);
  int64_t h = m / 60;
  if (h == 1)
    return xstrdup("About an hour");
  if (h < 48)
    return xasprintf("%lld hours", (long long)h);
  return xasprintf("%lld days", (long long)(h / 24));
}

char *engine_status_text(const engine_info *i)
{
  int64_t now = time_now_ns();
  switch (i->status) {
  case RT_RUNNING: {
    cleanup_free char *d = human_duration(i->started_ns ? now - i->started_ns : 0);
    return xasprintf("Up %s", d);
  }
  case RT_STOPPED: {
    int code = i->exit_code >= 0 ? i->exit_code : ENGINE_EXIT_UNKNOWN;
    if (!i->finished_ns)
      return xasprintf("Exited (%d)", code);
    cleanup_free char *d = human_duration(now - i->finished_ns);
    return xasprintf("Exited (%d) %s ago", code, d);
  }
  default:
    return xstrdup("Created");
  }
}

/* ---- inspect ---------------------------------------------------------------- */

static json_t *time_json(int64_t ns)
{
  if (!ns)
    return json_string("0001-01-01T00:00:00Z");
  cleanup_free char *s = time_rfc3339(ns);
  return json_string(s);
}

static json_t *get_or(json_t *meta, const char *key, json_t *dflt)
{
  json_t *v = json_object_get(meta, key);
  if (v) {
    json_decref(dflt);
    return json_incref(v);
  }
  return dflt;
}

/* docker's LogConfig: the driver (the CRI format is podman's "k8s-file") and
 * the --log-opt given, as KEY: VALUE strings. */
static json_t *log_config(json_t *meta)
{
  json_t *cfg = json_object();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(meta, "log_opts"), i, v)
  {
    const char *kv = json_string_value(v), *eq = kv ? strchr(kv, '=') : NULL;
    if (eq) {
      cleanup_free char *key = xstrndup(kv, (size_t)(eq - kv));
      json_object_set_new(cfg, key, json_string(eq + 1));
    }
  }
  return json_pack("{s:s,s:o}", "Type", "k8s-file", "Config", cfg);
}

int engine_inspect(engine *e, const char *id, json_t **out, berr_t *err)
{
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, err) < 0)
    return -1;
  rt_state st;
  if (eng_state(e, id, &st, err) < 0)
    return -1;

  cleanup_strv char **args = NULL;
  const char *keys[] = { "entrypoint", "cmd" };
  for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(meta, keys[k]), i, a) if (json_is_string(a))
        strv_push(&args, json_string_value(a));
  }
  json_t *jargs = json_array();
  for (size_t i = 1; args && args[i]; i++)
    json_array_append_new(jargs, json_string(args[i]));

  json_t *state = json_object();
  json_object_set_new(state, "Status", json_string(eng_status_word(st.status)));
  json_object_set_new(state, "Running", json_boolean(st.status == RT_RUNNING));
  json_object_set_new(state, "Pid", json_integer(st.status == RT_RUNNING ? st.pid : 0));
  int code = st.status != RT_STOPPED ? 0 : st.exit_code >= 0 ? st.exit_code : ENGINE_EXIT_UNKNOWN;
  json_object_set_new(state, "ExitCode", json_integer(code));
  json_object_set_new(state, "OOMKilled", json_boolean(st.oom_killed));
  json_object_set_new(state, "StartedAt", time_json(st.started_ns));
  json_object_set_new(state, "FinishedAt", time_json(st.finished_ns));
  rt_state_free(&st);

  json_t *cfg = json_object();
  json_object_set_new(cfg, "Image", get_or(meta, "image", json_string("")));
  json_object_set_new(cfg, "Cmd", get_or(meta, "cmd", json_array()));
  json_object_set_new(cfg, "Entrypoint", get_or(meta, "entrypoint", json_array()));
  json_object_set_new(cfg, "Env", get_or(meta, "env", json_array()));
  json_object_set_new(cfg, "WorkingDir", get_or(meta, "workdir", json_string("")));
  json_object_set_new(cfg, "User", get_or(meta, "user", json_string("")));
  json_object_set_new(cfg, "Hostname", get_or(meta, "hostname", json_string("")));
  json_object_set_new(cfg, "Tty", json_boolean(json_bool(meta, "tty", false)));
  json_object_set_new(cfg, "OpenStdin", json_boolean(json_bool(meta, "stdin", false)));
  json_object_set_new(cfg, "ExposedPorts", get_or(meta, "exposed_ports", json_object()));
  json_object_set_new(cfg, "Labels", get_or(meta, "labels", json_object()));

  json_t *host = json_object();
  json_object_set_new(host, "Binds", get_or(meta, "binds", json_array()));
  json_object_set_new(host, "Memory", json_integer(json_int(meta, "memory", 0)));
  json_object_set_new(host, "NanoCpus", json_integer(json_int(meta, "nano_cpus", 0)));
  json_object_set_new(host, "PidsLimit", json_integer(json_int(meta, "pids_limit", 0)));
  json_object_set_new(host, "ReadonlyRootfs", json_boolean(json_bool(meta, "read_only", false)));
  json_object_set_new(host, "Init", json_boolean(json_bool(meta, "init", false)));
  json_object_set_new(host, "AutoRemove", json_boolean(json_bool(meta, "auto_remove", false)));
  json_object_set_new(host, "LogConfig", log_config(meta));

  json_t *o = json_object();
  json_object_set_new(o, "Id", json_string(id));
  json_object_set_new(o, "Name", get_or(meta, "name", json_string("")));
  json_object_set_new(o, "Created", time_json(json_int(meta, "created", 0)));
  json_object_set_new(o, "Path", json_string(args && args[0] ? args[0] : ""));
  json_object_set_new(o, "Args", jargs);
  json_object_set_new(o, "State", state);
  json_object_set_new(o, "Image", get_or(meta, "image_id", json_string("")));
  json_object_set_new(o, "Config", cfg);
  json_object_set_new(o, "HostConfig", host);
  json_object_set_new(o, "LogPath", get_or(meta, "log_path", json_string("")));
  *out = o;
  return 0;
}

/* ---- stats and logs ---------------------------------------------------------- */

int engine_stats_get(engine *e, const char *id, engine_stats *out, berr_t *err)
{
  rt_status s;
  if (eng_status(e, id, &s, err) < 0)
    return -1;
  if (s != RT_RUNNING) {
    cleanup_json json_t *meta = NULL;
    eng_meta_load(e, id, &meta, NULL);
    return berr_setc(err, ESRCH, "container %s is not running",
                     json_str(meta, "name") ? json_str(meta, "name") : id);
  }
  *out = (engine_stats){ 0 };
  if (rt_stats_get(e->rt, id, &out->rt, err) < 0)
    return berr_wrap(err, "stats of container %.12s", id);
  out->mono_ns = time_mono_ns();
  return 0;
}

int engine_logs(engine *e, const char *id, const rt_logs_opts *o, int out_fd, int err_fd,
                berr_t *err)
{
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, err) < 0)
    return -1;
  cleanup_free char *path = eng_ctr_file(e, id, "ctr.log");
  rt_logs_opts lo = *o;
  lo.root = e->rt;
  lo.id = id;
  if (!fs_exists(path))
    return 0; /* never started: no output yet */
  if (rt_logs_read(path, &lo, out_fd, err_fd, err) < 0)
    return berr_wrap(err, "logs of container %s",
                     json_str(meta, "name") ? json_str(meta, "name") : id);
  return 0;
}
