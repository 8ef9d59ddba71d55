/* kube.h — what the cluster verbs (kube_*.c) share: the connection and its
 * namespace, discovery (which TYPE the user means, and its URL), requests
 * with kubectl's error messages, and the printers (tables aligned the way
 * Go's text/tabwriter does, JSON and YAML as kubectl prints them).
 *
 * Every verb parses its own options with getopt_long; the options all of
 * them take (--kubeconfig, -n, --server, --token, --help) come from
 * KUBE_COMMON_OPTS and kube_common_opt(). Exit codes follow kubectl: 0, 1 for
 * any server or transport error, 2 for a usage error. */
#ifndef BERTH_CLI_KUBE_H
#define BERTH_CLI_KUBE_H

#include "cli/cli.h"
#include "net/client.h"

/* ---- connection and options ------------------------------------------- */

/* One discovered resource type (an APIResourceList entry). */
typedef struct kube_res {
  char *group;    /* "" for the core group */
  char *version;  /* "v1" */
  char *resource; /* plural, "configmaps" */
  char *singular; /* "configmap" */
  char *kind;     /* "ConfigMap" */
  char **short_names;
  char **categories; /* "all" */
  bool namespaced;
} kube_res_t;

typedef struct kube {
  const char *verb; /* for usage errors: "get" */
  const char *kubeconfig, *server, *token, *ns_flag;
  char *ns; /* the namespace to use: -n, the context's, or "default" */
  kc_t *kc;
  kube_res_t *res;
  size_t n_res;
  bool core_found, groups_found; /* discovery done for /api/v1, /apis */
} kube_t;

enum {
  KOPT_KUBECONFIG = 0x1000,
  KOPT_SERVER,
  KOPT_TOKEN,
  KOPT_FIRST_VERB /* verbs number their long-only options from here */
};

/* clang-format off */
#define KUBE_COMMON_OPTS                                                                           \
  { "kubeconfig", required_argument, NULL, KOPT_KUBECONFIG },                                      \
  { "namespace", required_argument, NULL, 'n' },                                                   \
  { "server", required_argument, NULL, KOPT_SERVER },                                              \
  { "token", required_argument, NULL, KOPT_TOKEN },                                                \
  { "help", no_argument, NULL, 'h' }
/* clang-format on */

/* Takes a common option: returns true when c was one (-h is not: each verb
 * prints its own usage). */
bool kube_common_opt(kube_t *k, int c, const char *arg);
/* Loads the kubeconfig and makes the client (once). On failure prints
 * "error: …" and returns -1. */
int kube_connect(kube_t *k);
void kube_free(kube_t *k);
/* Prints "error: <msg>" (kubectl's client-side errors) and returns 1. */
int kube_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* kube_fail with err's message; clears err. */
int kube_fail_err(berr_t *err);

/* Splits argv at the first "--" (kubectl's ArgsLenAtDash): dash_argc gets
 * the count before it (argc when there is none), rest and n_rest what follows. */
void kube_split_dash(int argc, char **argv, int *dash_argc, char ***rest, int *n_rest);

/* ---- requests (kube_api.c) -------------------------------------------- */

typedef struct kube_reply {
  long code;
  json_t *json; /* the parsed body, or NULL */
  kc_resp_t raw;
} kube_reply_t;

void kube_reply_free(kube_reply_t *r);
#define cleanup_reply __attribute__((cleanup(kube_reply_free)))

#define KUBE_ACCEPT_TABLE                                                                          \
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/"                                      \
  "json;as=Table;v=v1beta1;g=meta.k8s.io,"                                                         \
  "application/json"

/* One request; body (borrowed, may be NULL) goes as ctype (NULL: JSON). A
 * transport failure prints "error: …" and returns -1; any HTTP status is 0. */
int kube_call(kube_t *k, const char *method, const char *path, const char *ctype,
              const char *accept, json_t *body, kube_reply_t *out);
/* Prints a transport error (kubectl's "The connection to the server … was
 * refused" for ECONNREFUSED) and clears err. */
