// wanwatch's timestamped sockets: a datagram socket (UDP, or raw ICMP / ICMPv6) whose every received
// packet carries the kernel's receive time (SO_TIMESTAMPNS), and whose sends can write the send time
// into the packet just before the send system call; plus the kernel's own measure of a TCP handshake
// (TCP_INFO's RTT after connect). Node's dgram and net modules give neither: a time taken in JavaScript
// when a packet is handed over includes the process's wake-up (epoll, scheduler), 0.1 to several
// milliseconds on a busy machine. See docs/measuring.md ("Where the time goes").
//
// Times are CLOCK_REALTIME nanoseconds (the only clock SO_TIMESTAMPNS gives), as BigInts.
// Built by node-gyp (binding.gyp beside this file) at `npm ci`; probes/timestamps.ts loads it and falls
// back to JavaScript timing when it is missing.
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef ICMP_FILTER
#define ICMP_FILTER 1
struct icmp_filter {
  uint32_t data;
};
#endif

#define CHECK(call)                                                                                    \
  do {                                                                                                 \
    if ((call) != napi_ok) return NULL;                                                               \
  } while (0)

typedef struct {
  uv_poll_t poll;
  int fd;
  int family;
  int closed;      // close() called, or being finalized: no more reads or sends
  int handle_done; // libuv has closed the poll handle
  int finalized;   // the JavaScript value is gone: free once the handle is closed too
  int teardown;    // closed by the finalizer: no N-API calls in the close callback
  napi_env env;
  napi_ref on_packet;
  napi_ref on_error;
  napi_ref self;
  napi_async_context ctx;
} wwsock;

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  char code[32];
  snprintf(code, sizeof code, "%d", err);
  napi_throw_error(env, code, msg);
  return NULL;
}

// Calls a JavaScript callback inside drain()'s callback scope (microtasks run once, when it closes).
static void call_js(wwsock* s, napi_ref fn_ref, size_t argc, napi_value* argv) {
  napi_env env = s->env;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok) return;
  napi_get_global(env, &recv);
  if (napi_call_function(env, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static void report_error(wwsock* s, int err) {
  napi_value argv[1];
  napi_create_int32(s->env, err, &argv[0]);
  call_js(s, s->on_error, 1, argv);
}

static void drain_packets(wwsock* s);

// Reads every queued packet; each goes to on_packet(buffer, kernelNs, address, port). All of them in one
// callback scope: promises resolved by the callbacks settle once, after the last packet, not per packet.
static void drain(wwsock* s) {
  napi_handle_scope outer;
  napi_callback_scope scope_cb;
  napi_value resource;
  napi_open_handle_scope(s->env, &outer);
  napi_create_object(s->env, &resource);
  napi_open_callback_scope(s->env, resource, s->ctx, &scope_cb);
  drain_packets(s);
  napi_close_callback_scope(s->env, scope_cb);
  napi_close_handle_scope(s->env, outer);
}

static void drain_packets(wwsock* s) {
  unsigned char buf[2048];
  char control[256];
  struct sockaddr_storage from;
  for (int n = 0; n < 256 && !s->closed; n++) {
    struct iovec iov = {buf, sizeof buf};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t len = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (len < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      napi_handle_scope scope;
      napi_open_handle_scope(s->env, &scope);
      report_error(s, errno);
      napi_close_handle_scope(s->env, scope);
      continue;
    }
    int64_t kernel_ns = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        kernel_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
      }
    }
    if (kernel_ns == 0) kernel_ns = realtime_ns();
    char addr[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (from.ss_family == AF_INET) {
      struct sockaddr_in* a = (struct sockaddr_in*)&from;
      inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
      port = ntohs(a->sin_port);
    } else if (from.ss_family == AF_INET6) {
      struct sockaddr_in6* a = (struct sockaddr_in6*)&from;
      inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
      port = ntohs(a->sin6_port);
    }
    napi_handle_scope scope;
    napi_open_handle_scope(s->env, &scope);
    napi_value argv[4];
    void* data;
    napi_create_buffer_copy(s->env, (size_t)len, buf, &data, &argv[0]);
    napi_create_bigint_int64(s->env, kernel_ns, &argv[1]);
    napi_create_string_utf8(s->env, addr, NAPI_AUTO_LENGTH, &argv[2]);
    napi_create_int32(s->env, port, &argv[3]);
    call_js(s, s->on_packet, 4, argv);
    napi_close_handle_scope(s->env, scope);
  }
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  wwsock* s = (wwsock*)handle->data;
  (void)events;
  drain(s);
  // libuv stops polling on POLLERR (a pending ICMP error on a connected UDP socket, which drain() has
  // now read and reported): start again.
  if (status < 0 && !s->closed) uv_poll_start(&s->poll, UV_READABLE, on_poll);
}

// The struct lives until both the poll handle is closed and the JavaScript value is finalized, so that
// a close() followed by garbage collection (or the reverse) never touches freed memory.
static void on_closed(uv_handle_t* handle) {
  wwsock* s = (wwsock*)handle->data;
  close(s->fd);
  if (!s->teardown) {
    napi_delete_reference(s->env, s->on_packet);
    napi_delete_reference(s->env, s->on_error);
    napi_async_destroy(s->env, s->ctx);
  }
  s->handle_done = 1;
  if (s->finalized) free(s);
}

static void close_sock(wwsock* s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t*)&s->poll, on_closed);
}

