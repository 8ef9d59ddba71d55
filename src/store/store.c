/* store.c — the backend-independent half of the store: calls dispatched
 * through the backend's vtable, the guaranteed-update loop (read, modify,
 * conditional write, retry), shared events, option defaults and error
 * helpers. Everything that touches a database lives in the backend files. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

enum { GUARANTEED_UPDATE_TRIES = 100 };

char *store_prefix_end(const char *prefix)
{
  size_t n = strlen(prefix);
  while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
    n--;
  if (n == 0)
    return NULL;
  char *end = xstrndup(prefix, n);
  end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
  return end;
}

void store_opts_defaults(const store_opts_t *in, store_opts_t *out)
{
  store_opts_t o = in ? *in : (store_opts_t){ 0 };
  if (o.compact_interval_ns == 0)
    o.compact_interval_ns = 60LL * 1000000000;
  if (o.retain_ns == 0)
    o.retain_ns = 5LL * 60 * 1000000000;
  if (o.retain_revs == 0)
    o.retain_revs = 10000;
  if (o.ring_events <= 0)
    o.ring_events = 4096;
  if (o.watch_queue <= 0)
    o.watch_queue = 10000;
  if (o.max_batch <= 0)
    o.max_batch = 1000;
  if (o.read_conns <= 0)
    o.read_conns = 4;
  *out = o;
}

/* ---- events ---------------------------------------------------------------- */

sevent_t *sevent_new(store_event_type_t type, const char *key, const void *value, size_t len,
                     int64_t mod_rev, int64_t create_rev, const void *prev, size_t prev_len,
                     int64_t prev_mod_rev)
{
  size_t klen = strlen(key);
  if (type == STORE_DELETE)
    len = 0;
  sevent_t *e = xmalloc(sizeof(*e) + klen + 1 + (value ? len + 1 : 0) + (prev ? prev_len + 1 : 0));
  char *p = (char *)(e + 1);
  memcpy(p, key, klen + 1);
  e->ev.key = p;
  p += klen + 1;
  const char *v = NULL, *pv = NULL;
  if (type == STORE_PUT && value) {
    memcpy(p, value, len);
    p[len] = 0;
    v = p;
    p += len + 1;
  }
  if (prev) {
    memcpy(p, prev, prev_len);
    p[prev_len] = 0;
    pv = p;
  }
  e->ev.type = type;
  e->ev.value = type == STORE_DELETE ? pv : (v ? v : "");
  e->ev.len = type == STORE_DELETE ? prev_len : len;
  e->ev.mod_rev = mod_rev;
  e->ev.create_rev = create_rev;
  e->ev.prev_value = pv;
  e->ev.prev_len = pv ? prev_len : 0;
  e->ev.prev_mod_rev = pv ? prev_mod_rev : 0;
  atomic_init(&e->refs, 1);
  return e;
}

sevent_t *sevent_ref(sevent_t *e)
{
  atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
  return e;
}

void sevent_unref(sevent_t *e)
{
  if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
    free(e);
}

void store_event_release(const store_event_t *ev)
{
  sevent_unref((sevent_t *)ev);
}

/* ---- results --------------------------------------------------------------- */

void store_kv_free(store_kv_t *kv)
{
  if (!kv)
    return;
  free(kv->key);
  free(kv->value);
  *kv = (store_kv_t){ 0 };
}

void store_list_free(store_list_t *l)
{
  if (!l)
    return;
  for (size_t i = 0; i < l->n; i++)
    store_kv_free(&l->items[i]);
  free(l->items);
  free(l->more_after);
  *l = (store_list_t){ 0 };
}

/* ---- dispatch ------------------------------------------------------------- */

static int check_key(const char *op, const char *key, berr_t *err)
{
  if (!key || !*key)
    return berr_setc(err, EINVAL, "%s: empty key", op);
  return 0;
}

int store_get(store_t *s, const char *key, store_kv_t *out, int64_t *rev, berr_t *err)
{
  *out = (store_kv_t){ 0 };
  if (check_key("get", key, err) < 0)
    return -1;
  return s->ops->get(s, key, out, rev, err);
}

int store_list(store_t *s, const store_list_req_t *req, store_list_t *out, berr_t *err)
{
  *out = (store_list_t){ 0 };
  if (req->limit < 0 || req->rev < 0)
    return berr_setc(err, EINVAL, "list %s: negative limit or revision", req->prefix);
  return s->ops->list(s, req, out, err);
}

