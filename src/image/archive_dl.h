/* archive_dl.h — libarchive, loaded with dlopen() the first time it is used.
 *
 * Every berth invocation pays for loading the shared libraries it links,
 * whether it uses them or not, and libarchive drags in libxml2, ICU,
 * libstdc++, lzma, bz2, lz4, acl… Measured with hyperfine on an empty
 * main(): 0.5 ms with no libraries, 1.8 ms linked with libarchive. That was a
 * third of `berth runtime run` of /bin/true (~6.1 ms), which never touches an
 * archive; neither do `container run` with unpacked layers, ls, logs… So
 * berth does not link libarchive: only image load, save, import and layer
 * unpacking load it.
 *
 * Call sites are written against the real <archive.h> as if it were linked:
 * each function used is a macro for a member of a table of pointers filled on
 * first use (typed from the real prototypes, so calls are checked as usual).
 * A name inside its own macro's expansion is not expanded again, which is what
 * lets "#define archive_read_new (img_archive_fns()->archive_read_new)" work.
 * A function left out of the list still compiles (<archive.h> declares it)
 * but does not link, since nothing provides it: add it to IMG_ARCHIVE_FUNCS
 * and give it a define below.
 *
 * libarchive is a hard dependency: when it cannot be loaded the install is
 * broken and berth aborts with a message naming the package. */
#ifndef BERTH_IMAGE_ARCHIVE_DL_H
#define BERTH_IMAGE_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>

#define IMG_ARCHIVE_SONAME "libarchive.so.13"

/* Every libarchive function berth (and its unit tests) calls. */
#define IMG_ARCHIVE_FUNCS(X)                                                                       \
  X(archive_entry_copy_stat)                                                                       \
  X(archive_entry_filetype)                                                                        \
  X(archive_entry_free)                                                                            \
  X(archive_entry_gid)                                                                             \
  X(archive_entry_hardlink)                                                                        \
  X(archive_entry_mtime)                                                                           \
  X(archive_entry_mtime_nsec)                                                                      \
  X(archive_entry_new)                                                                             \
  X(archive_entry_pathname)                                                                        \
  X(archive_entry_perm)                                                                            \
  X(archive_entry_set_dev)                                                                         \
  X(archive_entry_set_filetype)                                                                    \
  X(archive_entry_set_gid)                                                                         \
  X(archive_entry_set_hardlink)                                                                    \
  X(archive_entry_set_ino)                                                                         \
  X(archive_entry_set_mtime)                                                                       \
  X(archive_entry_set_nlink)                                                                       \
  X(archive_entry_set_pathname)                                                                    \
  X(archive_entry_set_perm)                                                                        \
  X(archive_entry_set_rdev)                                                                        \
  X(archive_entry_set_size)                                                                        \
  X(archive_entry_set_symlink)                                                                     \
  X(archive_entry_set_uid)                                                                         \
  X(archive_entry_size)                                                                            \
  X(archive_entry_size_is_set)                                                                     \
  X(archive_entry_symlink)                                                                         \
  X(archive_entry_uid)                                                                             \
  X(archive_entry_unset_atime)                                                                     \
  X(archive_entry_unset_birthtime)                                                                 \
  X(archive_entry_unset_ctime)                                                                     \
  X(archive_entry_xattr_add_entry)                                                                 \
  X(archive_entry_xattr_next)                                                                      \
  X(archive_entry_xattr_reset)                                                                     \
  X(archive_errno)                                                                                 \
  X(archive_error_string)                                                                          \
  X(archive_read_data)                                                                             \
  X(archive_read_data_block)                                                                       \
  X(archive_read_free)                                                                             \
  X(archive_read_new)                                                                              \
  X(archive_read_next_header)                                                                      \
  X(archive_read_open)                                                                             \
  X(archive_read_open_fd)                                                                          \
  X(archive_read_support_filter_all)                                                               \
  X(archive_read_support_format_raw)                                                               \
  X(archive_read_support_format_tar)                                                               \
  X(archive_set_error)                                                                             \
  X(archive_write_add_filter_gzip)                                                                 \
  X(archive_write_add_filter_zstd)                                                                 \
  X(archive_write_close)                                                                           \
  X(archive_write_data)                                                                            \
  X(archive_write_free)                                                                            \
  X(archive_write_header)                                                                          \
  X(archive_write_new)                                                                             \
  X(archive_write_open_fd)                                                                         \
  X(archive_write_open_filename)                                                                   \
  X(archive_write_set_bytes_in_last_block)                                                         \
  X(archive_write_set_filter_option)                                                               \
  X(archive_write_set_format_pax_restricted)                                                       \
  X(archive_write_set_format_raw)

struct img_archive_fns {
#define IMG_ARCHIVE_MEMBER(f) __typeof__(&f) f;
  IMG_ARCHIVE_FUNCS(IMG_ARCHIVE_MEMBER)
#undef IMG_ARCHIVE_MEMBER
};

/* Loads libarchive on the first call (thread-safe); aborts if it cannot. */
const struct img_archive_fns *img_archive_fns(void);