static void finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  wwsock* s = (wwsock*)data;
  s->finalized = 1;
  if (!s->closed) {
    s->teardown = 1;
    close_sock(s);
  } else if (s->handle_done) {
    free(s);
  }
}

static wwsock* unwrap(napi_env env, napi_value v) {
  wwsock* s = NULL;
  napi_get_value_external(env, v, (void**)&s);
  if (!s || s->closed) {
    napi_throw_error(env, "EBADF", "socket is closed");
    return NULL;
  }
  return s;
}

static int to_sockaddr(napi_env env, napi_value addr_v, napi_value port_v, int family,
                       struct sockaddr_storage* out, socklen_t* len) {
  char addr[INET6_ADDRSTRLEN + 1];
  size_t n;
  int32_t port = 0;
  if (napi_get_value_string_utf8(env, addr_v, addr, sizeof addr, &n) != napi_ok) return -1;
  napi_get_value_int32(env, port_v, &port);
  memset(out, 0, sizeof *out);
  if (family == 6) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return -1;
    *len = sizeof *a;
  } else {
    struct sockaddr_in* a = (struct sockaddr_in*)out;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) return -1;
    *len = sizeof *a;
  }
  return 0;
}

// open(family 4|6, kind "udp"|"icmp", onPacket, onError) -> socket
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t family = 4;
  char kind[8];
  size_t n;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], kind, sizeof kind, &n));
  int domain = family == 6 ? AF_INET6 : AF_INET;
  int fd;
  if (strcmp(kind, "udp") == 0) fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  else
    fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt SO_TIMESTAMPNS", err);
  }
  // Room for the replies that arrive while the event loop is busy elsewhere (a garbage collection, a
  // burst of rounds): the default (about 200 KB, some 270 replies) overflowed at 8,000 probes/s. Up to
  // the host's net.core.rmem_max; SO_RCVBUFFORCE goes past it where the process may (CAP_NET_ADMIN).
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  // A raw ICMP socket sees every ICMP packet the host receives (on loopback, its own requests too):
  // let the kernel pass only echo replies and the errors a probe reports.
  if (strcmp(kind, "icmp") == 0 && family == 4) {
    struct icmp_filter f;
    f.data = ~((1U << ICMP_ECHOREPLY) | (1U << ICMP_DEST_UNREACH) | (1U << ICMP_TIME_EXCEEDED));
    setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof f);
  } else if (strcmp(kind, "icmp") == 0) {
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
    ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
  }
  wwsock* s = calloc(1, sizeof *s);
  s->fd = fd;
  s->family = family;
  s->env = env;
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init_socket(loop, &s->poll, fd) != 0) {
    close(fd);
    free(s);
    return throw_errno(env, "uv_poll_init", EINVAL);
  }
  s->poll.data = s;
  CHECK(napi_create_reference(env, argv[2], 1, &s->on_packet));
  CHECK(napi_create_reference(env, argv[3], 1, &s->on_error));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "wanwatch:socket", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &s->ctx));
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  napi_value ext;
  CHECK(napi_create_external(env, s, finalize, NULL, &ext));
  return ext;
}

