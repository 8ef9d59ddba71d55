/* pod_prober.c — the thread that runs every probe of the node: one event
 * loop, no thread per probe, and a probe never blocks a pod's worker.
 *
 *   httpGet    a libcurl easy handle in a multi handle: connect, GET, the
 *              status line is the result (200–399 succeed; redirects are
 *              not followed; HTTPS without verifying the certificate, as
 *              the kubelet); a fresh connection every time
 *   tcpSocket  the same with CURLOPT_CONNECT_ONLY: the connect is the probe
 *   exec       engine_exec_begin: the engine's spawner runs the command in
 *              the container (never a fork from this threaded process) and
 *              kills it after timeoutSeconds; its answer socket is polled
 *              here along with curl's sockets (curl_multi_poll's extra fds)
 *
 * The exec's output goes to a memfd, shared with the process (one open
 * file, so the file offset after it ends is the number of bytes written)
 * and sealed against growing past PROBE_OUTPUT_CAP: a command that prints
 * forever cannot fill the agent's memory. Only the first PROBE_OUTPUT_MAX
 * bytes are kept, as the kubelet keeps 10 KiB.
 *
 * Results go back to the pod (its probe_results, under the manager's lock)
 * and queue it: the worker's pass (pod_probe.c) counts them. The thread
 * starts with the first probe, so a node without probes has none. */
#include "agent/pod_internal.h"
#include "net/curl_dl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_OUTPUT_MAX (10 * 1024)
#define PROBE_OUTPUT_CAP (1024 * 1024)
/* An exec's answer later than its timeout plus this: the spawner's child
 * is stuck, the probe fails. */
#define EXEC_GRACE_MS 10000
#define POLL_MAX_MS   1000

typedef struct prober {
  pthread_t thread;
  CURLM *multi;
  probe_job_t *queue; /* submitted, not started yet (prober_lock) */
  bool stop;          /* (prober_lock) */
  /* the thread's own */
  probe_job_t **act;
  size_t n_act, cap_act;
} prober_t;

/* ---- results ------------------------------------------------------------------------ */

static void deliver(pod_mgr_t *m, probe_job_t *j)
{
  pthread_mutex_lock(&m->lock);
  pod_t *p = pod_find_locked(m, j->uid);
  if (p && !p->removed) {
    j->next = p->probe_results;
    p->probe_results = j;
    pod_enqueue_locked(m, p);
    j = NULL;
  }
  pthread_mutex_unlock(&m->lock);
  probe_job_free(j);
}

static void set_output(probe_job_t *j, bool ok, char *output)
{
  j->ok = ok;
  free(j->output);
  j->output = output;
}

/* "connection refused", as Go words a connect error. */
static char *errno_text(long e)
{
  char *s = xstrdup(e ? strerror((int)e) : "unknown error");
  if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
    s[0] = (char)(s[0] - 'A' + 'a');
  return s;
}

/* The kubelet's words for what went wrong, from curl's. */
static char *curl_failure(probe_job_t *j, CURLcode rc)
{
  long os_errno = 0;
  curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &os_errno);
  cleanup_free char *dial = NULL;
  if (rc == CURLE_OPERATION_TIMEDOUT && j->handler == PH_TCP) {
    dial = xasprintf("dial tcp %s: i/o timeout", j->addr);
  } else if (rc == CURLE_COULDNT_CONNECT) {
    cleanup_free char *why = errno_text(os_errno ? os_errno : ECONNREFUSED);
    dial = xasprintf("dial tcp %s: connect: %s", j->addr, why);
  }
  const char *what = dial ? dial : j->errbuf && *j->errbuf ? j->errbuf : curl_easy_strerror(rc);
  if (j->handler == PH_TCP)
    return dial ? steal_ptr(dial) : xasprintf("dial tcp %s: %s", j->addr, what);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return xasprintf("Get \"%s\": context deadline exceeded (Client.Timeout exceeded while "
                     "awaiting headers)",
                     j->url);
  return xasprintf("Get \"%s\": %s", j->url, what);
}

static void finish_curl(probe_job_t *j, CURLcode rc)
{
  long code = 0;
  curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
  if (j->handler == PH_TCP)
    set_output(j, rc == CURLE_OK, rc == CURLE_OK ? NULL : curl_failure(j, rc));
  else if (code > 0) /* a status came (the body may have been cut short) */
    set_output(j, code >= 200 && code < 400,
               code >= 200 && code < 400
                   ? xstrndup(j->body.data ? j->body.data : "", j->body.len)
                   : xasprintf("HTTP probe failed with statuscode: %ld", code));
  else
    set_output(j, false, curl_failure(j, rc));
}

