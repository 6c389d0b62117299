/*
 * ipc.c: length-prefixed JSON frames over a socket or pipe (format and contract in ipc.h).
 *
 * Sending builds the frame in one buffer (header slot first, then the text json_text
 * wrote, refused when it passes IPC_MAX_FRAME) or, for text the caller already has,
 * writes header and text as two iovecs so nothing is copied.
 *
 * The reader keeps one buffer in which bytes [off, len) are live. Popping a frame only
 * advances `off`, so draining many frames from one feed copies nothing. Live bytes are
 * moved to the front only when a feed does not fit after `len`; since `off` is non-zero
 * only after a pop, there is at most one such move per popped frame, and with the usual
 * pop-everything-after-each-feed loop it moves less than one frame. When everything is
 * consumed the offsets reset, and a buffer grown past IPC_READER_KEEP for a big frame is
 * released, so a reader idles small. The buffer grows with bytes received, never with a
 * length the peer announced: a length over IPC_MAX_FRAME fails the reader as soon as its
 * four bytes are seen.
 */
#include "worker/ipc.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IPC_READER_MIN 4096u          /* first allocation; small frames never grow it */
#define IPC_READER_KEEP (64u * 1024u) /* an idle reader keeps at most this much */
#define IPC_BOUND ((size_t)IPC_HEADER + IPC_MAX_FRAME)

static uint32_t ipc_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void ipc_put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* strerror() is not thread-safe and workers' hosts are threaded; this is the XSI
 * strerror_r that _POSIX_C_SOURCE selects. */
static const char *ipc_errstr(int e, char *buf, size_t cap) {
  if (strerror_r(e, buf, cap) != 0) snprintf(buf, cap, "errno %d", e);
  return buf;
}

/* Waits until fd is ready for `events`; used when a non-blocking fd says EAGAIN, so the
 * blocking calls also work on fds an event loop owns. */
static int ipc_wait(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  for (;;) {
    int rc = poll(&p, 1, -1);
    if (rc >= 0 || errno != EINTR) return rc < 0 ? -1 : 0;
  }
}

/* ---------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------- */

/* writev() for fds that are not sockets (pipes), where MSG_NOSIGNAL does not exist. A
 * reader that went away would raise SIGPIPE and, by default, kill the host, so the signal
 * is blocked in this thread for the write and, if the write raised it, taken off the
 * pending set before unblocking. A SIGPIPE that was already pending belongs to someone
 * else and is left alone. */
static ssize_t ipc_writev_nosigpipe(int fd, const struct iovec *iov, int cnt) {
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask) != 0) return writev(fd, iov, cnt);
  int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  ssize_t w = writev(fd, iov, cnt);
  int saved = errno;
  if (w < 0 && saved == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  errno = saved;
  return w;
}

/* Writes every byte of iov[0..cnt) (the array is consumed). */
static int ipc_write_all(int fd, struct iovec *iov, int cnt, al_error *err) {
  int use_send = 1; /* until the fd turns out not to be a socket */
  while (cnt > 0) {
    if (iov->iov_len == 0) {
      iov++;
      cnt--;
      continue;
    }
    ssize_t w;
    if (use_send) {
      struct msghdr mh;
      memset(&mh, 0, sizeof mh);
      mh.msg_iov = iov;
      mh.msg_iovlen = (size_t)cnt;
      w = sendmsg(fd, &mh, MSG_NOSIGNAL);
      if (w < 0 && errno == ENOTSOCK) {
        use_send = 0;
        continue;
      }
    } else {
      w = ipc_writev_nosigpipe(fd, iov, cnt);
    }
    if (w < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        if (ipc_wait(fd, POLLOUT) == 0) continue;
        e = errno;
      }
      if (e == EPIPE || e == ECONNRESET)
        return err_set(err, AL_EIO, NULL, "IPC peer closed the connection");
      char buf[128];
      return err_set(err, AL_EIO, NULL, "IPC write failed: %s", ipc_errstr(e, buf, sizeof buf));
    }
    size_t done = (size_t)w;
    while (cnt > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov->iov_base = (char *)iov->iov_base + done;
      iov->iov_len -= done;
    }
  }
  return 0;
}

