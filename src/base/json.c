/* json.c — small conveniences over jansson for files and tolerant field reads. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

json_t *json_load_path(const char *path, berr_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file(path, 0, &data, &len, err) < 0)
    return NULL;
  json_error_t je;
  json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
  if (!j)
    berr_set(err, 0, "%s:%d:%d: %s", path, je.line, je.column, je.text);
  return j;
}

int json_save_atomic(const char *path, json_t *j, berr_t *err)
{
  cleanup_free char *s = json_dumps(j, JSON_COMPACT);
  if (!s)
    return berr_set(err, ENOMEM, "encode %s", path);
  return fs_write_atomic(path, s, strlen(s), 0644, err);
}

const char *json_str(json_t *obj, const char *key)
{
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t json_int(json_t *obj, const char *key, int64_t dflt)
{
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  if (json_is_integer(v))
    return json_integer_value(v);
  if (json_is_real(v))
    return (int64_t)json_real_value(v);
  return dflt;
}

bool json_bool(json_t *obj, const char *key, bool dflt)
{
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int json_to_strv(json_t *arr, char ***out, berr_t *err)
{
  *out = NULL;
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return berr_set(err, EINVAL, "expected an array of strings");
  char **v = xcalloc(json_array_size(arr) + 1, sizeof *v);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    if (!json_is_string(e)) {
      strv_free(v);
      return berr_set(err, EINVAL, "element %zu is not a string", i);
    }
    v[i] = xstrdup(json_string_value(e));
  }
  *out = v;
  return 0;
}

json_t *strv_to_json(char *const *v)
{
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}
