/* pod.c — the pod manager itself: the pods it knows (by uid), a work queue
 * served by a few worker threads, the calls the agent makes (sync, forget,
 * uids, container) and, on open, the adoption of what a previous agent left
 * running.
 *
 * The queue is the kubelet's pod-worker idea in a few lines: anything that
 * may change a pod (a sync from the API, a container exit, a timer) queues
 * the pod; a worker takes it and runs one pass of pod_reconcile() over it,
 * which looks at what is there and does the next thing. A pod is never
 * handled by two workers at once, so its state needs no lock of its own,
 * and many pods start in parallel. Nothing in a pass waits for time to
 * pass: grace periods and back-offs are timers (pod_watch.c) that queue the
 * pod again. */
#include "agent/pod_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BACKOFF_BASE_MS 10000
#define DEFAULT_BACKOFF_MAX_MS  300000
#define DEFAULT_WORKERS         4

/* ---- the queue ------------------------------------------------------------------ */

void pod_enqueue_locked(pod_mgr_t *m, pod_t *p)
{
  if (p->removed)
    return;
  if (p->busy) {
    p->dirty = true;
    return;
  }
  if (p->queued)
    return;
  p->queued = true;
  p->qnext = NULL;
  if (m->q_tail)
    m->q_tail->qnext = p;
  else
    m->q_head = p;
  m->q_tail = p;
  pthread_cond_signal(&m->cond);
}

pod_t *pod_find_locked(pod_mgr_t *m, const char *uid)
{
  for (size_t i = 0; i < m->n_pods; i++)
    if (!strcmp(m->pods[i]->uid, uid))
      return m->pods[i];
  return NULL;
}

void pod_wake_at(pod_mgr_t *m, pod_t *p, int64_t mono)
{
  pthread_mutex_lock(&m->lock);
  if (!p->wake_mono || mono < p->wake_mono)
    p->wake_mono = mono;
  pthread_mutex_unlock(&m->lock);
  pw_kick(m);
}

void pod_remove(pod_mgr_t *m, pod_t *p)
{
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->n_pods; i++) {
    if (m->pods[i] == p) {
      m->pods[i] = m->pods[--m->n_pods];
      break;
    }
  }
  p->removed = true;
  pthread_mutex_unlock(&m->lock);
}

static void add_pod_locked(pod_mgr_t *m, pod_t *p)
{
  if (m->n_pods == m->cap_pods) {
    m->cap_pods = m->cap_pods ? 2 * m->cap_pods : 16;
    m->pods = xrealloc(m->pods, m->cap_pods * sizeof *m->pods);
  }
  p->seq = ++m->next_seq;
  m->pods[m->n_pods++] = p;
}