int ipc_encode(const json_t *msg, unsigned char **frame, size_t *len, al_error *err) {
  if (frame) *frame = NULL;
  if (len) *len = 0;
  if (!msg || !frame || !len)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_encode: NULL message or output");
  /* json_text is several times faster than jansson's callback dump; the values sent are
   * bounded by their producers' budgets, so writing the whole text before checking the
   * frame limit costs at most a transient buffer of that size. */
  char *text = json_text(msg);
  if (!text) {
    /* out of memory, or a container that contains itself */
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "IPC message cannot be encoded as JSON (or out of memory)");
  }
  size_t n = strlen(text);
  if (n > IPC_MAX_FRAME) {
    free(text);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "IPC message is larger than the %u-byte frame limit", IPC_MAX_FRAME);
  }
  unsigned char *buf = malloc(IPC_HEADER + n);
  if (!buf) {
    free(text);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory encoding an IPC frame");
  }
  ipc_put_be32(buf, (uint32_t)n);
  memcpy(buf + IPC_HEADER, text, n);
  free(text);
  *frame = buf;
  *len = IPC_HEADER + n;
  return 0;
}

int ipc_send(int fd, const json_t *msg, al_error *err) {
  if (fd < 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_send: bad fd %d", fd);
  unsigned char *frame;
  size_t len;
  int rc = ipc_encode(msg, &frame, &len, err);
  if (rc) return rc;
  struct iovec iov = {.iov_base = frame, .iov_len = len};
  rc = ipc_write_all(fd, &iov, 1, err);
  free(frame);
  return rc;
}

int ipc_send_text(int fd, const char *json, size_t len, al_error *err) {
  if (fd < 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_send_text: bad fd %d", fd);
  if (!json && len) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_send_text: NULL text");
  if (len > IPC_MAX_FRAME)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "IPC message of %zu bytes is larger than the %u-byte frame limit", len,
                   IPC_MAX_FRAME);
  unsigned char header[IPC_HEADER];
  ipc_put_be32(header, (uint32_t)len);
  struct iovec iov[2] = {{.iov_base = header, .iov_len = IPC_HEADER},
                         {.iov_base = (void *)json, .iov_len = len}};
  return ipc_write_all(fd, iov, 2, err);
}

/* ---------------------------------------------------------------------------------------
 * Receiving
 * ------------------------------------------------------------------------------------- */

void ipc_reader_init(ipc_reader *r) {
  if (r) memset(r, 0, sizeof *r);
}

void ipc_reader_free(ipc_reader *r) {
  if (!r) return;
  free(r->buf);
  memset(r, 0, sizeof *r);
}

/* Marks the reader failed and drops its bytes: framing is lost, nothing buffered can be
 * trusted to start a frame any more. */
static void ipc_reader_fail(ipc_reader *r) {
  free(r->buf);
  r->buf = NULL;
  r->off = r->len = r->cap = 0;
  r->failed = AL_EINVALID_ARGUMENT;
}

static int ipc_reader_sticky(const ipc_reader *r, al_error *err) {
  return err_set(err, r->failed, NULL, "IPC stream unusable after an earlier protocol error");
}

static int ipc_oversized(ipc_reader *r, uint32_t n, al_error *err) {
  ipc_reader_fail(r);
  return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "IPC frame announces %lu bytes, more than the %u-byte limit",
                 (unsigned long)n, IPC_MAX_FRAME);
}

/* Makes room for `n` bytes after `len`. Feeds grow geometrically so byte-sized feeds stay
 * linear; `exact` (ipc_recv, which knows the frame's size) allocates just what a large
 * frame needs instead of up to twice that. Live bytes are moved, never the dead prefix. */
static int ipc_reserve(ipc_reader *r, size_t n, bool exact) {
  if (r->cap - r->len >= n) return 0;
  size_t live = r->len - r->off;
  if (n > SIZE_MAX / 2 - live) return AL_ENO_MEMORY;
  size_t need = live + n;
  if (need <= r->cap) {
    memmove(r->buf, r->buf + r->off, live);
    r->off = 0;
    r->len = live;
    return 0;
  }
  size_t cap;
  if (exact && need > IPC_READER_KEEP) {
    cap = need;
  } else {
    cap = r->cap > IPC_READER_MIN ? r->cap : IPC_READER_MIN;
    while (cap < need) cap *= 2;
    if (cap > IPC_BOUND && need <= IPC_BOUND) cap = IPC_BOUND;
  }
  unsigned char *nb = malloc(cap);
  if (!nb) return AL_ENO_MEMORY;
  if (live) memcpy(nb, r->buf + r->off, live);
  free(r->buf);
  r->buf = nb;
  r->cap = cap;
  r->off = 0;
  r->len = live;
  return 0;
}