#ifndef IMG_ARCHIVE_NO_MACROS
#define archive_entry_copy_stat         (img_archive_fns()->archive_entry_copy_stat)
#define archive_entry_filetype          (img_archive_fns()->archive_entry_filetype)
#define archive_entry_free              (img_archive_fns()->archive_entry_free)
#define archive_entry_gid               (img_archive_fns()->archive_entry_gid)
#define archive_entry_hardlink          (img_archive_fns()->archive_entry_hardlink)
#define archive_entry_mtime             (img_archive_fns()->archive_entry_mtime)
#define archive_entry_mtime_nsec        (img_archive_fns()->archive_entry_mtime_nsec)
#define archive_entry_new               (img_archive_fns()->archive_entry_new)
#define archive_entry_pathname          (img_archive_fns()->archive_entry_pathname)
#define archive_entry_perm              (img_archive_fns()->archive_entry_perm)
#define archive_entry_set_dev           (img_archive_fns()->archive_entry_set_dev)
#define archive_entry_set_filetype      (img_archive_fns()->archive_entry_set_filetype)
#define archive_entry_set_gid           (img_archive_fns()->archive_entry_set_gid)
#define archive_entry_set_hardlink      (img_archive_fns()->archive_entry_set_hardlink)
#define archive_entry_set_ino           (img_archive_fns()->archive_entry_set_ino)
#define archive_entry_set_mtime         (img_archive_fns()->archive_entry_set_mtime)
#define archive_entry_set_nlink         (img_archive_fns()->archive_entry_set_nlink)
#define archive_entry_set_pathname      (img_archive_fns()->archive_entry_set_pathname)
#define archive_entry_set_perm          (img_archive_fns()->archive_entry_set_perm)
#define archive_entry_set_rdev          (img_archive_fns()->archive_entry_set_rdev)
#define archive_entry_set_size          (img_archive_fns()->archive_entry_set_size)
#define archive_entry_set_symlink       (img_archive_fns()->archive_entry_set_symlink)
#define archive_entry_set_uid           (img_archive_fns()->archive_entry_set_uid)
#define archive_entry_size              (img_archive_fns()->archive_entry_size)
#define archive_entry_size_is_set       (img_archive_fns()->archive_entry_size_is_set)
#define archive_entry_symlink           (img_archive_fns()->archive_entry_symlink)
#define archive_entry_uid               (img_archive_fns()->archive_entry_uid)
#define archive_entry_unset_atime       (img_archive_fns()->archive_entry_unset_atime)
#define archive_entry_unset_birthtime   (img_archive_fns()->archive_entry_unset_birthtime)
#define archive_entry_unset_ctime       (img_archive_fns()->archive_entry_unset_ctime)
#define archive_entry_xattr_add_entry   (img_archive_fns()->archive_entry_xattr_add_entry)
#define archive_entry_xattr_next        (img_archive_fns()->archive_entry_xattr_next)
#define archive_entry_xattr_reset       (img_archive_fns()->archive_entry_xattr_reset)
#define archive_errno                   (img_archive_fns()->archive_errno)
#define archive_error_string            (img_archive_fns()->archive_error_string)
#define archive_read_data               (img_archive_fns()->archive_read_data)
#define archive_read_data_block         (img_archive_fns()->archive_read_data_block)
#define archive_read_free               (img_archive_fns()->archive_read_free)
#define archive_read_new                (img_archive_fns()->archive_read_new)
#define archive_read_next_header        (img_archive_fns()->archive_read_next_header)
#define archive_read_open               (img_archive_fns()->archive_read_open)
#define archive_read_open_fd            (img_archive_fns()->archive_read_open_fd)
#define archive_read_support_filter_all (img_archive_fns()->archive_read_support_filter_all)
#define archive_read_support_format_raw (img_archive_fns()->archive_read_support_format_raw)
#define archive_read_support_format_tar (img_archive_fns()->archive_read_support_format_tar)
#define archive_set_error               (img_archive_fns()->archive_set_error)
#define archive_write_add_filter_gzip   (img_archive_fns()->archive_write_add_filter_gzip)
#define archive_write_add_filter_zstd   (img_archive_fns()->archive_write_add_filter_zstd)
#define archive_write_close             (img_archive_fns()->archive_write_close)
#define archive_write_data              (img_archive_fns()->archive_write_data)
#define archive_write_free              (img_archive_fns()->archive_write_free)
#define archive_write_header            (img_archive_fns()->archive_write_header)
#define archive_write_new               (img_archive_fns()->archive_write_new)
#define archive_write_open_fd           (img_archive_fns()->archive_write_open_fd)
#define archive_write_open_filename     (img_archive_fns()->archive_write_open_filename)
#define archive_write_set_bytes_in_last_block                                                      \
  (img_archive_fns()->archive_write_set_bytes_in_last_block)
#define archive_write_set_filter_option (img_archive_fns()->archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted                                                    \
  (img_archive_fns()->archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw (img_archive_fns()->archive_write_set_format_raw)
#endif

#endif