static void *worker_main(void *arg)
{
  pod_mgr_t *m = arg;
  pthread_mutex_lock(&m->lock);
  for (;;) {
    while (!m->stopping && !m->q_head)
      pthread_cond_wait(&m->cond, &m->lock);
    if (m->stopping)
      break;
    pod_t *p = m->q_head;
    m->q_head = p->qnext;
    if (!m->q_head)
      m->q_tail = NULL;
    p->queued = false;
    p->busy = true;
    m->active++;
    pthread_mutex_unlock(&m->lock);

    pod_reconcile(m, p);

    pthread_mutex_lock(&m->lock);
    m->active--;
    p->busy = false;
    if (p->removed) {
      pod_free(p); /* out of the map: nobody can reach it any more */
    } else if (p->dirty) {
      p->dirty = false;
      pod_enqueue_locked(m, p);
    }
  }
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

/* ---- helpers for the other files ----------------------------------------------- */

void pod_event(pod_mgr_t *m, pod_t *p, const char *type, const char *reason, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  log_debug("msg=\"pod event\" pod=%s/%s type=%s reason=%s message=\"%s\"", p->ns, p->name, type,
            reason, msg);
  if (m->o.on_event)
    m->o.on_event(m->o.arg, p->obj, type, reason, msg);
}

char *pod_engine_name(pod_t *p, const char *ctr, int restart)
{
  char *n = xasprintf("k8s_%s_%s_%s_%.8s_%d", ctr, p->name, p->ns, p->uid, restart);
  size_t len = strlen(n);
  if (len > 128) {
    /* Pod names may be 253 characters long: shorten the pod's part (the
     * uid and restart keep the name unique). */
    size_t cut = len - 128, pl = strlen(p->name);
    free(n);
    n = xasprintf("k8s_%s_%.*s_%s_%.8s_%d", ctr, (int)(pl > cut ? pl - cut : 1), p->name, p->ns,
                  p->uid, restart);
  }
  return n;
}

/* ---- pods ----------------------------------------------------------------------- */

static int pod_check(json_t *pod, berr_t *err)
{
  json_t *md = json_object_get(pod, "metadata");
  if (!json_str(md, "uid") || !json_str(md, "name")
      || !json_is_object(json_object_get(pod, "spec")))
    return berr_setc(err, EINVAL, "pod without metadata.uid, metadata.name or spec");
  const char *uid = json_str(md, "uid");
  if (!*uid || strchr(uid, '/') || !strcmp(uid, ".") || !strcmp(uid, ".."))
    return berr_setc(err, EINVAL, "invalid pod uid \"%s\"", uid);
  return 0;
}

/* The conditions of the pod's readinessGates as its status has them
 * (conditionType → condition, or null while there is none). */
static json_t *gate_conditions(json_t *pod)
{
  json_t *gates = json_object(), *g, *c;
  size_t i, j;
  json_array_foreach(json_object_get(json_object_get(pod, "spec"), "readinessGates"), i, g)
  {
    const char *type = json_str(g, "conditionType");
    if (!type)
      continue;
    json_t *found = json_null();
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), j, c)
    {
      if (!strcmp(json_str(c, "type") ?: "", type)) {
        json_decref(found);
        found = json_pack("{s:s,s:s*,s:s*}", "status", json_str(c, "status") ?: "", "reason",
                          json_str(c, "reason"), "message", json_str(c, "message"));
      }
    }
    json_object_set_new(gates, type, found);
  }
  return gates;
}

static pod_t *pod_new(pod_mgr_t *m, json_t *obj)
{
  pod_t *p = xcalloc(1, sizeof *p);
  p->obj = json_deep_copy(obj);
  /* The status is ours now, but for startTime and the conditions others own
   * (PodScheduled, readiness gates…), which our patches leave alone. */
  p->gates = gate_conditions(obj);
  json_object_del(p->obj, "status");
  json_t *md = json_object_get(p->obj, "metadata");
  p->uid = xstrdup(json_str(md, "uid"));
  p->name = xstrdup(json_str(md, "name"));
  p->ns = xstrdup(json_str(md, "namespace") ? json_str(md, "namespace") : "default");
  p->spec = json_object_get(p->obj, "spec");
  p->dir = path_join(m->pods_dir, p->uid);
  p->vols = path_join(m->vols_dir, p->uid);
  const char *h = json_str(p->spec, "hostname");
  p->hostname = xstrndup(h && *h ? h : p->name, 63);
  /* cut like the kubelet: no '-' or '.' left at the end */
  for (size_t n = strlen(p->hostname); n > 1 && strchr("-.", p->hostname[n - 1]); n--)
    p->hostname[n - 1] = '\0';
  p->conds = json_object();
  pthread_mutex_init(&p->mu, NULL);
  const char *st = json_str(json_object_get(obj, "status"), "startTime");
  if (st)
    time_parse_rfc3339(st, &p->start_ns);
  pod_ctrs_init(p);
  return p;
}

