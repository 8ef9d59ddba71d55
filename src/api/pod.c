/* pod.c — what the API server and the node agent both compute from a pod's
 * spec, so that they can never disagree: its QoS class (status.qosClass, set
 * by the server at creation, reported again by the agent). */
#include "api/api.h"

#include <string.h>

/* Sums cpu and memory of requests (defaulted from limits, as the API server
 * defaults them) and limits over every container. */
const char *api_pod_qos_class(json_t *spec)
{
  static const char *const res[] = { "cpu", "memory" };
  api_quantity_t req[2] = { 0 }, lim[2] = { 0 };
  bool has_req[2] = { false }, has_lim[2] = { false };
  bool guaranteed = true;
  const char *lists[] = { "initContainers", "containers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, lists[l]), i, c)
    {
      json_t *r = json_object_get(c, "resources");
      bool lim_found[2] = { false };
      for (int k = 0; k < 2; k++) {
        api_quantity_t ql, qr;
        json_t *jl = json_object_get(json_object_get(r, "limits"), res[k]);
        json_t *jr = json_object_get(json_object_get(r, "requests"), res[k]);
        bool hl = jl && api_quantity_from_json(jl, &ql, NULL) == 0 && !api_quantity_is_zero(&ql);
        bool hr = jr && api_quantity_from_json(jr, &qr, NULL) == 0 && !api_quantity_is_zero(&qr);
        if (!jr && hl) { /* requests default to limits */
          qr = ql;
          hr = true;
        }
        if (hr) {
          api_quantity_add(&req[k], &qr, NULL);
          has_req[k] = true;
        }
        if (hl) {
          api_quantity_add(&lim[k], &ql, NULL);
          has_lim[k] = true;
          lim_found[k] = true;
        }
      }
      if (!lim_found[0] || !lim_found[1])
        guaranteed = false;
    }
  }
  if (!has_req[0] && !has_req[1] && !has_lim[0] && !has_lim[1])
    return "BestEffort";
  int n_req = 0, n_lim = 0;
  for (int k = 0; k < 2; k++) {
    n_req += has_req[k];
    n_lim += has_lim[k];
    if (has_req[k] && (!has_lim[k] || api_quantity_cmp(&req[k], &lim[k]) != 0))
      guaranteed = false;
  }
  return guaranteed && n_req == n_lim ? "Guaranteed" : "Burstable";
}
