/* names.c — how containers are named and found: random 64-hex ids, unique
 * human names (given, or adjective_noun from the small lists below), and the
 * lookup that turns a name or a short id prefix into the full id.
 *
 * Uniqueness is checked by scanning every meta.json under the containers
 * lock (ROOT/containers/.lock); the lock is held from the check until the
 * new container's meta.json exists, so concurrent runs cannot both win. */
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

static int name_cb(const char *id, json_t *meta, void *arg)
{
  char **owner = arg;
  const char *name = json_str(meta, "name");
  if (name && !strcmp(name, owner[0])) {
    owner[1] = xstrdup(id);
    return 1;
  }
  return 0;
}

char *eng_name_owner(engine *e, const char *name)
{
  char *owner[2] = { (char *)name, NULL };
  for_each_meta(e->dir, name_cb, owner);
  return owner[1];
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
