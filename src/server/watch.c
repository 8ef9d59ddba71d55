/* watch.c — `?watch=1` streams: newline-terminated {"type","object"} events
 * fed from a store watch, written as chunks by libmicrohttpd.
 *
 * The server runs one thread per connection, so the content reader simply
 * blocks: it polls the store watch's eventfd together with the client's
 * socket (a client that goes away ends the stream at once, not at its
 * timeout) and wakes every second to notice a server shutdown. resourceVersion
 * empty or 0 starts with a synthetic ADDED per current object, then follows
 * from the list's revision; a revision compacted away gets one 410 Expired
 * ERROR event and the end of the stream, which makes kubectl re-list.
 *
 * Events are written from the stored bytes, resourceVersion spliced in
 * (srv_obj_append, as LIST does): a selector decodes only the members it
 * reads (srv_rj_view), and an object is never decoded whole, except for a
 * Table (kubectl get -w).
 *
 * Every watch sees every event under its prefix. A node's agent watches
 * spec.nodeName=NODE, so with N nodes each pod event would be looked at N
 * times to be dropped N-1 times: such a watch first looks for
 * "nodeName":"NODE" in the stored bytes (compact JSON, as the server
 * writes every object) and reads further only the events that have it. */
#include "api/api.h"
#include "server/internal.h"
#include "net/mhd_dl.h"

#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_DEFAULT_TIMEOUT_S 1800

typedef struct srv_watch {
  srv_t *srv;
  const srv_kind_t *k;
  store_watch_t *w;
  api_label_selector_t *ls;
  api_field_selector_t *fs;
  bool table, defs_sent, done;
  buf_t out;   /* events waiting to be written */
  size_t sent; /* bytes of out already written */
  int64_t deadline_ns;
  int sock;
  char *needle;       /* bytes every matching object holds, or NULL */
  const char **paths; /* what the selectors read (not owned), */
  size_t n_paths;     /* … decoded for them */
} srv_watch_t;

void srv_watch_set_fd(srv_watch_t *w, int fd)
{
  w->sock = fd;
}

/* Whether the stored object may match: false only when it cannot. */
static bool may_match(srv_watch_t *w, const char *value, size_t len)
{
  return !w->needle || memmem(value, len, w->needle, strlen(w->needle));
}

/* The needle of a spec.nodeName=NODE selector, when NODE needs no escaping
 * in JSON (a node name never does). */
static char *node_needle(const api_field_selector_t *fs)
{
  const char *node = fs ? api_field_selector_equals(fs, "spec.nodeName") : NULL;
  if (!node || !*node)
    return NULL;
  for (const char *c = node; *c; c++)
    if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
      return NULL;
  return xasprintf("\"nodeName\":\"%s\"", node);
}

static bool matches(srv_watch_t *w, json_t *o)
{
  json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");
  return (!w->ls || api_label_selector_matches(w->ls, labels))
         && (!w->fs || api_field_selector_matches(w->fs, o));
}

/* Whether the stored object matches the selectors, decoding only what they
 * read. */
static bool raw_matches(srv_watch_t *w, const char *value, size_t len)
{
  if (!may_match(w, value, len))
    return false;
  if (!w->n_paths)
    return true;
  json_t *view = srv_rj_view(value, len, w->paths, w->n_paths);
  bool ok = matches(w, view);
  json_decref(view);
  return ok;
}

/* Appends one event from the stored bytes. */
static void emit_raw(srv_watch_t *w, const char *type, const char *value, size_t len, int64_t rev)
{
  buf_printf(&w->out, "{\"type\":\"%s\",\"object\":", type);
  srv_obj_append(&w->out, value, len, rev);
  buf_puts(&w->out, "}\n");
}

/* Appends one event; o is stolen. */
static void emit(srv_watch_t *w, const char *type, json_t *o, int64_t rev)
{
  if (w->table && strcmp(type, "ERROR")) {
    json_t *a = json_pack("[o]", o);
    o = srv_table(w->k, a, rev, !w->defs_sent);
    w->defs_sent = true;
    json_decref(a);
  }
  json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", o);
  char *s = json_dumps(ev, JSON_COMPACT);
  buf_puts(&w->out, s);
  buf_puts(&w->out, "\n");
  free(s);
  json_decref(ev);
}

/* Appends one stored object's event, if it matches. */
static void emit_stored(srv_watch_t *w, const char *type, const char *value, size_t len,
                        int64_t rev)
{
  if (!w->table) {
    if (raw_matches(w, value, len))
      emit_raw(w, type, value, len, rev);
    return;
  }
  if (!may_match(w, value, len))
    return;
  json_t *o = srv_obj_load(value, len, rev);
  if (matches(w, o))
    emit(w, type, o, rev);
  else
    json_decref(o);
}

/* The 410 Expired ERROR event that ends the stream. rev is the revision the
 * watch needed history after; when compaction has passed it the message is
 * the API server's "too old resource version: RV (COMPACTED)", else (a watcher
 * that fell too far behind) the store's. */
