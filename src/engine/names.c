/* names.c — how containers are named and found: random 64-hex ids, unique
 * human names (given, or adjective_noun from the small lists below), and the
 * lookup that turns a name or a short id prefix into the full id.
 *
 * Uniqueness: a name is claimed by a symlink ROOT/run/names/NAME -> ID (on
 * the engine's tmpfs), made under the containers lock
 * (ROOT/containers/.lock) together with the container's directory; a link
 * whose directory is gone (removed, or auto-removed by its monitor) is stale
 * and may be claimed again. So a claim is O(1) whatever the number of
 * containers, and the lock is held only for it. Without the index (after a
 * reboot, or a root made by an older berth) it is built from the meta.json
 * files on first use. */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

static const char *const adjectives[] = {
  "admiring", "agile",  "amazing", "bold",    "brave",    "bright",   "calm",     "clever",
  "cool",     "crisp",  "eager",   "elegant", "epic",     "fervent",  "festive",  "focused",
  "gentle",   "happy",  "hopeful", "jolly",   "keen",     "kind",     "lively",   "loving",
  "lucid",    "mellow", "merry",   "modest",  "nifty",    "noble",    "patient",  "plucky",
  "quiet",    "quirky", "relaxed", "serene",  "sharp",    "snappy",   "stoic",    "sunny",
  "swift",    "tender", "upbeat",  "vibrant", "vigilant", "wizardly", "youthful", "zealous",
};

static const char *const nouns[] = {
  "albatross", "anchor",  "beacon",     "buoy",   "cable",   "capstan",  "compass", "cutter",
  "dinghy",    "dock",    "ferry",      "galley", "harbor",  "helm",     "hull",    "jetty",
  "keel",      "lantern", "lighthouse", "mast",   "mooring", "narwhal",  "otter",   "pelican",
  "pier",      "puffin",  "quay",       "rudder", "sail",    "schooner", "seal",    "sextant",
  "skiff",     "sloop",   "starling",   "tern",   "tide",    "tugboat",  "walrus",  "wharf",
};

static void random_bytes(void *p, size_t n)
{
  unsigned char *b = p;
  while (n > 0) {
    ssize_t r = getrandom(b, n, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      abort(); /* getrandom cannot fail on Linux >= 3.17 with these flags */
    b += r;
    n -= (size_t)r;
  }
}

char *engine_id_generate(void)
{
  unsigned char raw[32];
  random_bytes(raw, sizeof raw);
  char *id = xmalloc(65);
  for (size_t i = 0; i < sizeof raw; i++)
    snprintf(id + 2 * i, 3, "%02x", raw[i]);
  return id;
}

char *engine_name_generate(void)
{
  uint32_t r[2];
  random_bytes(r, sizeof r);
  return xasprintf("%s_%s", adjectives[r[0] % ARRAY_SIZE(adjectives)],
                   nouns[r[1] % ARRAY_SIZE(nouns)]);
}

char *eng_ctr_dir(engine *e, const char *id)
{
  return path_join(e->dir, id);
}

char *eng_ctr_file(engine *e, const char *id, const char *file)
{
  return xasprintf("%s/%s/%s", e->dir, id, file);
}

char *eng_state_dir(engine *e, const char *id)
{
  return path_join(e->rt, id);
}

char *eng_state_file(engine *e, const char *id, const char *file)
{
  return xasprintf("%s/%s/%s", e->rt, id, file);
}

char *engine_state_dir(engine *e, const char *id)
{
  return eng_state_dir(e, id);
}

static bool is_full_id(const char *s)
{
  if (strlen(s) != 64)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

int eng_meta_load(engine *e, const char *id, json_t **meta, berr_t *err)
{
  if (!is_full_id(id))
    return berr_setc(err, ENOENT, "no such container: %s", id);
  cleanup_free char *path = eng_ctr_file(e, id, "meta.json");
  if (!fs_exists(path))
    return berr_setc(err, ENOENT, "no such container: %s", id);
  *meta = json_load_path(path, err);
  return *meta ? 0 : -1;
}

int eng_lock(engine *e, berr_t *err)
{
  cleanup_free char *path = path_join(e->dir, ".lock");
  cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  while (flock(fd, LOCK_EX) < 0) {
    if (errno != EINTR)
      return berr_set(err, errno, "lock %s", path);
  }
  return steal_fd(fd);
}

void eng_unlockp(int *fd)
{
  if (*fd < 0)
    return;
  flock(*fd, LOCK_UN);
  close(*fd);
  *fd = -1;
}

/* Calls fn for every container directory holding a meta.json; stops at the
 * first non-zero return and passes it on. */
typedef int (*meta_fn)(const char *id, json_t *meta, void *arg);

static int for_each_meta(const char *dir, meta_fn fn, void *arg)
{
  cleanup_dir DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!is_full_id(de->d_name))
      continue;
    cleanup_free char *path = xasprintf("%s/%s/meta.json", dir, de->d_name);
    cleanup_json json_t *meta = json_load_path(path, NULL);
    if (!meta)
      continue; /* being created or removed */
    int r = fn(de->d_name, meta, arg);
    if (r)
      return r;
  }
  return 0;
}

typedef struct find_ctx {
  const char *ref;
  size_t ref_len;
  char *by_name;
  char **by_prefix;
} find_ctx;

static int find_cb(const char *id, json_t *meta, void *arg)
{
  find_ctx *c = arg;
  const char *name = json_str(meta, "name");
  if (name && !strcmp(name, c->ref) && !c->by_name)
    c->by_name = xstrdup(id);
  if (c->ref_len >= 3 && !strncmp(id, c->ref, c->ref_len))
    strv_push(&c->by_prefix, id);
  return 0;
}