static void finish_exec(probe_job_t *j)
{
  berr_t err = BERR_INIT;
  int code = -1;
  int rc = engine_exec_finish(steal_fd(j->answer_fd), j->engine_id, &code, &err);
  cleanup_free char *out = NULL;
  off_t n = lseek(j->out_fd, 0, SEEK_CUR);
  if (n > 0) {
    size_t want = n > PROBE_OUTPUT_MAX ? PROBE_OUTPUT_MAX : (size_t)n;
    out = xmalloc(want + 1);
    ssize_t r = pread(j->out_fd, out, want, 0);
    out[r > 0 ? r : 0] = '\0';
  }
  cleanup_free char *cmd = NULL;
  if (rc < 0) {
    buf_t b = { 0 };
    for (size_t i = 0; j->command[i]; i++)
      buf_printf(&b, "%s%s", i ? " " : "", j->command[i]);
    cmd = buf_steal(&b);
  }
  if (rc < 0 && err.code == ETIMEDOUT)
    set_output(
        j, false,
        xasprintf("command \"%s\" timed out after %llds", cmd, (long long)(j->timeout_ms / 1000)));
  else if (rc < 0)
    set_output(j, false, xasprintf("command \"%s\" could not run: %s", cmd, err.msg));
  else if (code == 0)
    set_output(j, true, steal_ptr(out));
  else if (out && *out)
    set_output(j, false, steal_ptr(out));
  else
    set_output(j, false, xasprintf("command exited with code %d and printed nothing", code));
  berr_clear(&err);
}

/* ---- starting probes -------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
  probe_job_t *j = arg;
  size_t len = size * n;
  if (j->body.len >= PROBE_OUTPUT_MAX)
    return 0; /* enough: the status is known, the rest is not needed */
  size_t room = PROBE_OUTPUT_MAX - j->body.len;
  buf_append(&j->body, data, len < room ? len : room);
  return len;
}

static int start_curl(prober_t *pr, probe_job_t *j)
{
  CURL *h = curl_easy_init();
  if (!h) {
    set_output(j, false, xstrdup("cannot start the probe: curl_easy_init failed"));
    return -1;
  }
  j->easy = h;
  j->errbuf = xcalloc(1, CURL_ERROR_SIZE);
  cleanup_free char *tcp_url = j->handler == PH_TCP ? xasprintf("http://%s/", j->url) : NULL;
  curl_easy_setopt(h, CURLOPT_URL, tcp_url ? tcp_url : j->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, j);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
  curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never a proxy from the environment */
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (j->handler == PH_TCP) {
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; j->headers && j->headers[i]; i++)
      hl = curl_slist_append(hl, j->headers[i]);
    /* freed by job_end, once the handle is gone */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    j->headers_list = hl;
  }
  if (curl_multi_add_handle(pr->multi, h) != CURLM_OK) {
    set_output(j, false, xstrdup("cannot start the probe: curl_multi_add_handle failed"));
    return -1;
  }
  return 0;
}

static int start_exec(pod_mgr_t *m, probe_job_t *j)
{
  j->out_fd = memfd_create("berth-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (j->out_fd < 0 || ftruncate(j->out_fd, PROBE_OUTPUT_CAP) < 0
      || fcntl(j->out_fd, F_ADD_SEALS, F_SEAL_GROW) < 0) {
    set_output(j, false, xasprintf("cannot start the probe: memfd: %s", strerror(errno)));
    return -1;
  }
  engine_exec_opts xo = { .args = j->command, .timeout_ms = j->timeout_ms };
  berr_t err = BERR_INIT;
  if (engine_exec_begin(m->eng, j->engine_id, &xo, -1, j->out_fd, j->out_fd, &j->answer_fd, &err)
      < 0) {
    set_output(j, false, xasprintf("cannot run the exec probe: %s", err.msg));
    berr_clear(&err);
    return -1;
  }
  j->deadline_mono = time_mono_ns() + (j->timeout_ms + EXEC_GRACE_MS) * 1000000LL;
  return 0;
}

