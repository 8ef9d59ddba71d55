/* ws.h — RFC 6455 WebSocket framing, both sides, with no I/O: the agent's
 * exec endpoint (server side: masked frames in, unmasked out) and the
 * client's kc_ws (client side) use the same encoder and parser. Kubernetes'
 * exec protocol v5.channel.k8s.io rides on binary messages whose first byte
 * is the channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255
 * close-stream). */
#ifndef BERTH_NET_WS_H
#define BERTH_NET_WS_H

#include "base/base.h"

#define WS_OP_CONT   0x0
#define WS_OP_TEXT   0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE  0x8
#define WS_OP_PING   0x9
#define WS_OP_PONG   0xA

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* A message larger than this is a protocol error (the peer is hostile). */
#define WS_MAX_MESSAGE (16 * 1024 * 1024)

/* Channels of v5.channel.k8s.io. */
enum {
  WS_CH_STDIN = 0,
  WS_CH_STDOUT = 1,
  WS_CH_STDERR = 2,
  WS_CH_STATUS = 3,
  WS_CH_RESIZE = 4,
  WS_CH_CLOSE = 255
};

/* base64(SHA-1(key + WS_GUID)): the Sec-WebSocket-Accept for a key. */
char *ws_accept_key(const char *client_key);
/* A fresh random Sec-WebSocket-Key (base64 of 16 random bytes). */
char *ws_new_key(void);

/* Appends one frame (FIN set) to out; mask: as a client must (random key). */
void ws_frame_append(buf_t *out, int opcode, const void *payload, size_t len, bool mask);

typedef struct ws_frame {
  int opcode;
  bool fin;
  size_t len;          /* payload length */
  const uint8_t *data; /* unmasked payload, inside the caller's buffer */
} ws_frame_t;

/* Parses the first frame of buf[0..n): returns the bytes it takes (> 0),
 * 0 when more bytes are needed, -1 on a protocol error (err says which:
 * reserved bits, unknown opcode, oversized or fragmented control frame,
 * length above WS_MAX_MESSAGE, a mask where must_mask is false or none
 * where it is true). A masked payload is unmasked in place (buf is
 * modified). */
ssize_t ws_frame_parse(uint8_t *buf, size_t n, bool must_mask, ws_frame_t *f, berr_t *err);

#endif