static bool has_deletion(json_t *pod)
{
  return json_str(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;
}

int pod_mgr_sync(pod_mgr_t *m, json_t *pod, berr_t *err)
{
  if (pod_check(pod, err) < 0)
    return -1;
  const char *uid = json_str(json_object_get(pod, "metadata"), "uid");
  pthread_mutex_lock(&m->lock);
  pod_t *p = pod_find_locked(m, uid);
  if (!p) {
    const char *phase = json_str(json_object_get(pod, "status"), "phase");
    if (!has_deletion(pod) && pod_phase_terminal(phase)) {
      /* Finished before this agent knew it (its files are gone): the
       * kubelet does not run a terminal pod again either. */
      pthread_mutex_unlock(&m->lock);
      return 0;
    }
    p = pod_new(m, pod);
    if (has_deletion(pod))
      p->pending = json_deep_copy(pod);
    add_pod_locked(m, p);
    pod_enqueue_locked(m, p);
  } else if (has_deletion(pod) && !p->forget) {
    json_decref(p->pending);
    p->pending = json_deep_copy(pod);
    pod_enqueue_locked(m, p);
  } else if (json_object_size(p->gates)) {
    /* someone set a readiness gate's condition: Ready may change */
    json_t *gates = gate_conditions(pod);
    pthread_mutex_lock(&p->mu);
    bool changed = !json_equal(gates, p->gates);
    if (changed)
      json_object_update(p->gates, gates);
    pthread_mutex_unlock(&p->mu);
    json_decref(gates);
    if (changed)
      pod_enqueue_locked(m, p);
  }
  pthread_mutex_unlock(&m->lock);
  return 0;
}

int pod_mgr_forget(pod_mgr_t *m, const char *uid, berr_t *err)
{
  pthread_mutex_lock(&m->lock);
  pod_t *p = uid ? pod_find_locked(m, uid) : NULL;
  if (p) {
    p->forget = true;
    pod_enqueue_locked(m, p);
  }
  pthread_mutex_unlock(&m->lock);
  return 0;
}

bool pod_mgr_busy(pod_mgr_t *m)
{
  pthread_mutex_lock(&m->lock);
  bool busy = m->q_head || m->active;
  pthread_mutex_unlock(&m->lock);
  return busy;
}

char **pod_mgr_uids(pod_mgr_t *m)
{
  char **v = xcalloc(1, sizeof *v);
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->n_pods; i++)
    strv_push(&v, m->pods[i]->uid);
  pthread_mutex_unlock(&m->lock);
  return v;
}

engine *pod_mgr_engine(pod_mgr_t *m)
{
  return m->eng;
}

