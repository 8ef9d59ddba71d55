/* sqlite_dl.h — SQLite, loaded with dlopen() the first time a store is opened.
 *
 * Only `berth server` keeps a store, yet every berth invocation paid for
 * loading libsqlite3 when it was linked: 0.3 ms per start measured with
 * hyperfine on an empty main() (0.6 → 0.9 ms), on the path of every
 * `berth runtime run` and `container run`. This follows the pattern of
 * src/image/archive_dl.h (read its comment): call sites are written against
 * the real <sqlite3.h>; each function used is a macro for a member of a table
 * filled on first use. A function missing from STORE_SQLITE_FUNCS compiles
 * but does not link: add it there and give it a define below. */
#ifndef BERTH_STORE_SQLITE_DL_H
#define BERTH_STORE_SQLITE_DL_H

#include <sqlite3.h>

#define STORE_SQLITE_SONAME "libsqlite3.so.0"

#define STORE_SQLITE_FUNCS(X)                                                                      \
  X(sqlite3_bind_blob64)                                                                           \
  X(sqlite3_bind_int)                                                                              \
  X(sqlite3_bind_int64)                                                                            \
  X(sqlite3_bind_null)                                                                             \
  X(sqlite3_bind_text)                                                                             \
  X(sqlite3_bind_zeroblob)                                                                         \
  X(sqlite3_busy_timeout)                                                                          \
  X(sqlite3_changes)                                                                               \
  X(sqlite3_clear_bindings)                                                                        \
  X(sqlite3_close)                                                                                 \
  X(sqlite3_column_blob)                                                                           \
  X(sqlite3_column_bytes)                                                                          \
  X(sqlite3_column_int)                                                                            \
  X(sqlite3_column_int64)                                                                          \
  X(sqlite3_column_text)                                                                           \
  X(sqlite3_errmsg)                                                                                \
  X(sqlite3_exec)                                                                                  \
  X(sqlite3_finalize)                                                                              \
  X(sqlite3_get_autocommit)                                                                        \
  X(sqlite3_open_v2)                                                                               \
  X(sqlite3_prepare_v2)                                                                            \
  X(sqlite3_prepare_v3)                                                                            \
  X(sqlite3_reset)                                                                                 \
  X(sqlite3_step)                                                                                  \
  X(sqlite3_wal_checkpoint_v2)                                                                     \
  X(sqlite3_wal_hook)

struct store_sqlite_fns {
#define STORE_SQLITE_MEMBER(f) __typeof__(&f) f;
  STORE_SQLITE_FUNCS(STORE_SQLITE_MEMBER)
#undef STORE_SQLITE_MEMBER
};

/* Loads SQLite on the first call (thread-safe); aborts if it cannot. */
const struct store_sqlite_fns *store_sqlite_fns(void);

#ifndef STORE_SQLITE_NO_MACROS
#define sqlite3_bind_blob64       (store_sqlite_fns()->sqlite3_bind_blob64)
#define sqlite3_bind_int          (store_sqlite_fns()->sqlite3_bind_int)
#define sqlite3_bind_int64        (store_sqlite_fns()->sqlite3_bind_int64)
#define sqlite3_bind_null         (store_sqlite_fns()->sqlite3_bind_null)
#define sqlite3_bind_text         (store_sqlite_fns()->sqlite3_bind_text)
#define sqlite3_bind_zeroblob     (store_sqlite_fns()->sqlite3_bind_zeroblob)
#define sqlite3_busy_timeout      (store_sqlite_fns()->sqlite3_busy_timeout)
#define sqlite3_changes           (store_sqlite_fns()->sqlite3_changes)
#define sqlite3_clear_bindings    (store_sqlite_fns()->sqlite3_clear_bindings)
#define sqlite3_close             (store_sqlite_fns()->sqlite3_close)
#define sqlite3_column_blob       (store_sqlite_fns()->sqlite3_column_blob)
#define sqlite3_column_bytes      (store_sqlite_fns()->sqlite3_column_bytes)
#define sqlite3_column_int        (store_sqlite_fns()->sqlite3_column_int)
#define sqlite3_column_int64      (store_sqlite_fns()->sqlite3_column_int64)
#define sqlite3_column_text       (store_sqlite_fns()->sqlite3_column_text)
#define sqlite3_errmsg            (store_sqlite_fns()->sqlite3_errmsg)
#define sqlite3_exec              (store_sqlite_fns()->sqlite3_exec)
#define sqlite3_finalize          (store_sqlite_fns()->sqlite3_finalize)
#define sqlite3_get_autocommit    (store_sqlite_fns()->sqlite3_get_autocommit)
#define sqlite3_open_v2           (store_sqlite_fns()->sqlite3_open_v2)
#define sqlite3_prepare_v2        (store_sqlite_fns()->sqlite3_prepare_v2)
#define sqlite3_prepare_v3        (store_sqlite_fns()->sqlite3_prepare_v3)
#define sqlite3_reset             (store_sqlite_fns()->sqlite3_reset)
#define sqlite3_step              (store_sqlite_fns()->sqlite3_step)
#define sqlite3_wal_checkpoint_v2 (store_sqlite_fns()->sqlite3_wal_checkpoint_v2)
#define sqlite3_wal_hook          (store_sqlite_fns()->sqlite3_wal_hook)
#endif

#endif