void kube_transport_fail(kube_t *k, berr_t *err);
/* The error line of a failed reply ("Error from server (NotFound): …"); when
 * what is not NULL it goes after the reason as kubectl's "error when creating
 * \"f.yaml\": " context. */
char *kube_reply_message(const kube_reply_t *r, const char *what);
/* Prints it to stderr; returns 1. */
int kube_reply_fail(const kube_reply_t *r, const char *what);
/* Prints the server's Warning headers as kubectl does ("Warning: …"). */
void kube_print_warnings(const kube_reply_t *r);

/* Resolves TYPE as kubectl does: plural, singular, short name or kind, in
 * any case, optionally qualified by group ("lease.coordination.k8s.io") or
 * version and group ("deployments.v1.apps"). NULL after printing "error: the
 * server doesn't have a resource type …" (or a transport error). */
const kube_res_t *kube_resolve(kube_t *k, const char *type);
/* The types in category name ("all": what `get all` lists), in discovery
 * order, when name is no type of its own: their count (0: not a category,
 * or none), *out a malloc'd array of borrowed types. -1 when discovery
 * failed (printed). */
int kube_resolve_category(kube_t *k, const char *name, const kube_res_t ***out);
/* The type of a manifest: apiVersion "g/v" or "v1" and its kind. NULL with
 * *why set ("no matches for kind …") when there is none. */
const kube_res_t *kube_resolve_kind(kube_t *k, const char *api_version, const char *kind,
                                    char **why);
/* "v1" or "apps/v1". */
char *kube_res_gv(const kube_res_t *r);
/* "configmap", "deployment.apps": what kubectl prints before "/name". */
char *kube_res_display(const kube_res_t *r);
/* /api/v1/namespaces/NS/configmaps[/NAME[/SUB]]; ns NULL: every namespace
 * (a list) or a cluster-scoped type; query ("a=b&c=d") appended when not
 * NULL or empty. Names are escaped. */
char *kube_path(const kube_res_t *r, const char *ns, const char *name, const char *sub,
                const char *query);
/* Percent-encodes everything but RFC 3986's unreserved characters. */
char *kube_escape(const char *s);
/* Appends "&key=escaped(value)" (no "&" when q is empty). */
void kube_query_add(buf_t *q, const char *key, const char *value);

/* ---- printing (kube_print.c) ------------------------------------------ */

/* Go's text/tabwriter: cells end at '\t', a column block is the run of
 * consecutive lines that have a cell in that column; each column is as wide
 * as its widest cell plus padding, and at least minwidth. kubectl get uses
 * (6, 3), describe (0, 2). */
typedef struct kube_tw {
  buf_t text;
  int minwidth, padding;
  /* kubectl's tabwriter fork (RememberWidths): a column is never narrower
   * than it was in an earlier flush. Set remember for get -w. */
  bool remember;
  int *widths;
  size_t n_widths;
} kube_tw_t;

