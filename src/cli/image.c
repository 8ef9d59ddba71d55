/* image.c — `berth image …`: parses arguments, calls src/image/ and prints
 * in docker's formats (tables, "Loaded image: …", "Untagged: …"). */
#include "cli/cli.h"
#include "engine/engine.h"
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[]
    = "Usage: berth image COMMAND\n"
      "\n"
      "Manage images. Images live in ROOT/images (see 'berth --help' for --root).\n"
      "\n"
      "Commands:\n"
      "  ls [-q] [--no-trunc] [REPOSITORY[:TAG]]\n"
      "                            list images\n"
      "  inspect IMAGE…            show images as a JSON array\n"
      "  load [-q] [-i FILE]       load an OCI image layout (directory or tar) or a\n"
      "                            `docker save` archive; default standard input\n"
      "  save [-o FILE] IMAGE…     write images as an OCI layout tar (with a docker\n"
      "                            manifest.json); default standard output\n"
      "  import SRC [NAME[:TAG]]   make a one-layer image from a root filesystem\n"
      "                            directory or tarball (\"-\" = standard input)\n"
      "  tag SOURCE TARGET         give an image another name\n"
      "  rm [-f] IMAGE…            untag or delete images\n"
      "  prune [-a] [-f]           delete unnamed images (-a: every image) that no\n"
      "                            container uses\n"
      "\n"
      "IMAGE is a name (busybox, busybox:latest, docker.io/library/busybox:latest),\n"
      "an image id or a unique prefix of one (at least 4 hex digits).\n";

static bool in_use(const char *image_id, void *arg)
{
  cli_ctx *ctx = arg;
  return engine_image_in_use(ctx->root, image_id);
}

static bool wants_help(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--"))
      return false;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
      return true;
  }
  return false;
}

/* getopt over a verb's own argv (argv[0] = the verb). */
static int next_opt(int argc, char **argv, const char *shorts, const struct option *longs)
{
  return getopt_long(argc, argv, shorts, longs, NULL);
}

static void reset_getopt(void)
{
  optind = 0; /* glibc: full re-initialisation */
  opterr = 0;
}

static char *short_id(const char *id, bool no_trunc)
{
  if (no_trunc || !str_has_prefix(id, "sha256:"))
    return xstrdup(id);
  return xstrndup(id + 7, 12);
}

/* ---- ls ---------------------------------------------------------------- */

typedef struct row {
  char *cols[5];
} row;

static bool name_matches(const char *name, const char *filter, bool filter_has_tag)
{
  if (filter_has_tag)
    return !strcmp(name, filter);
  size_t n = strrchr(filter, ':') - filter; /* filter is normalised: repo:latest */
  return !strncmp(name, filter, n) && name[n] == ':';
}

static void print_table(row *rows, size_t n)
{
  size_t w[5] = { 0 };
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 5; c++)
      if (strlen(rows[i].cols[c]) > w[c])
        w[c] = strlen(rows[i].cols[c]);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 4; c++)
      printf("%-*s   ", (int)w[c], rows[i].cols[c]);
    printf("%s\n", rows[i].cols[4]);
  }
}

static int cmd_ls(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option longs[] = { { "quiet", no_argument, 0, 'q' },
                                         { "no-trunc", no_argument, 0, 'T' },
                                         { "all", no_argument, 0, 'a' },
                                         { 0, 0, 0, 0 } };
  bool quiet = false, no_trunc = false;
  int o;
  reset_getopt();
  while ((o = next_opt(argc, argv, "+qa", longs)) != -1) {
    if (o == 'q')
      quiet = true;
    else if (o == 'T')
      no_trunc = true;
    else if (o != 'a')
      return cli_usage_error("image ls", "unknown option \"%s\"", argv[optind - 1]);
  }
  if (argc - optind > 1)
    return cli_usage_error("image ls", "\"image ls\" takes at most one REPOSITORY[:TAG]");

  berr_t err = BERR_INIT;
  cleanup_free char *filter = NULL;
  bool filter_tag = false;
  if (optind < argc) {
    const char *f = argv[optind];
    const char *slash = strrchr(f, '/'), *colon = strrchr(f, ':');
    filter_tag = colon && (!slash || colon > slash);
    if (img_ref_normalize(f, &filter, &err) < 0)
      return cli_fail(&err);
  }

  img_store *s = NULL;
  img_summary *v = NULL;
  size_t n = 0;
  if (img_store_open(ctx->root, &s, &err) < 0 || img_list(s, &v, &n, &err) < 0) {
    img_store_close(s);
    return cli_fail(&err);
  }
  img_store_close(s);

  row *rows = xcalloc(1, sizeof *rows);
  size_t nrows = 0;
  if (!quiet) {
    rows[0] = (row){ { xstrdup("REPOSITORY"), xstrdup("TAG"), xstrdup("IMAGE ID"),
                       xstrdup("CREATED"), xstrdup("SIZE") } };
    nrows = 1;
  }
  cleanup_json json_t *seen = json_object();
  for (size_t i = 0; i < n; i++) {
    size_t nn = strv_len(v[i].names);
    for (size_t j = 0; j < (nn ? nn : 1); j++) {
      const char *name = nn ? v[i].names[j] : NULL;
      if (filter && (!name || !name_matches(name, filter, filter_tag)))
        continue;
      cleanup_free char *id = short_id(v[i].id, no_trunc);
      if (quiet) {
        if (!json_object_get(seen, id)) {
          json_object_set_new(seen, id, json_true());
          puts(id);
        }
        continue;
      }
      rows = xrealloc(rows, (nrows + 1) * sizeof *rows);
      const char *colon = name ? strrchr(name, ':') : NULL;
      rows[nrows].cols[0] = name ? xstrndup(name, (size_t)(colon - name)) : xstrdup("<none>");
      rows[nrows].cols[1] = xstrdup(name ? colon + 1 : "<none>");
      rows[nrows].cols[2] = steal_ptr(id);
      rows[nrows].cols[3] = v[i].created_ns ? time_ago(v[i].created_ns) : xstrdup("N/A");
      rows[nrows].cols[4] = format_size(v[i].size);
      nrows++;
    }
  }
  print_table(rows, nrows);
  for (size_t i = 0; i < nrows; i++)
    for (int c = 0; c < 5; c++)
      free(rows[i].cols[c]);
  free(rows);
  img_summaries_free(v, n);
  return 0;
}