static void job_end(prober_t *pr, probe_job_t *j)
{
  if (j->easy) {
    curl_multi_remove_handle(pr->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
  }
  if (j->headers_list)
    curl_slist_free_all(steal_ptr(j->headers_list));
  if (j->answer_fd >= 0)
    close(steal_fd(j->answer_fd));
  if (j->out_fd >= 0)
    close(steal_fd(j->out_fd));
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void act_remove(prober_t *pr, size_t i)
{
  pr->act[i] = pr->act[--pr->n_act];
}

static void done(pod_mgr_t *m, prober_t *pr, size_t i)
{
  probe_job_t *j = pr->act[i];
  act_remove(pr, i);
  job_end(pr, j);
  deliver(m, j);
}

static void start(pod_mgr_t *m, prober_t *pr, probe_job_t *j)
{
  int rc = j->handler == PH_EXEC ? start_exec(m, j) : start_curl(pr, j);
  if (rc < 0) {
    job_end(pr, j);
    deliver(m, j);
    return;
  }
  if (pr->n_act == pr->cap_act) {
    pr->cap_act = pr->cap_act ? 2 * pr->cap_act : 16;
    pr->act = xrealloc(pr->act, pr->cap_act * sizeof *pr->act);
  }
  pr->act[pr->n_act++] = j;
}

static void *prober_main(void *arg)
{
  pod_mgr_t *m = arg;
  prober_t *pr = m->prober;
  struct curl_waitfd *wfds = NULL;
  size_t cap_wfds = 0;
  for (;;) {
    pthread_mutex_lock(&m->prober_lock);
    bool stop = pr->stop;
    probe_job_t *q = steal_ptr(pr->queue);
    pthread_mutex_unlock(&m->prober_lock);
    if (stop) {
      while (q) {
        probe_job_t *n = q->next;
        probe_job_free(q);
        q = n;
      }
      break;
    }
    while (q) {
      probe_job_t *n = q->next;
      q->next = NULL;
      start(m, pr, q);
      q = n;
    }
    int running = 0;
    curl_multi_perform(pr->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(pr->multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      for (size_t i = 0; i < pr->n_act; i++) {
        if (pr->act[i]->easy == msg->easy_handle) {
          finish_curl(pr->act[i], msg->data.result);
          done(m, pr, i);
          break;
        }
      }
    }
    /* exec answers beside curl's sockets */
    if (pr->n_act > cap_wfds) {
      cap_wfds = pr->cap_act;
      wfds = xrealloc(wfds, cap_wfds * sizeof *wfds);
    }
    unsigned n = 0;
    int64_t now = time_mono_ns(), wait_ms = POLL_MAX_MS;
    for (size_t i = 0; i < pr->n_act; i++) {
      probe_job_t *j = pr->act[i];
      if (j->handler != PH_EXEC)
        continue;
      wfds[n++] = (struct curl_waitfd){ .fd = j->answer_fd, .events = CURL_WAIT_POLLIN };
      int64_t left_ms = (j->deadline_mono - now) / 1000000;
      if (left_ms < wait_ms)
        wait_ms = left_ms < 0 ? 0 : left_ms;
    }
    curl_multi_poll(pr->multi, wfds, n, (int)wait_ms, NULL);
    now = time_mono_ns();
    for (size_t i = pr->n_act; i-- > 0;) {
      probe_job_t *j = pr->act[i];
      if (j->handler != PH_EXEC)
        continue;
      struct pollfd pf = { .fd = j->answer_fd, .events = POLLIN };
      if (poll(&pf, 1, 0) > 0) {
        finish_exec(j);
        done(m, pr, i);
      } else if (now >= j->deadline_mono) {
        set_output(j, false, xstrdup("the exec probe did not answer in time"));
        done(m, pr, i);
      }
    }
  }
  for (size_t i = 0; i < pr->n_act; i++) {
    job_end(pr, pr->act[i]);
    probe_job_free(pr->act[i]);
  }
  pr->n_act = 0;
  free(wfds);
  return NULL;
}

/* ---- submit and close ------------------------------------------------------------------------ */

void prober_submit(pod_mgr_t *m, probe_job_t *j)
{
  pthread_mutex_lock(&m->prober_lock);
  if (!m->prober) {
    prober_t *pr = xcalloc(1, sizeof *pr);
    pr->multi = curl_multi_init();
    m->prober = pr;
    int rc = pr->multi ? pthread_create(&pr->thread, NULL, prober_main, m) : ENOMEM;
    if (rc) {
      log_error("msg=\"cannot start the prober\" errno=%d", rc);
      if (pr->multi)
        curl_multi_cleanup(pr->multi);
      free(pr);
      m->prober = NULL;
      pthread_mutex_unlock(&m->prober_lock);
      set_output(j, false, xstrdup("the prober could not start"));
      deliver(m, j);
      return;
    }
  }
  j->next = m->prober->queue;
  m->prober->queue = j;
  CURLM *multi = m->prober->multi;
  pthread_mutex_unlock(&m->prober_lock);
  curl_multi_wakeup(multi);
}

void prober_close(pod_mgr_t *m)
{
  pthread_mutex_lock(&m->prober_lock);
  prober_t *pr = m->prober;
  if (pr)
    pr->stop = true;
  pthread_mutex_unlock(&m->prober_lock);
  if (!pr)
    return;
  curl_multi_wakeup(pr->multi);
  pthread_join(pr->thread, NULL);
  curl_multi_cleanup(pr->multi);
  free(pr->act);
  free(pr);
  m->prober = NULL;
}
