/* yaml_dl.h — libyaml, the YAML parser and emitter, loaded with dlopen() on first use.
 *
 * Linked, it cost every berth invocation its share of ~0.3 ms of start-up
 * (an empty main() with libyaml and libmnl: 0.6 → 0.9 ms), on the path of
 * every `berth runtime run`; only `apply -f`, kubeconfigs and `-o yaml` use it. Same pattern as
 * src/store/sqlite_dl.h: call sites use the real header's names, each a
 * macro for a member of a table filled on first use. A function missing
 * from the list compiles but does not link: add it here. */
#ifndef BERTH_API_YAML_DL_H
#define BERTH_API_YAML_DL_H

#include <yaml.h>

#define API_YAML_DL_SONAME  "libyaml-0.so.2"
#define API_YAML_DL_PACKAGE "libyaml-0-2"

#define API_YAML_DL_FUNCS(X)                                                                       \
  X(yaml_document_end_event_initialize)                                                            \
  X(yaml_document_start_event_initialize)                                                          \
  X(yaml_emitter_delete)                                                                           \
  X(yaml_emitter_emit)                                                                             \
  X(yaml_emitter_flush)                                                                            \
  X(yaml_emitter_initialize)                                                                       \
  X(yaml_emitter_set_indent)                                                                       \
  X(yaml_emitter_set_output)                                                                       \
  X(yaml_emitter_set_unicode)                                                                      \
  X(yaml_emitter_set_width)                                                                        \
  X(yaml_event_delete)                                                                             \
  X(yaml_mapping_end_event_initialize)                                                             \
  X(yaml_mapping_start_event_initialize)                                                           \
  X(yaml_parser_delete)                                                                            \
  X(yaml_parser_initialize)                                                                        \
  X(yaml_parser_parse)                                                                             \
  X(yaml_parser_set_encoding)                                                                      \
  X(yaml_parser_set_input_string)                                                                  \
  X(yaml_scalar_event_initialize)                                                                  \
  X(yaml_sequence_end_event_initialize)                                                            \
  X(yaml_sequence_start_event_initialize)                                                          \
  X(yaml_stream_end_event_initialize)                                                              \
  X(yaml_stream_start_event_initialize)

struct api_yaml_dl_fns {
#define API_YAML_DL_MEMBER(f) __typeof__(&f) f;
  API_YAML_DL_FUNCS(API_YAML_DL_MEMBER)
#undef API_YAML_DL_MEMBER
};

/* Loads the library on the first call (thread-safe); aborts if it cannot. */
const struct api_yaml_dl_fns *api_yaml_dl_fns(void);

#ifndef API_YAML_DL_NO_MACROS
#define yaml_document_end_event_initialize (api_yaml_dl_fns()->yaml_document_end_event_initialize)
#define yaml_document_start_event_initialize                                                       \
  (api_yaml_dl_fns()->yaml_document_start_event_initialize)
#define yaml_emitter_delete                 (api_yaml_dl_fns()->yaml_emitter_delete)
#define yaml_emitter_emit                   (api_yaml_dl_fns()->yaml_emitter_emit)
#define yaml_emitter_flush                  (api_yaml_dl_fns()->yaml_emitter_flush)
#define yaml_emitter_initialize             (api_yaml_dl_fns()->yaml_emitter_initialize)
#define yaml_emitter_set_indent             (api_yaml_dl_fns()->yaml_emitter_set_indent)
#define yaml_emitter_set_output             (api_yaml_dl_fns()->yaml_emitter_set_output)
#define yaml_emitter_set_unicode            (api_yaml_dl_fns()->yaml_emitter_set_unicode)
#define yaml_emitter_set_width              (api_yaml_dl_fns()->yaml_emitter_set_width)
#define yaml_event_delete                   (api_yaml_dl_fns()->yaml_event_delete)
#define yaml_mapping_end_event_initialize   (api_yaml_dl_fns()->yaml_mapping_end_event_initialize)
#define yaml_mapping_start_event_initialize (api_yaml_dl_fns()->yaml_mapping_start_event_initialize)
#define yaml_parser_delete                  (api_yaml_dl_fns()->yaml_parser_delete)
#define yaml_parser_initialize              (api_yaml_dl_fns()->yaml_parser_initialize)
#define yaml_parser_parse                   (api_yaml_dl_fns()->yaml_parser_parse)
#define yaml_parser_set_encoding            (api_yaml_dl_fns()->yaml_parser_set_encoding)
#define yaml_parser_set_input_string        (api_yaml_dl_fns()->yaml_parser_set_input_string)
#define yaml_scalar_event_initialize        (api_yaml_dl_fns()->yaml_scalar_event_initialize)
#define yaml_sequence_end_event_initialize  (api_yaml_dl_fns()->yaml_sequence_end_event_initialize)
#define yaml_sequence_start_event_initialize                                                       \
  (api_yaml_dl_fns()->yaml_sequence_start_event_initialize)
#define yaml_stream_end_event_initialize   (api_yaml_dl_fns()->yaml_stream_end_event_initialize)
#define yaml_stream_start_event_initialize (api_yaml_dl_fns()->yaml_stream_start_event_initialize)
#endif

#endif
