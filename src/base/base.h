/* base.h — the few things every berth module needs: one error type, cleanup
 * attributes, allocation that never returns NULL, strings and buffers, files
 * written crash-safely, JSON helpers over jansson, time, sizes and logging.
 *
 * Error convention (after crun): a function that can fail returns a negative
 * value and fills a berr_t; callers add context with berr_wrap() so the user
 * sees the whole chain: "run web: mount /data: No such file or directory".
 */
#ifndef BERTH_BASE_H
#define BERTH_BASE_H

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- errors ------------------------------------------------------------ */

typedef struct berr {
  int code;  /* errno of the root cause, or 0 */
  char *msg; /* heap string, NULL when no error */
} berr_t;

/* clang-format off */
#define BERR_INIT {0, NULL}
/* clang-format on */

/* Sets err to "fmt…" (plus ": strerror(errnum)" when errnum != 0); returns -1.
 * err may be NULL. Replaces any earlier message. */
int berr_set(berr_t *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets err to "fmt…" and its code to code, without appending strerror (for
 * errors berth detects itself, whose code a caller may want to test). */
int berr_setc(berr_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes context: "fmt…: <old message>"; returns -1. */
int berr_wrap(berr_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berr_clear(berr_t *err);
/* Hands src's error over to dst (replacing dst's) and leaves src empty;
 * with dst NULL the error is dropped. */
void berr_move(berr_t *dst, berr_t *src);
/* Prints "berth: <message>" to stderr and clears err. */
void berr_print(berr_t *err);

/* ---- cleanup attributes ------------------------------------------------ */

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(FILE **f);
void cleanup_closedirp(DIR **d);
void cleanup_jsonp(json_t **j);
void cleanup_strvp(char ***v);

#define cleanup_free   __attribute__((cleanup(cleanup_freep)))
#define cleanup_close  __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_dir    __attribute__((cleanup(cleanup_closedirp)))
#define cleanup_json   __attribute__((cleanup(cleanup_jsonp)))
#define cleanup_strv   __attribute__((cleanup(cleanup_strvp)))

/* Moves ownership out of a cleanup variable. */
#define steal_ptr(p)                                                                               \
  ({                                                                                               \
    __typeof__(p) _tmp = (p);                                                                      \
    (p) = NULL;                                                                                    \
    _tmp;                                                                                          \
  })
#define steal_fd(fd)                                                                               \
  ({                                                                                               \
    int _tmp = (fd);                                                                               \
    (fd) = -1;                                                                                     \
    _tmp;                                                                                          \
  })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- memory and strings (abort on out-of-memory) ----------------------- */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* dl.c: a library loaded on first use (dlopen); both abort naming package
 * when it cannot be loaded. */
void *dl_open(const char *soname, const char *package);
void *dl_sym(void *lib, const char *name, const char *soname, const char *package);

char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* NULL-terminated string vectors. */
size_t strv_len(char *const *v);
void strv_free(char **v);
char **strv_dup(char *const *v);
/* Appends a copy of s; *v may be NULL. */
void strv_push(char ***v, const char *s);
/* Sorts v in place (strcmp order); strv_sort_unique also frees repeats. */
void strv_sort(char **v);
void strv_sort_unique(char **v);

/* Growable byte buffer; data is always NUL-terminated. */
typedef struct buf {
  char *data;
  size_t len, cap;
} buf_t;

void buf_append(buf_t *b, const void *data, size_t len);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(buf_t *b);
/* Returns the string and leaves b empty. */
char *buf_steal(buf_t *b);

/* ---- files ------------------------------------------------------------- */

/* mkdir -p; succeeds when the directory exists. */
int fs_mkdir_p(const char *path, mode_t mode, berr_t *err);
/* Marks dir as the top of many short-lived directory trees (FS_TOPDIR_FL):
 * ext4 then spreads its subdirectories over the block groups, as it does the
 * root's, instead of packing them into dir's group. Containers come and go
 * under such a directory; spread, each one's inodes sit apart from the
 * others' freed ones, which ext4 without a journal scans past on every
 * allocation (see src/engine/run.c). Best effort: other file systems have no
 * such flag. */
void fs_spread_subdirs(const char *dir);
/* Writes tmp file, fsyncs, renames over path, fsyncs the directory. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, berr_t *err);
/* Reads a whole file (NUL-terminated); refuses files over max bytes (0 = 64 MiB). */
int fs_read_file(const char *path, size_t max, char **data, size_t *len, berr_t *err);
/* rm -rf without following symlinks or crossing mount points; what another
 * process removes meanwhile is not an error. */
int fs_rm_rf(const char *path, berr_t *err);
bool fs_exists(const char *path);
/* Writes a short string to an existing file (cgroup and proc knobs). */
int fs_write_str(const char *path, const char *s, berr_t *err);
/* Copies a regular file. */
int fs_copy_file(const char *src, const char *dst, mode_t mode, berr_t *err);
/* Joins with exactly one '/'. */
char *path_join(const char *a, const char *b);

/* ---- JSON (jansson) ---------------------------------------------------- */

json_t *json_load_path(const char *path, berr_t *err);
/* Serialises compactly and writes with fs_write_atomic. */
int json_save_atomic(const char *path, json_t *j, berr_t *err);
/* Accessors that tolerate NULL and wrong types. */
const char *json_str(json_t *obj, const char *key);
int64_t json_int(json_t *obj, const char *key, int64_t dflt);
bool json_bool(json_t *obj, const char *key, bool dflt);
/* json string array -> strv (NULL when absent); non-strings are an error. */
int json_to_strv(json_t *arr, char ***out, berr_t *err);
json_t *strv_to_json(char *const *v);

/* ---- time -------------------------------------------------------------- */

int64_t time_now_ns(void);  /* CLOCK_REALTIME */
int64_t time_mono_ns(void); /* CLOCK_MONOTONIC */
/* RFC 3339 with nanoseconds in UTC: 2026-11-21T22:34:11.123456789Z */
char *time_rfc3339(int64_t ns);
/* Kubernetes' metav1.Time ("2026-11-22T00:27:11Z", second precision) and
 * MicroTime ("2026-11-22T00:27:11.123456Z", leases' renewTime). */
char *time_rfc3339_sec(int64_t ns);
char *time_rfc3339_micro(int64_t ns);
int time_parse_rfc3339(const char *s, int64_t *ns);
/* "3 seconds ago", "5 minutes ago" style, for tables. */
char *time_ago(int64_t ns);

/* ---- sizes and numbers ------------------------------------------------- */

/* "64m", "1g", "512k", "100" (bytes), "1.5g", "64Mi"; error names the input. */
int parse_size(const char *s, int64_t *bytes, berr_t *err);
/* "1.5g" style for people. */
char *format_size(int64_t bytes);
/* Strict integer parse of a whole string. */
int parse_int64(const char *s, int64_t *out, berr_t *err);

/* ---- processes --------------------------------------------------------- */

/* Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat), so
 * that a recorded pid is never confused with a reused one. Returns 0 when the
 * process does not exist. */
uint64_t proc_start_time(pid_t pid);
/* True when pid exists, is not a zombie and started at start_time. */
bool proc_alive(pid_t pid, uint64_t start_time);

/* ---- hashing (hash.c) -------------------------------------------------- */

#define HASH_FNV_BASIS 0xcbf29ce484222325ULL
/* FNV-1a of n bytes, going on from h (HASH_FNV_BASIS to start). Its values
 * name things on disk and on the machine: they never change. */
uint64_t hash_fnv(uint64_t h, const void *p, size_t n);
/* FNV-1a of a string. */
uint64_t hash_str(const char *s);
/* A 64-bit finalizer (MurmurHash3's fmix64): every input bit moves about
 * half of the output bits. */
uint64_t hash_mix(uint64_t x);

/* ---- logging ----------------------------------------------------------- */

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* One line per event: "time=… level=info msg=… key=value…". */
void log_set_level(enum log_level lvl);
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
