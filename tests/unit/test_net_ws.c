/* test_net_ws.c — WebSocket framing (src/net/ws.c): RFC 6455's own examples
 * (the handshake key, the single-frame, fragmented, masked and ping frames,
 * the 256-byte and 64 KiB length forms), round trips of every length form
 * both masked and not, partial input, and the hostile frames a peer could
 * send to make us misbehave. */
#include "net/ws.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <nettle/base64.h>
#include <string.h>

Test(net_ws, accept_key_rfc_example)
{
  char *a = ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==");
  /* RFC 6455 section 1.3 */
  cr_expect_str_eq(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  free(a);
}

Test(net_ws, new_key_is_16_random_bytes)
{
  char *a = ws_new_key(), *b = ws_new_key();
  cr_assert_eq(strlen(a), 24);
  cr_expect_str_neq(a, b);
  struct base64_decode_ctx ctx;
  uint8_t raw[32];
  size_t n = sizeof raw;
  base64_decode_init(&ctx);
  cr_assert(base64_decode_update(&ctx, &n, raw, strlen(a), a));
  cr_assert(base64_decode_final(&ctx));
  cr_expect_eq(n, 16);
  free(a);
  free(b);
}

/* Parses buf as one whole frame and checks that every shorter prefix asks
 * for more bytes. */
static void parse_whole(uint8_t *buf, size_t n, bool must_mask, ws_frame_t *f)
{
  berr_t err = BERR_INIT;
  for (size_t i = 0; i < n; i++) {
    /* A prefix must not be unmasked in place: parse a copy. */
    uint8_t *copy = xmalloc(i + 1);
    memcpy(copy, buf, i);
    cr_assert_eq(ws_frame_parse(copy, i, must_mask, f, &err), 0, "prefix of %zu/%zu bytes", i, n);
    free(copy);
  }
  cr_assert_eq(ws_frame_parse(buf, n, must_mask, f, &err), (ssize_t)n, "%s", err.msg);
  berr_clear(&err);
}

Test(net_ws, rfc_examples)
{
  ws_frame_t f;
  /* A single-frame unmasked text message. */
  uint8_t hello[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
  parse_whole(hello, sizeof hello, false, &f);
  cr_expect_eq(f.opcode, WS_OP_TEXT);
  cr_expect(f.fin);
  cr_expect_eq(f.len, 5);
  cr_expect_arr_eq(f.data, "Hello", 5);

  /* A single-frame masked text message. */
  uint8_t masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
  parse_whole(masked, sizeof masked, true, &f);
  cr_expect_eq(f.opcode, WS_OP_TEXT);
  cr_expect_eq(f.len, 5);
  cr_expect_arr_eq(f.data, "Hello", 5);

  /* A fragmented unmasked text message. */
  uint8_t hel[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
  uint8_t lo[] = { 0x80, 0x02, 0x6c, 0x6f };
  parse_whole(hel, sizeof hel, false, &f);
  cr_expect_eq(f.opcode, WS_OP_TEXT);
  cr_expect_not(f.fin);
  cr_expect_arr_eq(f.data, "Hel", 3);
  parse_whole(lo, sizeof lo, false, &f);
  cr_expect_eq(f.opcode, WS_OP_CONT);
  cr_expect(f.fin);
  cr_expect_arr_eq(f.data, "lo", 2);

  /* Unmasked ping, and a masked pong answering it. */
  uint8_t ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
  parse_whole(ping, sizeof ping, false, &f);
  cr_expect_eq(f.opcode, WS_OP_PING);
  cr_expect_arr_eq(f.data, "Hello", 5);
  uint8_t pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
  parse_whole(pong, sizeof pong, true, &f);
  cr_expect_eq(f.opcode, WS_OP_PONG);
  cr_expect_arr_eq(f.data, "Hello", 5);
}

Test(net_ws, rfc_length_forms)
{
  ws_frame_t f;
  /* 256 bytes of binary data in a single unmasked message: 0x82 0x7E 0x0100. */
  size_t n = 4 + 256;
  uint8_t *b = xcalloc(1, n);
  b[0] = 0x82, b[1] = 0x7e, b[2] = 0x01, b[3] = 0x00;
  for (size_t i = 0; i < 256; i++)
    b[4 + i] = (uint8_t)i;
  cr_assert_eq(ws_frame_parse(b, n, false, &f, NULL), (ssize_t)n);
  cr_expect_eq(f.opcode, WS_OP_BINARY);
  cr_expect_eq(f.len, 256);
  cr_expect_eq(f.data[255], 255);
  cr_expect_eq(ws_frame_parse(b, n - 1, false, &f, NULL), 0);
  free(b);

  /* 64 KiB in a single unmasked message: 0x82 0x7F 0x0000000000010000. */
  n = 10 + 65536;
  b = xcalloc(1, n);
  const uint8_t h[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };
  memcpy(b, h, sizeof h);
  b[n - 1] = 0x5a;
  cr_assert_eq(ws_frame_parse(b, n, false, &f, NULL), (ssize_t)n);
  cr_expect_eq(f.len, 65536);
  cr_expect_eq(f.data[65535], 0x5a);
  for (size_t i = 0; i < 10; i++)
    cr_expect_eq(ws_frame_parse(b, i, false, &f, NULL), 0);
  cr_expect_eq(ws_frame_parse(b, n - 1, false, &f, NULL), 0);
  free(b);
}

/* Every length form, at its edges, through the encoder and back. */
Test(net_ws, round_trip_every_length)
{
  const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 70000 };
  const size_t hdr[] = { 2, 2, 2, 4, 4, 4, 10, 10 };
  for (size_t m = 0; m < 2; m++) {
    bool mask = m;
    for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
      size_t len = lens[i];
      uint8_t *payload = xmalloc(len + 1);
      for (size_t j = 0; j < len; j++)
        payload[j] = (uint8_t)(j * 7 + 3);
      buf_t out = { 0 };
      buf_puts(&out, "xy"); /* appends, keeps what was there */
      ws_frame_append(&out, WS_OP_BINARY, payload, len, mask);
      cr_assert_eq(out.len, 2 + hdr[i] + (mask ? 4 : 0) + len, "len %zu", len);
      cr_expect_eq(memcmp(out.data, "xy", 2), 0);
      uint8_t *fr = (uint8_t *)out.data + 2;
      cr_expect_eq(fr[0], 0x82);
      cr_expect_eq(fr[1] & 0x80, mask ? 0x80 : 0);
      if (mask && len >= 16)
        cr_expect_neq(memcmp(fr + hdr[i] + 4, payload, 16), 0, "payload not masked");
      ws_frame_t f;
      berr_t err = BERR_INIT;
      /* The other side's rule: a client must mask, a server must not. */
      cr_expect_eq(ws_frame_parse(fr, out.len - 2, !mask, &f, &err), -1);
      cr_expect_eq(err.code, EPROTO);
      berr_clear(&err);
      cr_assert_eq(ws_frame_parse(fr, out.len - 2, mask, &f, &err), (ssize_t)(out.len - 2), "%s",
                   err.msg);
      cr_expect_eq(f.opcode, WS_OP_BINARY);
      cr_expect(f.fin);
      cr_expect_eq(f.len, len);
      if (len)
        cr_expect_eq(memcmp(f.data, payload, len), 0, "len %zu mask %d", len, mask);
      /* Partial input is never an error. */
      size_t cuts[] = { 0, 1, hdr[i] - 1, hdr[i], out.len - 3 };
      for (size_t c = 0; c < ARRAY_SIZE(cuts); c++) {
        if (cuts[c] >= out.len - 2)
          continue;
        buf_t copy = { 0 };
        ws_frame_append(&copy, WS_OP_BINARY, payload, len, mask);
        cr_expect_eq(ws_frame_parse((uint8_t *)copy.data, cuts[c], mask, &f, NULL), 0,
                     "len %zu cut %zu", len, cuts[c]);
        buf_free(&copy);
      }
      buf_free(&out);
      free(payload);
    }
  }
}

/* Two frames back to back: the first parse takes exactly the first. */
Test(net_ws, consecutive_frames)
{
  buf_t b = { 0 };
  ws_frame_append(&b, WS_OP_TEXT, "one", 3, false);
  ws_frame_append(&b, WS_OP_CLOSE, "\x03\xe8", 2, false);
  ws_frame_t f;
  ssize_t a = ws_frame_parse((uint8_t *)b.data, b.len, false, &f, NULL);
  cr_assert_eq(a, 5);
  cr_expect_arr_eq(f.data, "one", 3);
  cr_assert_eq(ws_frame_parse((uint8_t *)b.data + a, b.len - (size_t)a, false, &f, NULL), 4);
  cr_expect_eq(f.opcode, WS_OP_CLOSE);
  cr_expect_arr_eq(f.data, "\x03\xe8", 2);
  buf_free(&b);
}

static void expect_hostile(const uint8_t *frame, size_t n, bool must_mask, const char *why)
{
  uint8_t copy[32];
  cr_assert_leq(n, sizeof copy);
  memcpy(copy, frame, n);
  ws_frame_t f;
  berr_t err = BERR_INIT;
  cr_expect_eq(ws_frame_parse(copy, n, must_mask, &f, &err), -1, "%s accepted", why);
  cr_expect_eq(err.code, EPROTO, "%s", why);
  cr_expect(err.msg && strstr(err.msg, why), "%s: got \"%s\"", why, err.msg);
  berr_clear(&err);
}

Test(net_ws, hostile_frames)
{
  /* Each is refused from its header alone, before any payload arrives. */
  const uint8_t rsv1[] = { 0xc2, 0x00 };
  expect_hostile(rsv1, sizeof rsv1, false, "reserved bits");
  const uint8_t rsv3[] = { 0x92, 0x00 };
  expect_hostile(rsv3, sizeof rsv3, false, "reserved bits");
  const uint8_t op3[] = { 0x83, 0x00 };
  expect_hostile(op3, sizeof op3, false, "unknown opcode 0x3");
  const uint8_t opb[] = { 0x8b, 0x00 };
  expect_hostile(opb, sizeof opb, false, "unknown opcode 0xb");
  const uint8_t frag_ping[] = { 0x09, 0x00 };
  expect_hostile(frag_ping, sizeof frag_ping, false, "fragmented control frame");
  const uint8_t frag_close[] = { 0x08, 0x80, 1, 2, 3, 4 };
  expect_hostile(frag_close, sizeof frag_close, true, "fragmented control frame");
  const uint8_t big_ping[] = { 0x89, 0x7e, 0x00, 0x7e };
  expect_hostile(big_ping, sizeof big_ping, false, "control frame of 126 bytes");
  const uint8_t huge[] = { 0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  expect_hostile(huge, sizeof huge, false, "frame of 9223372036854775807 bytes");
  const uint8_t top_bit[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 };
  expect_hostile(top_bit, sizeof top_bit, true, "frame of 9223372036854775808 bytes");
  const uint8_t over[] = { 0x82, 0x7f, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x01 }; /* 16 MiB + 1 */
  expect_hostile(over, sizeof over, false, "frame of 16777217 bytes");
  const uint8_t unmasked[] = { 0x82, 0x01, 0x00 };
  expect_hostile(unmasked, sizeof unmasked, true, "unmasked frame");
  const uint8_t masked[] = { 0x82, 0x81, 1, 2, 3, 4, 5 };
  expect_hostile(masked, sizeof masked, false, "masked frame");

  /* Exactly WS_MAX_MESSAGE is allowed: the parser waits for it. */
  const uint8_t max[] = { 0x82, 0x7f, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00 };
  uint8_t copy[sizeof max];
  memcpy(copy, max, sizeof max);
  ws_frame_t f;
  cr_expect_eq(ws_frame_parse(copy, sizeof copy, false, &f, NULL), 0);
}