/* ---- inspect ----------------------------------------------------------- */

static int cmd_inspect(cli_ctx *ctx, int argc, char **argv)
{
  if (argc < 2)
    return cli_usage_error("image inspect", "\"image inspect\" needs at least one IMAGE");
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  if (img_store_open(ctx->root, &s, &err) < 0)
    return cli_fail(&err);
  cleanup_json json_t *arr = json_array();
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    json_t *o = NULL;
    if (img_inspect(s, argv[i], &o, &err) < 0)
      rc = cli_fail(&err);
    else
      json_array_append_new(arr, o);
  }
  img_store_close(s);
  cleanup_free char *out = json_dumps(arr, JSON_INDENT(4));
  puts(out);
  return rc;
}

/* ---- load / save / import ---------------------------------------------- */

static int cmd_load(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option longs[] = { { "input", required_argument, 0, 'i' },
                                         { "quiet", no_argument, 0, 'q' },
                                         { 0, 0, 0, 0 } };
  const char *input = NULL;
  bool quiet = false;
  int o;
  reset_getopt();
  while ((o = next_opt(argc, argv, "+i:q", longs)) != -1) {
    if (o == 'i')
      input = optarg;
    else if (o == 'q')
      quiet = true;
    else if (o == ':' || (o == '?' && optopt == 'i'))
      return cli_usage_error("image load", "-i needs a FILE");
    else
      return cli_usage_error("image load", "unknown option \"%s\"", argv[optind - 1]);
  }
  if (optind < argc)
    return cli_usage_error("image load", "unexpected argument \"%s\" (use -i FILE)", argv[optind]);
  if (!input) {
    if (isatty(0))
      return cli_usage_error("image load",
                             "requested load from standard input, but it is a terminal; "
                             "use -i FILE");
    input = "-";
  }
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  cleanup_strv char **loaded = NULL;
  if (img_store_open(ctx->root, &s, &err) < 0 || img_load(s, input, &loaded, &err) < 0) {
    img_store_close(s);
    return cli_fail(&err);
  }
  img_store_close(s);
  for (size_t i = 0; !quiet && loaded && loaded[i]; i++)
    printf(str_has_prefix(loaded[i], "sha256:") ? "Loaded image ID: %s\n" : "Loaded image: %s\n",
           loaded[i]);
  return 0;
}

/* Saves to a temporary file next to path, renamed over it only on success. */
static int save_to_file(img_store *s, char **refs, const char *path, berr_t *err)
{
  cleanup_free char *copy = xstrdup(path);
  cleanup_free char *tmp = xasprintf("%s/.%s.XXXXXX", dirname(copy), basename((char *)path));
  cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "create %s", path);
  if (img_save(s, refs, fd, err) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0
      || rename(tmp, path) < 0) {
    if (!err->msg)
      berr_set(err, errno, "write %s", path);
    unlink(tmp);
    return -1;
  }
  return 0;
}

static int cmd_save(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option longs[] = { { "output", required_argument, 0, 'o' }, { 0, 0, 0, 0 } };
  const char *output = NULL;
  int o;
  reset_getopt();
  while ((o = next_opt(argc, argv, "+o:", longs)) != -1) {
    if (o == 'o')
      output = optarg;
    else if (o == '?' && optopt == 'o')
      return cli_usage_error("image save", "-o needs a FILE");
    else
      return cli_usage_error("image save", "unknown option \"%s\"", argv[optind - 1]);
  }
  if (optind >= argc)
    return cli_usage_error("image save", "\"image save\" needs at least one IMAGE");
  if (!output && isatty(1))
    return cli_usage_error("image save", "refusing to write an image archive to a terminal; "
                                         "use -o FILE or redirect standard output");
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  if (img_store_open(ctx->root, &s, &err) < 0)
    return cli_fail(&err);
  cleanup_strv char **refs = NULL;
  for (int i = optind; i < argc; i++)
    strv_push(&refs, argv[i]);
  int rc = output ? save_to_file(s, refs, output, &err) : img_save(s, refs, 1, &err);
  img_store_close(s);
  if (rc < 0)
    return cli_fail(&err);
  return 0;
}

