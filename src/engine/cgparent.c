/* cgparent.c — removing a cgroup parent (engine_create_opts.cgroup_parent)
 * once the containers in it are gone, listing the parents under a common
 * one (to find those left behind), and the cgroup of a container whose
 * runtime state is gone.
 *
 * The runtime makes a container's cgroup PARENT/ID, and PARENT along with it
 * in every hierarchy it uses; it removes ID when the container ends but
 * leaves PARENT, which other containers may share (a pod's). Whoever owns
 * the parent removes it: here, by rmdir in every mounted cgroup hierarchy
 * (v1 controllers, the cgroup2 tree); its own parents stay. A hierarchy where it
 * was never made answers ENOENT, which is fine. */
#include "engine/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The mount points of every cgroup and cgroup2 file system. */
static char **cgroup_mounts(berr_t *err)
{
  cleanup_free char *text = NULL;
  if (fs_read_file("/proc/self/mountinfo", 0, &text, NULL, err) < 0)
    return NULL;
  char **v = xcalloc(1, sizeof *v);
  for (char *p = text, *line; (line = strsep(&p, "\n"));) {
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL…] - FSTYPE SOURCE SUPER" */
    char *sep = strstr(line, " - ");
    if (!sep)
      continue;
    char fstype[16] = { 0 };
    if (sscanf(sep + 3, "%15s", fstype) != 1
        || (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")))
      continue;
    char *f = line;
    for (int i = 0; i < 4 && f; i++) {
      f = strchr(f, ' ');
      if (f)
        f++;
    }
    if (!f)
      continue;
    char *end = strchr(f, ' ');
    if (!end)
      continue;
    *end = '\0';
    strv_push(&v, f); /* mountinfo escapes spaces as \040: cgroup mounts have none */
  }
  return v;
}

/* A copy of the cgroup mount points (read once per engine handle). */
static char **mounts_of(engine *e, berr_t *err)
{
  pthread_mutex_lock(&e->cg_lock);
  if (!e->cg_mounts)
    e->cg_mounts = cgroup_mounts(err);
  char **mounts = e->cg_mounts ? strv_dup(e->cg_mounts) : NULL;
  pthread_mutex_unlock(&e->cg_lock);
  return mounts;
}

/* rmdir of REL (no leading '/') in every mounted cgroup hierarchy; ENOENT
 * is fine. */
static int cgroup_rmdir_all(engine *e, const char *rel, berr_t *err)
{
  cleanup_strv char **mounts = mounts_of(e, err);
  if (!mounts)
    return berr_wrap(err, "remove cgroup %s", rel);
  int rc = 0;
  for (size_t i = 0; mounts[i]; i++) {
    cleanup_free char *dir = path_join(mounts[i], rel);
    if (rmdir(dir) < 0 && errno != ENOENT && rc == 0)
      rc = berr_set(err, errno, "remove cgroup %s", dir);
  }
  return rc;
}

int engine_cgroup_parent_remove(engine *e, const char *parent, berr_t *err)
{
  while (parent && *parent == '/')
    parent++;
  if (!parent || !*parent || strstr(parent, ".."))
    return berr_setc(err, EINVAL, "invalid cgroup parent \"%s\"", parent ? parent : "");
  return cgroup_rmdir_all(e, parent, err);
}

int engine_cgroup_children(engine *e, const char *parent, char ***names, berr_t *err)
{
  while (parent && *parent == '/')
    parent++;
  if (!parent || !*parent || strstr(parent, ".."))
    return berr_setc(err, EINVAL, "invalid cgroup parent \"%s\"", parent ? parent : "");
  cleanup_strv char **mounts = mounts_of(e, err);
  if (!mounts)
    return berr_wrap(err, "list cgroup %s", parent);
  char **v = xcalloc(1, sizeof *v);
  for (size_t i = 0; mounts[i]; i++) {
    cleanup_free char *dir = path_join(mounts[i], parent);
    cleanup_dir DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
      if (de->d_type == DT_DIR && de->d_name[0] != '.')
        strv_push(&v, de->d_name);
  }
  strv_sort_unique(v); /* each hierarchy has its own copy of most names */
  *names = v;
  return 0;
}

void eng_cgroup_drop(engine *e, const char *id)
{
  /* The runtime's choice: linux.cgroupsPath, else /berth/ID. */
  cleanup_free char *cfgp = eng_ctr_file(e, id, "config.json");
  cleanup_json json_t *cfg = json_load_path(cfgp, NULL);
  const char *path = json_str(json_object_get(cfg, "linux"), "cgroupsPath");
  cleanup_free char *rel = path ? xstrdup(path) : xasprintf("berth/%s", id);
  const char *r = rel;
  while (*r == '/')
    r++;
  berr_t err = BERR_INIT;
  if (!*r || strstr(r, "..") || cgroup_rmdir_all(e, r, &err) < 0)
    log_debug("msg=\"cannot remove the cgroup of a container without state\" id=%.12s "
              "cgroup=%s err=\"%s\"",
              id, rel, err.msg ? err.msg : "invalid path");
  berr_clear(&err);
}
