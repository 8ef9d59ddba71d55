/* kube_print.c — output the way kubectl prints it. Tables and describe
 * output go through a tabwriter that follows Go's text/tabwriter rules
 * (column blocks, minimum width, padding), because kubectl's alignment is
 * that algorithm's, not a fixed per-table width: describe's "Name:" lines
 * line up with each other but not with the container details below them.
 * JSON and YAML have their keys sorted, as Go prints maps. */
#include "api/api.h"
#include "cli/kube.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- tabwriter ---------------------------------------------------------- */

void kube_tw_init(kube_tw_t *tw, int minwidth, int padding)
{
  memset(tw, 0, sizeof *tw);
  tw->minwidth = minwidth;
  tw->padding = padding;
}

void kube_tw_printf(kube_tw_t *tw, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = xvasprintf(fmt, ap);
  va_end(ap);
  buf_puts(&tw->text, s);
  free(s);
}

void kube_tw_puts(kube_tw_t *tw, const char *s)
{
  buf_puts(&tw->text, s);
}

void kube_tw_free(kube_tw_t *tw)
{
  buf_free(&tw->text);
  free(tw->widths);
  tw->widths = NULL;
  tw->n_widths = 0;
}

typedef struct tw_line {
  char **cells; /* all but the last end in a tab */
  size_t n;
} tw_line_t;

/* Characters, not bytes: what a terminal shows. */
static int text_width(const char *s)
{
  int n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80)
      n++;
  return n;
}

typedef struct tw_state {
  tw_line_t *lines;
  size_t n_lines;
  bool last_open; /* the text did not end in a newline */
  int *widths;
  size_t depth;
  int minwidth, padding;
  kube_tw_t *tw; /* for the remembered widths */
  FILE *out;
} tw_state_t;

static void tw_write_lines(tw_state_t *s, size_t from, size_t to)
{
  for (size_t i = from; i < to; i++) {
    tw_line_t *l = &s->lines[i];
    for (size_t j = 0; j < l->n; j++) {
      fputs(l->cells[j], s->out);
      if (j < s->depth && j + 1 < l->n)
        fprintf(s->out, "%*s", s->widths[j] - text_width(l->cells[j]), "");
    }
    if (i + 1 < s->n_lines || !s->last_open)
      fputc('\n', s->out);
  }
}

/* Go's Writer.format: the lines [from, to) at column s->depth. */
static void tw_format(tw_state_t *s, size_t from, size_t to)
{
  size_t column = s->depth;
  size_t line0 = from;
  for (size_t t = from; t < to; t++) {
    if (column + 1 >= s->lines[t].n)
      continue;
    tw_write_lines(s, line0, t);
    line0 = t;
    int width = s->minwidth;
    for (; t < to && column + 1 < s->lines[t].n; t++) {
      int w = text_width(s->lines[t].cells[column]) + s->padding;
      if (w > width)
        width = w;
    }
    kube_tw_t *tw = s->tw;
    if (tw->remember) {
      if (column >= tw->n_widths) {
        tw->widths = xrealloc(tw->widths, (column + 1) * sizeof *tw->widths);
        for (size_t c = tw->n_widths; c <= column; c++)
          tw->widths[c] = 0;
        tw->n_widths = column + 1;
      }
      if (tw->widths[column] > width)
        width = tw->widths[column];
      tw->widths[column] = width;
    }
    s->widths = xrealloc(s->widths, (s->depth + 1) * sizeof *s->widths);
    s->widths[s->depth++] = width;
    tw_format(s, line0, t);
    s->depth--;
    line0 = t;
    t--; /* the loop's t++ must not skip the line that ended the block */
  }
  tw_write_lines(s, line0, to);
}

void kube_tw_flush(kube_tw_t *tw, FILE *out)
{
  if (!tw->text.len)
    return;
  tw_state_t s = { .minwidth = tw->minwidth, .padding = tw->padding, .tw = tw, .out = out };
  char *text = tw->text.data;
  s.last_open = text[tw->text.len - 1] != '\n';
  if (!s.last_open)
    text[tw->text.len - 1] = '\0';
  for (char *line = text;;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    s.lines = xrealloc(s.lines, (s.n_lines + 1) * sizeof *s.lines);
    tw_line_t *l = &s.lines[s.n_lines++];
    memset(l, 0, sizeof *l);
    for (char *c = line;;) {
      char *tab = strchr(c, '\t');
      if (tab)
        *tab = '\0';
      l->cells = xrealloc(l->cells, (l->n + 1) * sizeof *l->cells);
      l->cells[l->n++] = c;
      if (!tab)
        break;
      c = tab + 1;
    }
    if (!nl)
      break;
    line = nl + 1;
  }
  tw_format(&s, 0, s.n_lines);
  for (size_t i = 0; i < s.n_lines; i++)
    free(s.lines[i].cells);
  free(s.lines);
  free(s.widths);
  buf_free(&tw->text);
}

/* ---- times -------------------------------------------------------------- */