// bind(socket, address, port) -> bound port
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  wwsock* s = unwrap(env, argv[0]);
  if (!s) return NULL;
  struct sockaddr_storage sa;
  socklen_t len;
  if (to_sockaddr(env, argv[1], argv[2], s->family, &sa, &len) < 0)
    return throw_errno(env, "bind: bad address", EINVAL);
  if (bind(s->fd, (struct sockaddr*)&sa, len) < 0) return throw_errno(env, "bind", errno);
  len = sizeof sa;
  getsockname(s->fd, (struct sockaddr*)&sa, &len);
  int port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6*)&sa)->sin6_port)
                                      : ntohs(((struct sockaddr_in*)&sa)->sin_port);
  napi_value out;
  CHECK(napi_create_int32(env, port, &out));
  return out;
}

// connect(socket, address, port)
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  wwsock* s = unwrap(env, argv[0]);
  if (!s) return NULL;
  struct sockaddr_storage sa;
  socklen_t len;
  if (to_sockaddr(env, argv[1], argv[2], s->family, &sa, &len) < 0)
    return throw_errno(env, "connect: bad address", EINVAL);
  if (connect(s->fd, (struct sockaddr*)&sa, len) < 0) return throw_errno(env, "connect", errno);
  return NULL;
}

// send(socket, buffer, address | null, port, stampOffset) -> send time (ns, BigInt). With stampOffset
// >= 0 the time is written into the buffer there (big-endian u64) just before the send system call.
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  wwsock* s = unwrap(env, argv[0]);
  if (!s) return NULL;
  unsigned char* data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], (void**)&data, &len));
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[2], &t));
  struct sockaddr_storage sa;
  socklen_t salen = 0;
  if (t == napi_string && to_sockaddr(env, argv[2], argv[3], s->family, &sa, &salen) < 0)
    return throw_errno(env, "send: bad address", EINVAL);
  int32_t offset = -1;
  napi_get_value_int32(env, argv[4], &offset);
  int64_t now = realtime_ns();
  if (offset >= 0 && (size_t)offset + 8 <= len) {
    uint64_t v = (uint64_t)now;
    for (int i = 7; i >= 0; i--) {
      data[offset + i] = (unsigned char)(v & 0xff);
      v >>= 8;
    }
  }
  ssize_t r = salen ? sendto(s->fd, data, len, 0, (struct sockaddr*)&sa, salen)
                    : send(s->fd, data, len, 0);
  if (r < 0) return throw_errno(env, "send", errno);
  napi_value out;
  CHECK(napi_create_bigint_int64(env, now, &out));
  return out;
}

// ref(socket, bool): whether the socket alone keeps the process running.
static napi_value js_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  wwsock* s = unwrap(env, argv[0]);
  if (!s) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  if (ref) uv_ref((uv_handle_t*)&s->poll);
  else uv_unref((uv_handle_t*)&s->poll);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  wwsock* s = NULL;
  napi_get_value_external(env, argv[0], (void**)&s);
  if (s) close_sock(s);
  return NULL;
}

// now() -> CLOCK_REALTIME ns (BigInt): the clock of every time above.
static napi_value js_now(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_bigint_int64(env, realtime_ns(), &out));
  return out;
}

// tcpRtt(fd) -> [rtt µs, retransmits]: right after connect, the kernel's one RTT sample is the time
// from the SYN's transmission to the SYN-ACK's arrival (tcp_ack_update_rtt), in microseconds.
static napi_value js_tcp_rtt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return throw_errno(env, "TCP_INFO", errno);
  napi_value out, a, b;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_uint32(env, ti.tcpi_rtt, &a));
  CHECK(napi_create_uint32(env, ti.tcpi_total_retrans, &b));
  napi_set_element(env, out, 0, a);
  napi_set_element(env, out, 1, b);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"now", NULL, js_now, NULL, NULL, NULL, napi_default, NULL},
      {"tcpRtt", NULL, js_tcp_rtt, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