void kube_tw_init(kube_tw_t *tw, int minwidth, int padding);
void kube_tw_printf(kube_tw_t *tw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kube_tw_puts(kube_tw_t *tw, const char *s);
/* Writes the aligned text and empties the buffer. */
void kube_tw_flush(kube_tw_t *tw, FILE *out);
void kube_tw_free(kube_tw_t *tw);

/* kubectl's duration.HumanDuration: "5s", "3m20s", "5h", "3d4h", "2y". */
char *kube_human_duration(int64_t ns);
/* The age of an RFC 3339 time, "<unknown>" when absent or bad. */
char *kube_age(const char *rfc3339);
/* RFC 1123 with numeric zone in local time ("Mon, 02 Jan 2006 15:04:05
 * -0700"); "" when absent. */
char *kube_time_rfc1123z(const char *rfc3339);
/* Sorts events by lastTimestamp, oldest first, keeping ties in order. */
void kube_sort_events(json_t **v, size_t n);
/* "a=b,c=d" with sorted keys, "<none>" when empty. */
char *kube_labels_string(json_t *labels);
/* Sorted keys of an object (NULL-terminated, strv_free). */
char **kube_sorted_keys(json_t *obj);

/* A borrowed value by dotted path ("metadata.name"); NULL when absent. */
json_t *kube_get(json_t *obj, const char *path);
const char *kube_str(json_t *obj, const char *path);

/* JSON as kubectl prints it (Go's MarshalIndent: 4 spaces, sorted keys,
 * <>& escaped), with a final newline. */
void kube_print_json(json_t *v, FILE *out);
/* Compact JSON with sorted keys and Go's escaping, no newline. */
char *kube_json_compact(json_t *v);
/* YAML with sorted keys (kubectl prints maps in key order). */
void kube_print_yaml(json_t *v, FILE *out);
/* kind.group/name of an object ("configmap/a", "deployment.apps/web"). */
char *kube_object_name(json_t *obj);
/* kubectl's List wrapper around items (taken). */
json_t *kube_list_wrap(json_t *items);

/* How get prints a Table. */
typedef struct kube_table_opts {
  bool wide, all_ns, show_labels, no_headers;
} kube_table_opts_t;

/* Adds a Table's rows to tw (the header first when header is true). defs:
 * the columnDefinitions to use (the Table's own when NULL). */
void kube_table_add(kube_tw_t *tw, json_t *table, json_t *defs, const kube_table_opts_t *o,
                    bool header);

/* ---- verbs ------------------------------------------------------------ */

int kube_cmd_get(kube_t *k, int argc, char **argv);
int kube_cmd_events(kube_t *k, int argc, char **argv);
int kube_cmd_describe(kube_t *k, int argc, char **argv);
int kube_cmd_apply(kube_t *k, int argc, char **argv);
int kube_cmd_create(kube_t *k, int argc, char **argv);
int kube_cmd_delete(kube_t *k, int argc, char **argv);
int kube_cmd_run(kube_t *k, int argc, char **argv);
int kube_cmd_logs(kube_t *k, int argc, char **argv);
int kube_cmd_exec(kube_t *k, int argc, char **argv);
/* kube_rollout.c */
int kube_cmd_scale(kube_t *k, int argc, char **argv);
int kube_cmd_rollout(kube_t *k, int argc, char **argv);
/* kube_node.c */
int kube_cmd_cordon(kube_t *k, int argc, char **argv);
int kube_cmd_uncordon(kube_t *k, int argc, char **argv);
int kube_cmd_drain(kube_t *k, int argc, char **argv);

/* describe's pieces shared by its two files. */
void kube_describe_labels(kube_tw_t *tw, const char *title, json_t *labels);
void kube_describe_annotations(kube_tw_t *tw, json_t *annotations);
void kube_describe_events(kube_tw_t *tw, json_t *events);
/* The events of an object (kubectl's field selector on involvedObject), or
 * NULL when they cannot be listed. */
json_t *kube_events_for(kube_t *k, json_t *obj, const char *kind);
int kube_describe_node(kube_t *k, json_t *node, kube_tw_t *tw);
void kube_describe_generic(kube_t *k, json_t *obj, kube_tw_t *tw);

/* The manifests of -f arguments (kube_apply.c): files, directories (*.yaml,
 * *.yml, *.json in name order) or "-"; List items expanded. Each entry is
 * {"source": file, "object": {…}}. Errors print and return NULL. */
json_t *kube_read_manifests(char **files);

/* Where a manifest goes. */
typedef struct kube_target {
  const kube_res_t *res;
  const char *name; /* NULL with generateName */
  char *ns;         /* NULL for cluster-scoped kinds; the caller frees it */
} kube_target_t;

/* Resolves a manifest entry's type and namespace (its metadata.namespace is
 * filled in); prints and returns -1 when it cannot be sent. */
int kube_target_of(kube_t *k, json_t *entry, bool need_name, kube_target_t *t);
/* create -f: POSTs each object, "configmap/a created"; returns the exit code. */
int kube_create_files(kube_t *k, char **files);

#endif