int pod_mgr_container(pod_mgr_t *m, const char *ns, const char *pod, const char *container,
                      bool previous, char **engine_id, berr_t *err)
{
  *engine_id = NULL;
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  pod_t *p = NULL;
  /* The newest of the same name (a StatefulSet's pod may be replaced while
   * the old one terminates). */
  for (size_t i = 0; i < m->n_pods; i++)
    if (!strcmp(m->pods[i]->ns, ns) && !strcmp(m->pods[i]->name, pod)
        && (!p || m->pods[i]->seq > p->seq))
      p = m->pods[i];
  if (!p) {
    pthread_mutex_unlock(&m->lock);
    return berr_setc(err, ENOENT, "pods \"%s\" not found", pod);
  }
  pthread_mutex_lock(&p->mu);
  pod_ctr_t *c = NULL;
  for (size_t i = 0; i < p->n_ctrs; i++)
    if (!strcmp(p->ctrs[i].name, container))
      c = &p->ctrs[i];
  if (!c) {
    rc = berr_setc(err, ENOENT, "container %s is not valid for pod %s", container, pod);
  } else if (previous) {
    if (c->prev_id)
      *engine_id = xstrdup(c->prev_id);
    else
      rc = berr_setc(err, ENOENT, "previous terminated container \"%s\" in pod \"%s\" not found",
                     container, pod);
  } else if (c->id) {
    *engine_id = xstrdup(c->id);
  } else {
    rc = berr_setc(err, EAGAIN, "container \"%s\" in pod \"%s\" is waiting to start: %s", container,
                   pod, c->reason ? c->reason : "ContainerCreating");
  }
  pthread_mutex_unlock(&p->mu);
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* ---- adoption --------------------------------------------------------------------- */

static int by_restart_desc(const void *a, const void *b)
{
  const engine_info *x = *(engine_info *const *)a, *y = *(engine_info *const *)b;
  int64_t rx = 0, ry = 0;
  parse_int64(engine_info_label(x, POD_LABEL_RESTART), &rx, NULL);
  parse_int64(engine_info_label(y, POD_LABEL_RESTART), &ry, NULL);
  return rx < ry ? 1 : rx > ry ? -1 : 0;
}

static void remove_quiet(pod_mgr_t *m, const char *id)
{
  berr_t err = BERR_INIT;
  if (engine_remove(m->eng, id, true, &err) < 0 && err.code != ENOENT)
    log_warn("msg=\"cannot remove container\" id=%.12s err=\"%s\"", id, err.msg);
  berr_clear(&err);
}

/* Attaches the engine containers labelled with p's uid to its containers:
 * the newest run of each is current, the one before previous, older ones
 * go (the kubelet keeps one dead container per container too). */
static void adopt_containers(pod_mgr_t *m, pod_t *p, engine_info *infos, size_t n, bool *used)
{
  for (size_t k = 0; k < p->n_ctrs; k++) {
    pod_ctr_t *c = &p->ctrs[k];
    engine_info **mine = xcalloc(n + 1, sizeof *mine);
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
      const char *uid = engine_info_label(&infos[i], POD_LABEL_UID);
      const char *name = engine_info_label(&infos[i], POD_LABEL_CTR);
      if (uid && name && !strcmp(uid, p->uid) && !strcmp(name, c->name)) {
        mine[cnt++] = &infos[i];
        used[i] = true;
      }
    }
    qsort(mine, cnt, sizeof *mine, by_restart_desc);
    for (size_t i = 0; i < cnt; i++) {
      if (i == 0) {
        int64_t r = 0;
        parse_int64(engine_info_label(mine[i], POD_LABEL_RESTART), &r, NULL);
        c->id = xstrdup(mine[i]->id);
        c->restarts = (int)r;
        c->ever_created = true;
      } else if (i == 1) {
        c->prev_id = xstrdup(mine[i]->id);
      } else {
        remove_quiet(m, mine[i]->id);
      }
    }
    free(mine);
  }
  for (size_t i = 0; i < n; i++) {
    const char *uid = engine_info_label(&infos[i], POD_LABEL_UID);
    if (!used[i] && uid && !strcmp(uid, p->uid)) {
      used[i] = true; /* a container the spec does not have (any more) */
      remove_quiet(m, infos[i].id);
    }
  }
}

/* A pod directory without pod.json: a start that never got far. */
static void drop_stray_dir(pod_mgr_t *m, const char *uid)
{
  pod_t tmp = { .uid = (char *)uid,
                .dir = path_join(m->pods_dir, uid),
                .vols = path_join(m->vols_dir, uid) };
  berr_t err = BERR_INIT;
  pod_volumes_down(&tmp);
  if (pod_sandbox_down(m, &tmp, &err) < 0 || fs_rm_rf(tmp.dir, &err) < 0
      || fs_rm_rf(tmp.vols, &err) < 0)
    log_warn("msg=\"cannot remove stray pod directory\" dir=%s err=\"%s\"", tmp.dir, err.msg);
  berr_clear(&err);
  free(tmp.dir);
  free(tmp.vols);
}

/* emptyDir volumes of pods the tmpfs no longer knows (a reboot emptied it). */
static void drop_stray_volumes(pod_mgr_t *m)
{
  cleanup_dir DIR *d = opendir(m->vols_dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    pthread_mutex_lock(&m->lock);
    bool known = pod_find_locked(m, de->d_name) != NULL;
    pthread_mutex_unlock(&m->lock);
    if (known)
      continue;
    cleanup_free char *dir = path_join(m->vols_dir, de->d_name);
    berr_t err = BERR_INIT;
    if (fs_rm_rf(dir, &err) < 0)
      log_warn("msg=\"cannot remove stray volumes\" dir=%s err=\"%s\"", dir, err.msg);
    else
      log_info("msg=\"volumes of a pod no longer here removed\" dir=%s", dir);
    berr_clear(&err);
  }
}