int engine_lookup(engine *e, const char *ref, char **id, berr_t *err)
{
  if (!ref || !*ref)
    return berr_setc(err, ENOENT, "no such container: \"\"");
  find_ctx c = { .ref = ref, .ref_len = strlen(ref) };
  for_each_meta(e->dir, find_cb, &c);
  cleanup_strv char **prefix = c.by_prefix;
  /* A name wins over an id prefix, as in docker. */
  if (c.by_name) {
    *id = c.by_name;
    return 0;
  }
  size_t n = strv_len(prefix);
  if (n == 1) {
    *id = xstrdup(prefix[0]);
    return 0;
  }
  if (n > 1)
    return berr_setc(err, EINVAL, "container id prefix %s is ambiguous: it matches %zu containers",
                     ref, n);
  return berr_setc(err, ENOENT, "no such container: %s", ref);
}

/* ---- the name index: ROOT/run/names/NAME -> ID ---------------------------- */

/* The index is a cache of the names in meta.json, kept on the run tmpfs (a
 * link per container costs an inode: on ext4 without a journal, a scan of
 * the recently deleted ones); after a reboot empties it, it is built again
 * from the meta.json files. */
static char *names_dir(engine *e)
{
  return path_join(e->root, "run/names");
}

typedef struct index_ctx {
  int dfd;
} index_ctx;

static int index_cb(const char *id, json_t *meta, void *arg)
{
  const char *name = json_str(meta, "name");
  if (name && engine_name_check(name, NULL) == 0)
    symlinkat(id, ((index_ctx *)arg)->dfd, name);
  return 0;
}

/* Builds the index from the meta.json files when there is none (a fresh
 * tmpfs: a reboot, or a root made by an older berth): in a temporary
 * directory renamed into place, so a half-built index is never used. */
static int names_ensure(engine *e, berr_t *err)
{
  cleanup_free char *dir = names_dir(e);
  if (fs_exists(dir))
    return 0;
  cleanup_free char *tmp = path_join(e->root, "run/.names.tmp.XXXXXX");
  if (!mkdtemp(tmp))
    return berr_set(err, errno, "create %s", tmp);
  index_ctx c = { open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
  if (c.dfd >= 0) {
    for_each_meta(e->dir, index_cb, &c);
    close(c.dfd);
  }
  if (c.dfd < 0 || rename(tmp, dir) < 0) {
    int en = errno;
    fs_rm_rf(tmp, NULL);
    if (!fs_exists(dir)) /* else another process made it first */
      return berr_set(err, en, "create %s", dir);
  }
  return 0;
}

char *eng_name_owner(engine *e, const char *name)
{
  if (names_ensure(e, NULL) < 0 || engine_name_check(name, NULL) < 0)
    return NULL;
  cleanup_free char *link = xasprintf("%s/run/names/%s", e->root, name);
  char id[80];
  ssize_t n = readlink(link, id, sizeof id - 1);
  if (n <= 0)
    return NULL;
  id[n] = '\0';
  if (!is_full_id(id))
    return NULL;
  /* The directory goes with the container (rm, or the monitor of an
   * auto-remove one): a link to a missing one is stale. */
  cleanup_free char *dir = eng_ctr_dir(e, id);
  return fs_exists(dir) ? xstrdup(id) : NULL;
}

int eng_name_claim(engine *e, const char *name, const char *id, berr_t *err)
{
  if (names_ensure(e, err) < 0)
    return -1;
  cleanup_free char *link = xasprintf("%s/run/names/%s", e->root, name);
  for (int tries = 0;; tries++) {
    if (symlink(id, link) == 0)
      return 0;
    if (errno != EEXIST || tries > 0)
      return berr_set(err, errno, "claim container name %s", name);
    cleanup_free char *owner = eng_name_owner(e, name);
    if (owner)
      return berr_setc(err, EEXIST, "container name %s is already in use by %.12s", name, owner);
    if (unlink(link) < 0 && errno != ENOENT)
      return berr_set(err, errno, "claim container name %s", name);
  }
}

void eng_names_gc(engine *e)
{
  cleanup_free char *dir = names_dir(e);
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    cleanup_free char *owner = eng_name_owner(e, de->d_name);
    if (!owner)
      unlinkat(dirfd(d), de->d_name, 0);
  }
}

void eng_name_release(engine *e, const char *name, const char *id)
{
  if (!name || engine_name_check(name, NULL) < 0)
    return;
  cleanup_free char *link = xasprintf("%s/run/names/%s", e->root, name);
  char cur[80];
  ssize_t n = readlink(link, cur, sizeof cur - 1);
  if (n <= 0)
    return;
  cur[n] = '\0';
  if (!strcmp(cur, id))
    unlink(link);
}

typedef struct image_ctx {
  const char *image_id;
} image_ctx;

static int image_cb(const char *id, json_t *meta, void *arg)
{
  const char *img = json_str(meta, "image_id");
  return img && !strcmp(img, ((image_ctx *)arg)->image_id);
}

bool engine_image_in_use(const char *root, const char *image_id)
{
  if (!root || !image_id)
    return false;
  cleanup_free char *dir = path_join(root, "containers");
  image_ctx c = { image_id };
  return for_each_meta(dir, image_cb, &c) != 0;
}

typedef struct list_ctx {
  char **ids;
} list_ctx;

static int ids_cb(const char *id, json_t *meta, void *arg)
{
  strv_push(&((list_ctx *)arg)->ids, id);
  return 0;
}

char **eng_all_ids(engine *e)
{
  list_ctx c = { 0 };
  for_each_meta(e->dir, ids_cb, &c);
  return c.ids ? c.ids : xcalloc(1, sizeof(char *));
}