int store_create(store_t *s, const char *key, const void *value, size_t len, int64_t *rev,
                 berr_t *err)
{
  if (check_key("create", key, err) < 0)
    return -1;
  return s->ops->create(s, key, value, len, rev, err);
}

int store_update(store_t *s, const char *key, const void *value, size_t len, int64_t expect_rev,
                 int64_t *rev, berr_t *err)
{
  if (check_key("update", key, err) < 0)
    return -1;
  return s->ops->update(s, key, value, len, expect_rev, rev, err);
}

int store_delete(store_t *s, const char *key, int64_t expect_rev, store_kv_t *deleted, int64_t *rev,
                 berr_t *err)
{
  if (deleted)
    *deleted = (store_kv_t){ 0 };
  if (check_key("delete", key, err) < 0)
    return -1;
  return s->ops->del(s, key, expect_rev, deleted, rev, err);
}

int store_compact(store_t *s, int64_t rev, berr_t *err)
{
  return s->ops->compact(s, rev, err);
}

int store_status(store_t *s, store_status_t *out, berr_t *err)
{
  *out = (store_status_t){ 0 };
  if (s->ops->status(s, out, err) < 0)
    return -1;
  hub_revs(s->hub, NULL, NULL, &out->watchers);
  return 0;
}

void store_close(store_t *s)
{
  if (!s)
    return;
  store_hub_t *hub = s->hub;
  compactor_stop(s->compactor);
  hub_shutdown(hub);
  s->ops->close(s);
  hub_release(hub);
}

/* ---- guaranteed update ------------------------------------------------------ */

static int hand_over(berr_t *err, berr_t *local)
{
  berr_move(err, local);
  return -1;
}

int store_guaranteed_update(store_t *s, const char *key, bool create, store_update_fn fn, void *arg,
                            store_kv_t *out_kv, berr_t *err)
{
  if (out_kv)
    *out_kv = (store_kv_t){ 0 };
  if (check_key("update", key, err) < 0)
    return -1;
  berr_t e = BERR_INIT;
  for (int attempt = 0; attempt < GUARANTEED_UPDATE_TRIES; attempt++) {
    store_kv_t cur = { 0 };
    bool have = true;
    if (s->ops->get(s, key, &cur, NULL, &e) < 0) {
      if (e.code != ENOENT || !create)
        return hand_over(err, &e);
      berr_clear(&e);
      have = false;
    }
    char *val = NULL;
    size_t len = 0;
    int r = fn(arg, have ? &cur : NULL, &val, &len, &e);
    if (r < 0) {
      free(val);
      store_kv_free(&cur);
      berr_wrap(&e, "update %s", key);
      return hand_over(err, &e);
    }
    if (r == STORE_UNCHANGED) {
      free(val);
      if (out_kv)
        *out_kv = cur;
      else
        store_kv_free(&cur);
      return 0;
    }
    int64_t rev = 0;
    int rc = have ? s->ops->update(s, key, val, len, cur.mod_rev, &rev, &e)
                  : s->ops->create(s, key, val, len, &rev, &e);
    int64_t create_rev = have ? cur.create_rev : rev;
    store_kv_free(&cur);
    if (rc == 0) {
      if (out_kv) {
        val = xrealloc(val, len + 1);
        val[len] = 0;
        *out_kv = (store_kv_t){ xstrdup(key), val, len, create_rev, rev };
      } else {
        free(val);
      }
      return 0;
    }
    free(val);
    /* Lost a race with another writer (changed, created or deleted since the
     * read): read again. */
    if (e.code != STORE_ECONFLICT && e.code != EEXIST && e.code != ENOENT)
      return hand_over(err, &e);
    berr_clear(&e);
    /* Writers of one hot key that all retry at once lose to each other again
     * (one wins per commit): after a few lost races, back off a random
     * while, longer each time (up to ~20 ms). */
    if (attempt >= 3) {
      unsigned r;
      if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned)attempt * 7919u;
      int cap_us = attempt < 40 ? attempt * 500 : 20000;
      usleep((useconds_t)(r % (unsigned)cap_us));
    }
  }
  return berr_setc(err, STORE_ECONFLICT, "update %s: conflict: gave up after %d concurrent changes",
                   key, GUARANTEED_UPDATE_TRIES);
}