/* Pod cgroups (POD_CGROUP_ROOT/podUID) of pods this node no longer has: an
 * agent stopped while it was tearing pods down leaves them behind, empty or
 * with the empty cgroup of a container whose monitor was gone. Those go;
 * one that still holds a process (another agent's pod on the same machine)
 * answers EBUSY and stays. An empty one carries nothing (the runtime makes
 * it again with the next container), so removing another agent's between
 * two of its containers is harmless. */
static void drop_stray_cgroups(pod_mgr_t *m)
{
  cleanup_strv char **names = NULL;
  berr_t err = BERR_INIT;
  if (engine_cgroup_children(m->eng, POD_CGROUP_ROOT, &names, &err) < 0) {
    log_warn("msg=\"cannot list pod cgroups\" err=\"%s\"", err.msg);
    berr_clear(&err);
    return;
  }
  size_t removed = 0;
  for (size_t i = 0; names[i]; i++) {
    if (strncmp(names[i], "pod", 3))
      continue;
    pthread_mutex_lock(&m->lock);
    bool known = pod_find_locked(m, names[i] + 3) != NULL;
    pthread_mutex_unlock(&m->lock);
    if (known)
      continue;
    cleanup_free char *cg = xasprintf(POD_CGROUP_ROOT "/%s", names[i]);
    cleanup_strv char **ctrs = NULL;
    if (engine_cgroup_children(m->eng, cg, &ctrs, &err) == 0)
      for (size_t k = 0; ctrs[k]; k++) {
        cleanup_free char *c = path_join(cg, ctrs[k]);
        engine_cgroup_parent_remove(m->eng, c, NULL); /* EBUSY: it runs */
      }
    berr_clear(&err);
    if (engine_cgroup_parent_remove(m->eng, cg, &err) == 0)
      removed++;
    berr_clear(&err);
  }
  if (removed)
    log_info("msg=\"cgroups of pods no longer here removed\" count=%zu", removed);
}

static int adopt(pod_mgr_t *m, berr_t *err)
{
  engine_info *infos = NULL;
  size_t n = 0;
  if (engine_list(m->eng, true, &infos, &n, err) < 0)
    return berr_wrap(err, "list containers");
  bool *used = xcalloc(n + 1, sizeof *used);
  cleanup_dir DIR *d = opendir(m->pods_dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    cleanup_free char *pj = xasprintf("%s/%s/pod.json", m->pods_dir, de->d_name);
    berr_t lerr = BERR_INIT;
    cleanup_json json_t *obj = fs_exists(pj) ? json_load_path(pj, &lerr) : NULL;
    if (!obj || pod_check(obj, NULL) < 0
        || strcmp(json_str(json_object_get(obj, "metadata"), "uid"), de->d_name)) {
      if (lerr.msg)
        log_warn("msg=\"unreadable pod state\" path=%s err=\"%s\"", pj, lerr.msg);
      berr_clear(&lerr);
      drop_stray_dir(m, de->d_name);
      continue;
    }
    pod_t *p = pod_new(m, obj);
    p->adopted = true;
    pod_state_from(p, json_object_get(obj, "status"));
    p->inactive = p->terminal;
    adopt_containers(m, p, infos, n, used);
    log_info("msg=\"pod adopted\" pod=%s/%s uid=%s", p->ns, p->name, p->uid);
    pthread_mutex_lock(&m->lock);
    add_pod_locked(m, p);
    pod_enqueue_locked(m, p);
    pthread_mutex_unlock(&m->lock);
  }
  drop_stray_volumes(m);
  /* Containers of pods this node no longer has. */
  for (size_t i = 0; i < n; i++)
    if (!used[i] && engine_info_label(&infos[i], POD_LABEL_UID))
      remove_quiet(m, infos[i].id);
  drop_stray_cgroups(m);
  free(used);
  engine_infos_free(infos, n);
  return 0;
}

