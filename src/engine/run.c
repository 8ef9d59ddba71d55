/* run.c — ROOT/run, where the engine keeps its containers' runtime state: a
 * tmpfs, mounted by the engine the first time a root is opened (and again
 * after a reboot, which empties it).
 *
 * Why a tmpfs: that state (state.json, exec.fifo, exit.json, attach.sock and
 * the rootfs mount point: a few files per container) is made and removed
 * with every container, and it describes processes, which a reboot ends —
 * so it is kept where runc keeps /run/runc and containerd /run/containerd.
 * On ext4 without a journal, making an inode costs one buffer lookup per
 * inode freed in the last minutes (the allocator skips recently deleted
 * ones): after container churn every mkdir or create cost ~0.5 ms. A tmpfs
 * has no such cost. What must outlive a reboot (meta.json, config.json, the
 * writable layer, the log, the name index) stays in ROOT/containers.
 *
 * The mount is made under the engine lock after looking again, so two
 * processes opening a fresh root at once never stack two tmpfs. berth never
 * unmounts it: containers outlive the process that made them. Without the
 * right to mount (EPERM: not root), ROOT/run stays a plain directory and
 * everything works the same, only slower, and the state outlives a reboot
 * (a state whose process is gone reads as stopped). */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The tmpfs options. A container's state takes a page or two (state.json,
 * exit.json; the fifo, the socket and the directories take none): 128 MiB is
 * room for some 16,000 containers, and a tmpfs uses only what its files do. */
#define RUN_TMPFS_OPTS "mode=0700,size=128m"

/* True when path is the root of a mount. */
static bool is_mount_point(const char *path)
{
  struct statx sx;
  if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) < 0)
    return false;
  if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  /* Kernels before 5.8: a file system other than its parent's. */
  cleanup_free char *parent = path_join(path, "..");
  struct stat a, b;
  return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

void eng_run_mount(engine *e)
{
  cleanup_free char *run = path_join(e->root, "run");
  if (!is_mount_point(run)) {
    berr_t err = BERR_INIT;
    cleanup_eng_lock int lock = eng_lock(e, &err);
    /* Another process may have mounted it while we waited for the lock. */
    if (lock >= 0 && !is_mount_point(run)) {
      if (mkdir(run, 0700) < 0 && errno != EEXIST)
        berr_set(&err, errno, "mkdir %s", run);
      else if (mount("tmpfs", run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, RUN_TMPFS_OPTS) < 0)
        berr_set(&err, errno, "mount a tmpfs on %s", run);
      else
        log_debug("msg=\"runtime state on a tmpfs\" dir=%s opts=%s", run, RUN_TMPFS_OPTS);
    }
    if (err.msg)
      log_debug("msg=\"runtime state in a plain directory\" dir=%s err=\"%s\"", run, err.msg);
    berr_clear(&err);
  }
  /* Not fatal here: a caller that only reads needs none of it, and one that
   * makes a container is told what failed when it needs the directory. */
  if (mkdir(e->rt, 0700) < 0 && errno == ENOENT)
    fs_mkdir_p(e->rt, 0700, NULL);
}
