/* ws.c — RFC 6455 WebSocket framing without I/O (see ws.h): the handshake
 * keys, one encoder and one parser shared by the client (kc_ws, masking
 * what it sends) and the agent's exec endpoint (requiring masked frames).
 *
 * The parser reads only from the caller's buffer and decides as early as
 * the header allows: a hostile length or a forbidden bit is refused before
 * its payload is awaited, so a peer cannot make the caller buffer 2^63
 * bytes. Payloads are unmasked in place, so a frame costs no copy. */
#include "net/ws.h"

#include <errno.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void ws_random(void *p, size_t n)
{
  uint8_t *b = p;
  while (n > 0) {
    ssize_t r = getrandom(b, n, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      abort(); /* getrandom cannot otherwise fail on Linux >= 3.17 */
    }
    b += r;
    n -= (size_t)r;
  }
}

static char *ws_base64(const uint8_t *data, size_t len)
{
  char *out = xmalloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
  base64_encode_raw(out, len, data);
  out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
  return out;
}

char *ws_accept_key(const char *client_key)
{
  struct sha1_ctx ctx;
  uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_init(&ctx);
  sha1_update(&ctx, strlen(client_key), (const uint8_t *)client_key);
  sha1_update(&ctx, strlen(WS_GUID), (const uint8_t *)WS_GUID);
  sha1_digest(&ctx, sizeof digest, digest);
  return ws_base64(digest, sizeof digest);
}

char *ws_new_key(void)
{
  uint8_t raw[16];
  ws_random(raw, sizeof raw);
  return ws_base64(raw, sizeof raw);
}

void ws_frame_append(buf_t *out, int opcode, const void *payload, size_t len, bool mask)
{
  uint8_t h[14];
  size_t hl = 0;
  h[hl++] = (uint8_t)(0x80 | (opcode & 0x0f));
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    h[hl++] = (uint8_t)(m | len);
  } else if (len <= 0xffff) {
    h[hl++] = m | 126;
    h[hl++] = (uint8_t)(len >> 8);
    h[hl++] = (uint8_t)len;
  } else {
    h[hl++] = m | 127;
    for (int i = 7; i >= 0; i--)
      h[hl++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint8_t key[4];
  if (mask) {
    ws_random(key, sizeof key);
    memcpy(h + hl, key, sizeof key);
    hl += sizeof key;
  }
  buf_append(out, h, hl);
  size_t at = out->len;
  if (len > 0)
    buf_append(out, payload, len);
  if (mask) {
    uint8_t *p = (uint8_t *)out->data + at;
    for (size_t i = 0; i < len; i++)
      p[i] ^= key[i & 3];
  }
}

static bool ws_known_opcode(int op)
{
  switch (op) {
  case WS_OP_CONT:
  case WS_OP_TEXT:
  case WS_OP_BINARY:
  case WS_OP_CLOSE:
  case WS_OP_PING:
  case WS_OP_PONG:
    return true;
  default:
    return false;
  }
}

ssize_t ws_frame_parse(uint8_t *buf, size_t n, bool must_mask, ws_frame_t *f, berr_t *err)
{
  if (n < 2)
    return 0;
  bool fin = buf[0] & 0x80;
  int op = buf[0] & 0x0f;
  if (buf[0] & 0x70)
    return berr_setc(err, EPROTO, "websocket: reserved bits set (0x%02x)", buf[0] & 0x70);
  if (!ws_known_opcode(op))
    return berr_setc(err, EPROTO, "websocket: unknown opcode 0x%x", op);
  bool control = op & 0x8;
  if (control && !fin)
    return berr_setc(err, EPROTO, "websocket: fragmented control frame (opcode 0x%x)", op);
  bool masked = buf[1] & 0x80;
  if (masked && !must_mask)
    return berr_setc(err, EPROTO, "websocket: masked frame from the server");
  if (!masked && must_mask)
    return berr_setc(err, EPROTO, "websocket: unmasked frame from the client");
  uint64_t len = buf[1] & 0x7f;
  size_t off = 2;
  if (len == 126) {
    if (n < 4)
      return 0;
    len = (uint64_t)buf[2] << 8 | buf[3];
    off = 4;
  } else if (len == 127) {
    if (n < 10)
      return 0;
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | buf[2 + i];
    off = 10;
  }
  if (control && len > 125)
    return berr_setc(err, EPROTO, "websocket: control frame of %llu bytes (at most 125)",
                     (unsigned long long)len);
  if (len > WS_MAX_MESSAGE)
    return berr_setc(err, EPROTO, "websocket: frame of %llu bytes (at most %d)",
                     (unsigned long long)len, WS_MAX_MESSAGE);
  size_t key_at = off;
  if (masked)
    off += 4;
  /* len <= WS_MAX_MESSAGE: off + len cannot overflow. */
  if (n < off + len)
    return 0;
  uint8_t *p = buf + off;
  if (masked)
    for (size_t i = 0; i < len; i++)
      p[i] ^= buf[key_at + (i & 3)];
  f->opcode = op;
  f->fin = fin;
  f->len = (size_t)len;
  f->data = p;
  return (ssize_t)(off + len);
}