static void emit_expired(srv_watch_t *w, int64_t rev, const char *store_msg)
{
  store_status_t st = { 0 };
  berr_t err = BERR_INIT;
  char *msg;
  if (store_status(w->srv->store, &st, &err) == 0 && st.compacted > rev)
    msg = xasprintf("too old resource version: %" PRId64 " (%" PRId64 ")", rev, st.compacted);
  else
    msg = xstrdup(store_msg);
  berr_clear(&err);
  emit(w, "ERROR", srv_status_json(410, "Expired", msg), 0);
  free(msg);
  w->done = true;
}

void srv_watch_start(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *prefix,
                     void *label_sel, void *field_sel, bool table)
{
  srv_watch_t *w = xcalloc(1, sizeof *w);
  w->srv = q->srv;
  w->k = k;
  w->ls = label_sel;
  w->fs = field_sel;
  w->needle = node_needle(w->fs);
  w->paths = xcalloc((w->fs ? w->fs->n : 0) + 2, sizeof *w->paths);
  if (w->ls)
    w->paths[w->n_paths++] = "metadata.labels";
  for (size_t i = 0; w->fs && i < w->fs->n; i++)
    w->paths[w->n_paths++] = w->fs->reqs[i].path;
  w->table = table;
  w->sock = -1;
  int64_t timeout = WATCH_DEFAULT_TIMEOUT_S;
  const char *ts = q->query(q->conn, "timeoutSeconds");
  if (ts && (parse_int64(ts, &timeout, NULL) < 0 || timeout < 0))
    timeout = WATCH_DEFAULT_TIMEOUT_S;
  w->deadline_ns = time_mono_ns() + timeout * 1000000000LL;

  int64_t from = 0;
  const char *rvs = q->query(q->conn, "resourceVersion");
  berr_t err = BERR_INIT;
  if (rvs && *rvs && (parse_int64(rvs, &from, NULL) < 0 || from < 0)) {
    srv_watch_free(w);
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL, "invalid resourceVersion \"%s\"", rvs);
  }
  if (from == 0) {
    /* Current state first, then everything after the list's revision. */
    store_list_req_t lr = { .prefix = prefix };
    store_list_t l = { 0 };
    if (store_list(q->srv->store, &lr, &l, &err) < 0) {
      srv_watch_free(w);
      srv_resp_status(r, 500, "InternalError", NULL, NULL, "%s", err.msg);
      return berr_clear(&err);
    }
    for (size_t i = 0; i < l.n; i++)
      emit_stored(w, "ADDED", l.items[i].value, l.items[i].len, l.items[i].mod_rev);
    from = l.rev;
    store_list_free(&l);
  }
  if (store_watch(q->srv->store, prefix, true, from, &w->w, &err) < 0) {
    if (err.code == STORE_EEXPIRED) {
      emit_expired(w, from, err.msg);
    } else {
      srv_watch_free(w);
      int code = err.code == EINVAL ? 400 : 500; /* EINVAL: a revision in the future */
      srv_resp_status(r, code, code == 400 ? "BadRequest" : "InternalError", NULL, NULL, "%s",
                      err.msg);
      return berr_clear(&err);
    }
    berr_clear(&err);
  }
  r->code = 200;
  r->content_type = "application/json";
  r->watch = w;
}

/* Moves pending store events into w->out; false when the watch is over. */
static bool drain(srv_watch_t *w)
{
  const store_event_t *ev;
  berr_t err = BERR_INIT;
  int rc;
  while ((rc = store_watch_next(w->w, &ev, &err)) == 1) {
    const char *type = ev->type == STORE_DELETE ? "DELETED" : ev->prev_value ? "MODIFIED" : "ADDED";
    emit_stored(w, type, ev->value, ev->len, ev->mod_rev);
    store_event_release(ev);
  }
  if (rc < 0) {
    if (err.code == STORE_EEXPIRED)
      emit_expired(w, store_watch_rev(w->w), err.msg);
    else
      w->done = true;
    berr_clear(&err);
  }
  return !w->done;
}

ssize_t srv_watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  srv_watch_t *w = cls;
  for (;;) {
    if (w->sent < w->out.len) {
      size_t n = w->out.len - w->sent;
      if (n > max)
        n = max;
      memcpy(buf, w->out.data + w->sent, n);
      w->sent += n;
      if (w->sent == w->out.len)
        w->sent = w->out.len = 0;
      return (ssize_t)n;
    }
    if (w->done || !w->w || atomic_load(&w->srv->stopping) || time_mono_ns() >= w->deadline_ns)
      return MHD_CONTENT_READER_END_OF_STREAM;
    if (!drain(w) || w->out.len > 0)
      continue;
    struct pollfd p[2] = { { .fd = store_watch_fd(w->w), .events = POLLIN },
                           { .fd = w->sock, .events = POLLRDHUP } };
    int n = poll(p, w->sock >= 0 ? 2 : 1, 1000);
    if (n > 0 && w->sock >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

void srv_watch_free(void *cls)
{
  srv_watch_t *w = cls;
  if (!w)
    return;
  store_watch_close(w->w);
  api_label_selector_free(w->ls);
  api_field_selector_free(w->fs);
  free(w->needle);
  free(w->paths);
  buf_free(&w->out);
  free(w);
}