static int cmd_import(cli_ctx *ctx, int argc, char **argv)
{
  if (argc < 2 || argc > 3)
    return cli_usage_error("image import", "usage: berth image import SRC [NAME[:TAG]]");
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  cleanup_free char *id = NULL;
  if (img_store_open(ctx->root, &s, &err) < 0
      || img_import(s, argv[1], argc == 3 ? argv[2] : NULL, &id, &err) < 0) {
    img_store_close(s);
    return cli_fail(&err);
  }
  img_store_close(s);
  puts(id);
  return 0;
}

/* ---- tag / rm / prune -------------------------------------------------- */

static int cmd_tag(cli_ctx *ctx, int argc, char **argv)
{
  if (argc != 3)
    return cli_usage_error("image tag", "usage: berth image tag SOURCE TARGET");
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  int rc = img_store_open(ctx->root, &s, &err);
  if (rc == 0)
    rc = img_tag(s, argv[1], argv[2], &err);
  img_store_close(s);
  return rc < 0 ? cli_fail(&err) : 0;
}

static void print_removed(img_removed *r, const char *untagged, const char *deleted)
{
  for (size_t i = 0; r->untagged && r->untagged[i]; i++)
    printf("%s: %s\n", untagged, r->untagged[i]);
  for (size_t i = 0; r->deleted && r->deleted[i]; i++)
    printf("%s: %s\n", deleted, r->deleted[i]);
}

static int cmd_rm(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option longs[] = { { "force", no_argument, 0, 'f' }, { 0, 0, 0, 0 } };
  bool force = false;
  int o;
  reset_getopt();
  while ((o = next_opt(argc, argv, "f", longs)) != -1) {
    if (o == 'f')
      force = true;
    else
      return cli_usage_error("image rm", "unknown option \"%s\"", argv[optind - 1]);
  }
  if (optind >= argc)
    return cli_usage_error("image rm", "\"image rm\" needs at least one IMAGE");
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  if (img_store_open(ctx->root, &s, &err) < 0)
    return cli_fail(&err);
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    img_removed r = { 0 };
    if (img_remove(s, argv[i], force, in_use, ctx, &r, &err) < 0)
      rc = cli_fail(&err);
    print_removed(&r, "Untagged", "Deleted");
    img_removed_free(&r);
  }
  img_store_close(s);
  return rc;
}

static int cmd_prune(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option longs[]
      = { { "all", no_argument, 0, 'a' }, { "force", no_argument, 0, 'f' }, { 0, 0, 0, 0 } };
  bool all = false;
  int o;
  reset_getopt();
  while ((o = next_opt(argc, argv, "af", longs)) != -1) {
    if (o == 'a')
      all = true;
    else if (o != 'f')
      return cli_usage_error("image prune", "unknown option \"%s\"", argv[optind - 1]);
  }
  if (optind < argc)
    return cli_usage_error("image prune", "unexpected argument \"%s\"", argv[optind]);
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  img_removed r = { 0 };
  if (img_store_open(ctx->root, &s, &err) < 0 || img_prune(s, all, in_use, ctx, &r, &err) < 0) {
    img_store_close(s);
    img_removed_free(&r);
    return cli_fail(&err);
  }
  img_store_close(s);
  if (r.untagged || r.deleted) {
    puts("Deleted Images:");
    print_removed(&r, "untagged", "deleted");
    puts("");
  }
  cleanup_free char *total = format_size(r.reclaimed);
  printf("Total reclaimed space: %s\n", total);
  img_removed_free(&r);
  return 0;
}

int cli_image(cli_ctx *ctx, int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")
      || !strcmp(argv[1], "help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  static const struct {
    const char *name, *alias;
    int (*fn)(cli_ctx *, int, char **);
  } cmds[] = {
    { "ls", "list", cmd_ls },   { "inspect", NULL, cmd_inspect }, { "load", NULL, cmd_load },
    { "save", NULL, cmd_save }, { "import", NULL, cmd_import },   { "tag", NULL, cmd_tag },
    { "rm", "remove", cmd_rm }, { "prune", NULL, cmd_prune },
  };
  const char *verb = argv[1];
  for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
    if (strcmp(verb, cmds[i].name) && (!cmds[i].alias || strcmp(verb, cmds[i].alias)))
      continue;
    if (wants_help(argc - 1, argv + 1)) {
      fputs(usage_text, stdout);
      return 0;
    }
    return cmds[i].fn(ctx, argc - 1, argv + 1);
  }
  return cli_usage_error("image", "unknown command \"image %s\"", verb);
}
