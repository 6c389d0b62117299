/*
 * ipc.h: the framing between the host and its worker processes.
 *
 * A frame is a 4-byte big-endian unsigned length N followed by N bytes of UTF-8 JSON text
 * holding exactly one JSON value (normally an object). N is at most IPC_MAX_FRAME; a peer
 * announcing more has broken the protocol, and the announcement is never turned into an
 * allocation. Strings may contain U+0000 (plugin strings can), so frames are decoded with
 * JSON_ALLOW_NUL (object keys still may not: jansson cannot represent them). An empty
 * frame is not a JSON value and is rejected like any other bad text.
 *
 * Sending is blocking and all-or-nothing from the caller's view: ipc_send() returns once
 * the whole frame is written (it waits out EINTR, short writes and, on a non-blocking fd,
 * EAGAIN). A peer that has gone away is an AL_EIO result, never a SIGPIPE: sockets are
 * written with MSG_NOSIGNAL, and for pipes the signal is held back and discarded around the
 * write. If a send fails part-way the peer has seen half a frame: the stream is finished.
 *
 * Receiving is an incremental decoder (ipc_reader) for event loops: feed it whatever read()
 * returned and pop complete frames. ipc_recv() wraps it for blocking use. A reader that
 * hit a protocol error (oversized length, bad JSON) stays failed: framing cannot be
 * resynchronised, so every later call repeats the error.
 *
 * Threading: an ipc_reader belongs to one thread at a time. ipc_send() on one fd from two
 * threads at once may interleave frames; the caller serialises writers. Blocking SIGPIPE
 * around pipe writes changes only the calling thread's mask, and only for the write.
 */
#ifndef AL_IPC_H
#define AL_IPC_H

#include "common.h"

#define IPC_HEADER 4u
#define IPC_MAX_FRAME (64u * 1024u * 1024u) /* payload bytes, inclusive */

/* Encodes `msg` (borrowed) as one frame, header included, compact JSON with key order
 * kept. On success *frame is malloc()ed (free with free()) and *len is its size. Returns
 * 0, AL_ENO_MEMORY, or AL_EINVALID_ARGUMENT when the text would exceed IPC_MAX_FRAME (the
 * encoder stops as soon as it does) or jansson cannot encode the value. */
int ipc_encode(const json_t *msg, unsigned char **frame, size_t *len, al_error *err);

/* Writes `msg` as one whole frame to `fd`. Returns 0; AL_EIO when the peer is gone
 * (EPIPE, ECONNRESET) or the write failed otherwise; AL_ENO_MEMORY; AL_EINVALID_ARGUMENT
 * when the message is too large (nothing is written then). */
int ipc_send(int fd, const json_t *msg, al_error *err);
/* Writes `len` bytes of already encoded JSON text (`json` is borrowed and not validated:
 * the receiving side validates) as one frame, without copying it. Same results. */
int ipc_send_text(int fd, const char *json, size_t len, al_error *err);

/* Incremental decoder. Bytes [off, len) of buf are buffered and not yet consumed; `failed`
 * is 0 or the sticky protocol error. Treat the fields as private. */
typedef struct ipc_reader {
  unsigned char *buf;
  size_t off, len, cap;
  int failed;
} ipc_reader;

/* Makes `r` an empty reader; it allocates nothing until bytes arrive. */
void ipc_reader_init(ipc_reader *r);
/* Frees the buffer and leaves `r` empty and usable again. NULL is harmless. */
void ipc_reader_free(ipc_reader *r);

/* Appends `n` bytes (borrowed, copied) to the reader. Returns 0; AL_ENO_MEMORY (nothing
 * was appended); or the reader's protocol error, reported as soon as the frame at the
 * front announces an oversized length, before buffering anything for it.
 * Memory: the buffer grows only with bytes actually received, never with an announced
 * length. A caller that pops every complete frame after each feed holds at most one
 * incomplete frame (< IPC_HEADER + IPC_MAX_FRAME bytes) plus the bytes of its last feed,
 * in a buffer at most twice that and never over IPC_HEADER + IPC_MAX_FRAME while that
 * suffices; once everything is consumed a large buffer is released. */
int ipc_reader_feed(ipc_reader *r, const void *data, size_t n, al_error *err);

/* Pops the frame at the front. Returns 1 with *msg set to a new reference; 0 when more
 * bytes are needed (*msg = NULL); or a negative code with *msg = NULL:
 * AL_EINVALID_ARGUMENT for a protocol error (the message names the announced length or
 * gives jansson's text, line, column and byte position), after which the reader stays
 * failed; AL_ENO_MEMORY when jansson ran out of memory (the frame stays buffered, so the
 * call may be retried). */
int ipc_reader_next(ipc_reader *r, json_t **msg, al_error *err);

/* Whether `r` holds bytes not yet popped (a whole frame, or part of one). */
static inline bool ipc_reader_holds(const ipc_reader *r) { return r->len > r->off; }

/* Blocking convenience: returns the next frame from `r`, reading from `fd` only when `r`
 * holds no complete frame, and then only the bytes that frame still lacks, so nothing of
 * a following frame is left buffered where poll() on `fd` could not see it. Waits out
 * EINTR and, on a non-blocking fd, EAGAIN. Returns 1 with *msg set (new reference); 0 on a
 * clean end of file (no byte of a frame buffered); AL_EIO on end of file mid-frame or a
 * read error; or ipc_reader_next()'s errors. *msg is NULL unless 1 is returned. */
int ipc_recv(int fd, ipc_reader *r, json_t **msg, al_error *err);

/* Spins up to `ns` nanoseconds, yielding the CPU between looks, until socket `fd` has bytes
 * to read or reached end of file, or `r` already holds some. True when ipc_recv() would
 * not block. For a round trip shorter than a sleep and wake-up; a caller spins once and
 * then blocks as before. Looks with recv(MSG_PEEK | MSG_DONTWAIT) only, which the worker
 * sandbox allows (poll() it does not). */
bool ipc_spin_readable(int fd, const ipc_reader *r, uint64_t ns);

#endif