char *kube_human_duration(int64_t ns)
{
  int64_t sec = ns / 1000000000LL;
  if (sec < -1)
    return xstrdup("<invalid>");
  if (sec < 0)
    return xstrdup("0s");
  if (sec < 120)
    return xasprintf("%llds", (long long)sec);
  int64_t min = sec / 60;
  if (min < 10)
    return sec % 60 ? xasprintf("%lldm%llds", (long long)min, (long long)(sec % 60))
                    : xasprintf("%lldm", (long long)min);
  if (min < 180)
    return xasprintf("%lldm", (long long)min);
  int64_t hours = sec / 3600;
  if (hours < 8)
    return min % 60 ? xasprintf("%lldh%lldm", (long long)hours, (long long)(min % 60))
                    : xasprintf("%lldh", (long long)hours);
  if (hours < 48)
    return xasprintf("%lldh", (long long)hours);
  if (hours < 24 * 8)
    return hours % 24 ? xasprintf("%lldd%lldh", (long long)(hours / 24), (long long)(hours % 24))
                      : xasprintf("%lldd", (long long)(hours / 24));
  if (hours < 24 * 365 * 2)
    return xasprintf("%lldd", (long long)(hours / 24));
  if (hours < 24 * 365 * 8) {
    int64_t days = (hours / 24) % 365;
    return days ? xasprintf("%lldy%lldd", (long long)(hours / 24 / 365), (long long)days)
                : xasprintf("%lldy", (long long)(hours / 24 / 365));
  }
  return xasprintf("%lldy", (long long)(hours / 24 / 365));
}

char *kube_age(const char *ts)
{
  int64_t t;
  if (!ts || !*ts || time_parse_rfc3339(ts, &t) < 0)
    return xstrdup("<unknown>");
  return kube_human_duration(time_now_ns() - t);
}

char *kube_time_rfc1123z(const char *ts)
{
  int64_t t;
  if (!ts || !*ts || time_parse_rfc3339(ts, &t) < 0)
    return xstrdup("");
  time_t sec = (time_t)(t / 1000000000LL);
  struct tm tm;
  localtime_r(&sec, &tm);
  char out[64];
  strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return xstrdup(out);
}

/* ---- events --------------------------------------------------------------- */

static int64_t last_timestamp(json_t *e)
{
  int64_t t = 0;
  const char *s = json_str(e, "lastTimestamp");
  if (!s || !*s || time_parse_rfc3339(s, &t) < 0)
    return 0;
  return t;
}

void kube_sort_events(json_t **v, size_t n)
{
  /* Insertion sort: stable, as Go's sort.Sort is for the short lists
   * describe shows, so ties keep the server's order as in kubectl. */
  for (size_t i = 1; i < n; i++) {
    json_t *e = v[i];
    int64_t t = last_timestamp(e);
    size_t j = i;
    for (; j > 0 && last_timestamp(v[j - 1]) > t; j--)
      v[j] = v[j - 1];
    v[j] = e;
  }
}

/* ---- values ------------------------------------------------------------- */

char **kube_sorted_keys(json_t *obj)
{
  char **keys = xcalloc(json_object_size(obj) + 1, sizeof *keys);
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) keys[n++] = xstrdup(k);
  strv_sort(keys);
  return keys;
}

char *kube_labels_string(json_t *labels)
{
  if (!json_object_size(labels))
    return xstrdup("<none>");
  cleanup_strv char **keys = kube_sorted_keys(labels);
  buf_t b = { 0 };
  for (size_t i = 0; keys[i]; i++) {
    const char *v = json_str(labels, keys[i]);
    buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], v ? v : "");
  }
  return buf_steal(&b);
}

json_t *kube_get(json_t *obj, const char *path)
{
  cleanup_free char *p = xstrdup(path);
  char *save = NULL;
  for (char *part = strtok_r(p, ".", &save); part && obj; part = strtok_r(NULL, ".", &save))
    obj = json_object_get(obj, part);
  return obj;
}

const char *kube_str(json_t *obj, const char *path)
{
  return json_string_value(kube_get(obj, path));
}

/* ---- JSON and YAML ------------------------------------------------------ */

/* Go's encoding/json escapes <, > and & (HTML safety) and U+2028/2029;
 * outside strings none of them can appear, so a textual pass is exact. */
static char *go_escape(const char *s)
{
  buf_t b = { 0 };
  for (const char *p = s; *p; p++) {
    if (*p == '<')
      buf_puts(&b, "\\u003c");
    else if (*p == '>')
      buf_puts(&b, "\\u003e");
    else if (*p == '&')
      buf_puts(&b, "\\u0026");
    else if (!strncmp(p, "\xe2\x80\xa8", 3) || !strncmp(p, "\xe2\x80\xa9", 3)) {
      buf_puts(&b, p[2] == '\xa8' ? "\\u2028" : "\\u2029");
      p += 2;
    } else
      buf_append(&b, p, 1);
  }
  return b.data ? buf_steal(&b) : xstrdup("");
}