int ipc_reader_feed(ipc_reader *r, const void *data, size_t n, al_error *err) {
  if (!r || (!data && n))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_reader_feed: NULL reader or data");
  if (r->failed) return ipc_reader_sticky(r, err);
  if (n == 0) return 0;
  size_t live = r->len - r->off;
  if (live < IPC_HEADER && live + n >= IPC_HEADER) {
    /* this feed completes the front frame's header: refuse a bad one before buffering */
    unsigned char h[IPC_HEADER];
    if (live) memcpy(h, r->buf + r->off, live);
    memcpy(h + live, data, IPC_HEADER - live);
    uint32_t announced = ipc_be32(h);
    if (announced > IPC_MAX_FRAME) return ipc_oversized(r, announced, err);
  }
  if (ipc_reserve(r, n, false) != 0)
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory buffering IPC input");
  memcpy(r->buf + r->len, data, n);
  r->len += n;
  return 0;
}

int ipc_reader_next(ipc_reader *r, json_t **msg, al_error *err) {
  if (msg) *msg = NULL;
  if (!r || !msg)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_reader_next: NULL reader or msg");
  if (r->failed) return ipc_reader_sticky(r, err);
  size_t live = r->len - r->off;
  if (live < IPC_HEADER) return 0;
  uint32_t n = ipc_be32(r->buf + r->off);
  if (n > IPC_MAX_FRAME) return ipc_oversized(r, n, err);
  if (live - IPC_HEADER < n) return 0;

  json_error_t je;
  json_t *v = json_loadb((const char *)r->buf + r->off + IPC_HEADER, n,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (!v) {
    /* running out of memory says nothing about the peer; the frame stays for a retry */
    if (json_error_oom(&je))
      return err_set(err, AL_ENO_MEMORY, NULL, "out of memory decoding an IPC frame");
    ipc_reader_fail(r);
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "IPC frame of %lu bytes is not valid JSON: %s (line %d, column %d, "
                   "position %d)",
                   (unsigned long)n, je.text, je.line, je.column, je.position);
  }
  r->off += IPC_HEADER + n;
  if (r->off == r->len) {
    r->off = r->len = 0;
    if (r->cap > IPC_READER_KEEP) {
      free(r->buf);
      r->buf = NULL;
      r->cap = 0;
    }
  }
  *msg = v;
  return 1;
}

bool ipc_spin_readable(int fd, const ipc_reader *r, uint64_t ns) {
  if (r && r->len > r->off) return true;
  uint64_t until = clock_mono_ns() + ns;
  for (;;) {
    char b;
    ssize_t got = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got >= 0) return true; /* a byte, or end of file */
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true; /* recv says why */
    if (clock_mono_ns() >= until) return false;
    sched_yield();
  }
}

int ipc_recv(int fd, ipc_reader *r, json_t **msg, al_error *err) {
  if (msg) *msg = NULL;
  if (fd < 0 || !r || !msg)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "ipc_recv: bad fd, NULL reader or msg");
  for (;;) {
    int rc = ipc_reader_next(r, msg, err);
    if (rc != 0) return rc;
    /* ipc_reader_next() has vetted the length if the header is complete */
    size_t live = r->len - r->off;
    size_t frame = live < IPC_HEADER ? IPC_HEADER : IPC_HEADER + ipc_be32(r->buf + r->off);
    size_t want = frame - live;
    if (ipc_reserve(r, want, true) != 0)
      return err_set(err, AL_ENO_MEMORY, NULL, "out of memory reading an IPC frame");
    ssize_t got = read(fd, r->buf + r->len, want);
    if (got > 0) {
      r->len += (size_t)got; /* a bad length in a just-completed header: next() says so */
      continue;
    }
    if (got == 0) {
      if (live == 0) return 0;
      return err_set(err, AL_EIO, NULL,
                     "IPC peer closed the connection mid-frame (%zu of %s%zu bytes received)",
                     live, live < IPC_HEADER ? "the header's " : "", frame);
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      if (ipc_wait(fd, POLLIN) == 0) continue;
      e = errno;
    }
    char buf[128];
    return err_set(err, AL_EIO, NULL, "IPC read failed: %s", ipc_errstr(e, buf, sizeof buf));
  }
}