/* ---- open and close ------------------------------------------------------------- */

int pod_mgr_open(const pod_mgr_opts_t *o, pod_mgr_t **out, berr_t *err)
{
  if (!o->root || !o->engine_root)
    return berr_setc(err, EINVAL, "pod manager: root and engine_root are required");
  pod_mgr_t *m = xcalloc(1, sizeof *m);
  m->ifd = m->efd = m->epfd = -1;
  m->o = *o;
  m->root = xstrdup(o->root);
  m->run_dir = path_join(o->root, POD_RUN_DIR);
  m->pods_dir = path_join(m->run_dir, "pods");
  m->vols_dir = path_join(o->root, "volumes");
  m->engine_root = xstrdup(o->engine_root);
  m->node_name = xstrdup(o->node_name ? o->node_name : "");
  m->host_ip = xstrdup(o->host_ip ? o->host_ip : "127.0.0.1");
  m->net_bridge = o->net.bridge ? xstrdup(o->net.bridge) : NULL;
  m->net_cidr = o->net.cidr ? xstrdup(o->net.cidr) : NULL;
  m->net_state = o->net.state_dir ? xstrdup(o->net.state_dir) : path_join(o->root, POD_IPAM_DIR);
  m->o.root = m->root;
  m->o.engine_root = m->engine_root;
  m->o.node_name = m->node_name;
  m->o.host_ip = m->host_ip;
  m->o.net = (podnet_opts_t){ m->net_bridge, m->net_cidr, m->net_state };
  if (m->o.backoff_base_ms <= 0)
    m->o.backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
  if (m->o.backoff_max_ms <= 0)
    m->o.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
  if (m->o.backoff_max_ms < m->o.backoff_base_ms)
    m->o.backoff_max_ms = m->o.backoff_base_ms;
  m->n_workers = o->workers > 0 ? o->workers : DEFAULT_WORKERS;
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->cond, NULL);
  pthread_mutex_init(&m->prober_lock, NULL);

  /* Containers are made by the engine's spawner: see engine_spawner_start. */
  if (pod_root_prepare(m, err) < 0 || fs_mkdir_p(m->pods_dir, 0700, err) < 0
      || podnet_check(&m->o.net, err) < 0 || engine_open(m->engine_root, &m->eng, err) < 0
      || engine_spawner_start(m->eng, err) < 0 || pw_open(m, err) < 0 || adopt(m, err) < 0) {
    berr_wrap(err, "open the pod manager in %s", o->root);
    pod_mgr_close(m);
    return -1;
  }
  m->workers = xcalloc((size_t)m->n_workers, sizeof *m->workers);
  for (int i = 0; i < m->n_workers; i++) {
    int r = pthread_create(&m->workers[i], NULL, worker_main, m);
    if (r) {
      m->n_workers = i;
      berr_set(err, r, "open the pod manager: start a worker");
      pod_mgr_close(m);
      return -1;
    }
  }
  *out = m;
  return 0;
}

void pod_mgr_close(pod_mgr_t *m)
{
  if (!m)
    return;
  pthread_mutex_lock(&m->lock);
  m->stopping = true;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
  for (int i = 0; m->workers && i < m->n_workers; i++)
    pthread_join(m->workers[i], NULL);
  free(m->workers);
  prober_close(m); /* its results go to pods: before they are freed */
  pw_close(m);
  for (size_t i = 0; i < m->n_pods; i++)
    pod_free(m->pods[i]);
  free(m->pods);
  engine_close(m->eng);
  pthread_mutex_destroy(&m->lock);
  pthread_cond_destroy(&m->cond);
  pthread_mutex_destroy(&m->prober_lock);
  free(m->root);
  free(m->run_dir);
  free(m->pods_dir);
  free(m->vols_dir);
  free(m->engine_root);
  free(m->node_name);
  free(m->host_ip);
  free(m->net_bridge);
  free(m->net_cidr);
  free(m->net_state);
  free(m);
}