void kube_print_json(json_t *v, FILE *out)
{
  cleanup_free char *s = json_dumps(v, JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  cleanup_free char *e = go_escape(s ? s : "null");
  fprintf(out, "%s\n", e);
}

char *kube_json_compact(json_t *v)
{
  cleanup_free char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  return go_escape(s ? s : "null");
}

/* A copy with every object's keys in sorted order. */
static json_t *sorted_copy(json_t *v)
{
  if (json_is_object(v)) {
    json_t *o = json_object();
    cleanup_strv char **keys = kube_sorted_keys(v);
    for (size_t i = 0; keys[i]; i++)
      json_object_set_new(o, keys[i], sorted_copy(json_object_get(v, keys[i])));
    return o;
  }
  if (json_is_array(v)) {
    json_t *a = json_array(), *e;
    size_t i;
    json_array_foreach(v, i, e) json_array_append_new(a, sorted_copy(e));
    return a;
  }
  return json_deep_copy(v);
}

void kube_print_yaml(json_t *v, FILE *out)
{
  cleanup_json json_t *s = sorted_copy(v);
  cleanup_free char *y = api_yaml_dump(s);
  fputs(y ? y : "", out);
}

char *kube_object_name(json_t *obj)
{
  const char *av = json_str(obj, "apiVersion"), *kind = json_str(obj, "kind");
  const char *name = kube_str(obj, "metadata.name");
  const char *slash = av ? strchr(av, '/') : NULL;
  buf_t b = { 0 };
  for (const char *p = kind ? kind : ""; *p; p++) {
    char c = (char)tolower((unsigned char)*p);
    buf_append(&b, &c, 1);
  }
  if (slash)
    buf_printf(&b, ".%.*s", (int)(slash - av), av);
  buf_printf(&b, "/%s", name ? name : "");
  return buf_steal(&b);
}

json_t *kube_list_wrap(json_t *items)
{
  return json_pack("{s:s, s:o, s:s, s:{s:s}}", "apiVersion", "v1", "items", items, "kind", "List",
                   "metadata", "resourceVersion", "");
}

/* ---- tables ------------------------------------------------------------- */

/* A cell as kubectl prints it: strings up to their first line break (then
 * "..."), numbers and booleans as Go's %v, null as <nil>. */
static void add_cell(kube_tw_t *tw, json_t *c)
{
  if (json_is_string(c)) {
    const char *s = json_string_value(c);
    size_t n = strcspn(s, "\n\r\f");
    kube_tw_printf(tw, "%.*s%s", (int)n, s, s[n] ? "..." : "");
  } else if (json_is_integer(c)) {
    kube_tw_printf(tw, "%lld", (long long)json_integer_value(c));
  } else if (json_is_real(c)) {
    kube_tw_printf(tw, "%g", json_real_value(c));
  } else if (json_is_boolean(c)) {
    kube_tw_puts(tw, json_is_true(c) ? "true" : "false");
  } else if (!c || json_is_null(c)) {
    kube_tw_puts(tw, "<nil>");
  } else {
    cleanup_free char *s = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
    kube_tw_puts(tw, s ? s : "");
  }
}

void kube_table_add(kube_tw_t *tw, json_t *table, json_t *defs, const kube_table_opts_t *o,
                    bool header)
{
  if (!defs)
    defs = json_object_get(table, "columnDefinitions");
  size_t nd = json_array_size(defs);
  bool *show = xcalloc(nd + 1, sizeof *show);
  for (size_t i = 0; i < nd; i++)
    show[i] = o->wide || json_int(json_array_get(defs, i), "priority", 0) == 0;
  if (header && !o->no_headers) {
    bool first = true;
    if (o->all_ns) {
      kube_tw_puts(tw, "NAMESPACE");
      first = false;
    }
    for (size_t i = 0; i < nd; i++) {
      if (!show[i])
        continue;
      const char *name = json_str(json_array_get(defs, i), "name");
      cleanup_free char *up = xstrdup(name ? name : "");
      for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
      kube_tw_printf(tw, "%s%s", first ? "" : "\t", up);
      first = false;
    }
    if (o->show_labels)
      kube_tw_printf(tw, "%sLABELS", first ? "" : "\t");
    kube_tw_puts(tw, "\n");
  }
  json_t *row;
  size_t r;
  json_array_foreach(json_object_get(table, "rows"), r, row)
  {
    json_t *meta = kube_get(row, "object.metadata");
    json_t *cells = json_object_get(row, "cells");
    bool first = true;
    if (o->all_ns) {
      const char *ns = json_str(meta, "namespace");
      kube_tw_puts(tw, ns ? ns : "");
      first = false;
    }
    for (size_t i = 0; i < nd; i++) {
      if (!show[i])
        continue;
      if (!first)
        kube_tw_puts(tw, "\t");
      add_cell(tw, json_array_get(cells, i));
      first = false;
    }
    if (o->show_labels) {
      cleanup_free char *l = kube_labels_string(json_object_get(meta, "labels"));
      kube_tw_printf(tw, "%s%s", first ? "" : "\t", l);
    }
    kube_tw_puts(tw, "\n");
  }
  free(show);
}
