/*
 * test_http.c: the pi.http client (hooks/http.h) against the loopback test server:
 * GET and POST, request and response headers, status codes passed through, redirects
 * returned instead of followed, the response cap, the deadline, refused schemes and
 * malformed requests that never reach the network; non-public addresses after resolution
 * (issue 16): `localhost` (127.0.0.1 through /etc/hosts) is refused, the literal only
 * with HK_HTTP_LITERAL_GRANTED.
 */
#define _GNU_SOURCE /* strcasestr */
#include "helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hooks/http.h"
#include "hooks/netaddr.h"
#include "integration/httpd_test.h"

static httpd_test *srv;
static char base[64];

static int setup(void **state) {
  (void)state;
  if (httpd_test_start(&srv)) return -1;
  snprintf(base, sizeof base, "http://127.0.0.1:%d", httpd_test_port(srv));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  httpd_test_stop(srv);
  return 0;
}

static const char *url(const char *path) {
  static char buf[256];
  snprintf(buf, sizeof buf, "%s%s", base, path);
  return buf;
}

static void test_get(void **state) {
  (void)state;
  httpd_test_route(srv, "/hello", 200, "X-Test: 1\r\nX-Multi: a\r\nX-Multi: b\r\n", "hi \xc3\xa9",
                   5, 0);
  json_t *hdr = tj("{'X-Req':'v','Accept':'text/plain'}");
  json_t *resp = NULL;
  al_error err;
  int rc = hk_http_request("GET", url("/hello?q=1"), NULL, 0, hdr, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
  assert_int_equal(json_integer_value(json_object_get(resp, "status")), 200);
  assert_string_equal(json_string_value(json_object_get(resp, "body")), "hi \xc3\xa9");
  json_t *h = json_object_get(resp, "headers");
  assert_string_equal(json_string_value(json_object_get(h, "x-test")), "1");
  assert_string_equal(json_string_value(json_object_get(h, "x-multi")), "a, b");
  assert_string_equal(json_string_value(json_object_get(h, "content-length")), "5");
  json_decref(resp);
  json_decref(hdr);
  char *m, *p, *hs, *b;
  assert_true(httpd_test_last(srv, &m, &p, &hs, &b));
  assert_string_equal(m, "GET");
  assert_string_equal(p, "/hello?q=1");
  assert_non_null(strstr(hs, "X-Req: v\r\n"));
  assert_non_null(strstr(hs, "Accept: text/plain\r\n"));
  assert_string_equal(b, "");
  free(m), free(p), free(hs), free(b);
}

static void test_post_and_status(void **state) {
  (void)state;
  httpd_test_route(srv, "/items", 201, "Location: /items/7\r\n", "{\"id\":7}", 8, 0);
  json_t *hdr = tj("{'Content-Type':'application/json'}");
  json_t *resp = NULL;
  const char *body = "{\"name\":\"x\"}";
  assert_int_equal(hk_http_request("POST", url("/items"), body, strlen(body), hdr, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp,
                                   NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(resp, "status")), 201);
  assert_string_equal(json_string_value(json_object_get(resp, "body")), "{\"id\":7}");
  json_decref(resp);
  json_decref(hdr);
  char *m, *b, *hs;
  assert_true(httpd_test_last(srv, &m, NULL, &hs, &b));
  assert_string_equal(m, "POST");
  assert_string_equal(b, body);
  assert_non_null(strstr(hs, "Content-Type: application/json\r\n"));
  assert_null(strstr(hs, "Expect:"));
  free(m), free(b), free(hs);

  /* an error status is a response, not a failure */
  assert_int_equal(hk_http_request("DELETE", url("/nothing-here"), NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp,
                                   NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(resp, "status")), 404);
  json_decref(resp);
  assert_true(httpd_test_last(srv, &m, NULL, NULL, NULL));
  assert_string_equal(m, "DELETE");
  free(m);
  httpd_test_route(srv, "/head", 200, NULL, "abc", 3, 0);
  assert_int_equal(hk_http_request("HEAD", url("/head"), NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(resp, "body")), "");
  json_decref(resp);
}

static void test_redirect_not_followed(void **state) {
  (void)state;
  char loc[160];
  snprintf(loc, sizeof loc, "Location: %s/target\r\n", base);
  httpd_test_route(srv, "/redir", 302, loc, "", 0, 0);
  httpd_test_route(srv, "/target", 200, NULL, "followed", 8, 0);
  unsigned before = httpd_test_count(srv);
  json_t *resp = NULL;
  assert_int_equal(hk_http_request("GET", url("/redir"), NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(resp, "status")), 302);
  char want[128];
  snprintf(want, sizeof want, "%s/target", base);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(resp, "headers"), "location")), want);
  json_decref(resp);
  assert_int_equal(httpd_test_count(srv), before + 1); /* /target never requested */
  char *p;
  assert_true(httpd_test_last(srv, NULL, &p, NULL, NULL));
  assert_string_equal(p, "/redir");
  free(p);
}

static void test_response_cap(void **state) {
  (void)state;
  httpd_test_route(srv, "/big", 200, NULL, NULL, 2 << 20, 0);
  httpd_test_route(srv, "/exact", 200, NULL, NULL, 1024, 0);
  json_t *resp = NULL;
  al_error err;
  assert_int_equal(hk_http_request("GET", url("/big"), NULL, 0, NULL, 5000, 1024, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EIO);
  assert_null(resp);
  assert_non_null(strstr(err.message, "larger than 1024 bytes"));
  assert_int_equal(hk_http_request("GET", url("/exact"), NULL, 0, NULL, 5000, 1024, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   0);
  assert_int_equal(json_string_length(json_object_get(resp, "body")), 1024);
  json_decref(resp);
  /* the default cap (1 MiB) also holds */
  assert_int_equal(hk_http_request("GET", url("/big"), NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EIO);
  /* a body that is not UTF-8 text */
  httpd_test_route(srv, "/bin", 200, NULL, "\xff\xfe\x00", 3, 0);
  assert_int_equal(hk_http_request("GET", url("/bin"), NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EIO);
  assert_non_null(strstr(err.message, "not UTF-8"));
}

static void test_timeout(void **state) {
  (void)state;
  httpd_test_route(srv, "/slow", 200, NULL, "late", 4, 10000);
  json_t *resp = NULL;
  al_error err;
  assert_int_equal(hk_http_request("GET", url("/slow"), NULL, 0, NULL, 200, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_ETIMEOUT);
  assert_null(resp);
  assert_non_null(strstr(err.message, "timed out after 200 ms"));
}

static void test_refused_before_network(void **state) {
  (void)state;
  unsigned before = httpd_test_count(srv);
  json_t *resp = NULL;
  al_error err;
  char u[128];
  static const char *const bad_urls[] = {"ftp://127.0.0.1/", "file:///etc/passwd",
                                         "gopher://127.0.0.1:70/", "dict://127.0.0.1/",
                                         "127.0.0.1/x", "http://a@b@127.0.0.1/",
                                         "http://127.0.0.1\\@x/"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++)
    assert_int_equal(hk_http_request("GET", bad_urls[i], NULL, 0, NULL, 1000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                     AL_EINVALID_ARGUMENT);
  assert_int_equal(hk_http_request("TRACE", url("/hello"), NULL, 0, NULL, 1000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EINVALID_ARGUMENT);
  json_t *inj = tj("{'X-A':'v\\r\\nX-B: w'}");
  assert_int_equal(hk_http_request("GET", url("/hello"), NULL, 0, inj, 1000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "CR, LF"));
  json_decref(inj);
  json_t *badname = tj("{'Bad Name':'v'}");
  assert_int_equal(hk_http_request("GET", url("/hello"), NULL, 0, badname, 1000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EINVALID_ARGUMENT);
  json_decref(badname);
  static const char *const reserved[] = {"{'Host':'internal.corp'}", "{'content-length':'0'}",
                                          "{'Transfer-Encoding':'chunked'}",
                                          "{'Proxy-Authorization':'x'}", "{'Connection':'x'}"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
    json_t *h = tj(reserved[i]);
    assert_int_equal(hk_http_request("GET", url("/hello"), NULL, 0, h, 1000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                     AL_EINVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "may not be overridden"));
    json_decref(h);
  }
  json_t *notstr = tj("{'X-N':1}");
  assert_int_equal(hk_http_request("GET", url("/hello"), NULL, 0, notstr, 1000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_EINVALID_ARGUMENT);
  json_decref(notstr);
  assert_null(resp);
  assert_int_equal(httpd_test_count(srv), before);

  /* credentials in the URL are not sent */
  snprintf(u, sizeof u, "http://user:secret@127.0.0.1:%d/hello", httpd_test_port(srv));
  assert_int_equal(hk_http_request("GET", u, NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err), 0);
  json_decref(resp);
  char *hs;
  assert_true(httpd_test_last(srv, NULL, NULL, &hs, NULL));
  assert_null(strcasestr(hs, "Authorization"));
  free(hs);
}

static void test_connection_refused(void **state) {
  (void)state;
  /* a port that was just free: bind, read it, close */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  close(fd);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));
  json_t *resp = NULL;
  al_error err;
  assert_int_equal(hk_http_request("GET", u, NULL, 0, NULL, 2000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err), AL_EIO);
  assert_non_null(strstr(err.message, "request to '127.0.0.1' failed"));
}

static const char *cls(const char *addr) {
  struct sockaddr_storage ss = {0};
  if (strchr(addr, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
  }
  const char *w = hk_addr_special((struct sockaddr *)&ss);
  return w ? w : "public";
}

static void test_address_classes(void **state) {
  (void)state;
  static const char *const t[][2] = {
      {"127.0.0.1", "loopback"},     {"127.255.0.9", "loopback"},  {"::1", "loopback"},
      {"10.1.2.3", "private"},       {"172.16.0.1", "private"},    {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},    {"fc00::1", "private"},       {"fdff::1", "private"},
      {"169.254.1.1", "link-local"}, {"fe80::1", "link-local"},    {"febf::1", "link-local"},
      {"169.254.169.254", "metadata"}, {"100.64.0.1", "shared (CGNAT)"}, {"100.127.255.255", "shared (CGNAT)"},
      {"0.0.0.0", "unspecified"},    {"::", "unspecified"},        {"224.0.0.1", "multicast"},
      {"255.255.255.255", "reserved"}, {"::ffff:127.0.0.1", "loopback"}, {"::ffff:169.254.169.254", "metadata"},
      {"64:ff9b::a00:1", "private"},
      {"8.8.8.8", "public"},         {"172.32.0.1", "public"},     {"100.128.0.1", "public"},
      {"2606:4700::1111", "public"},  {"::ffff:8.8.8.8", "public"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(cls(t[i][0]), t[i][1])) fail_msg("%s: %s, want %s", t[i][0], cls(t[i][0]), t[i][1]);
}

/* A granted NAME that resolves to loopback is refused after resolution, before anything is
 * sent; the literal address is reached only when the caller says the grant names it. */
static void test_resolved_address_checked(void **state) {
  (void)state;
  httpd_test_route(srv, "/lo", 200, "", "lo", 2, 0);
  unsigned before = httpd_test_count(srv);
  char u[96];
  json_t *resp = NULL;
  al_error err;
  snprintf(u, sizeof u, "http://localhost:%d/lo", httpd_test_port(srv));
  assert_int_equal(hk_http_request("GET", u, NULL, 0, NULL, 2000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err),
                   AL_ECAPABILITY_DENIED);
  assert_non_null(strstr(err.message, "'localhost' is "));
  assert_non_null(strstr(err.message, "a loopback address"));
  assert_int_equal(hk_http_request("GET", url("/lo"), NULL, 0, NULL, 2000, 0, 0, &resp, &err),
                   AL_ECAPABILITY_DENIED);
  assert_non_null(strstr(err.message, "'127.0.0.1' is 127.0.0.1, a loopback address"));
  snprintf(u, sizeof u, "http://169.254.169.254:%d/latest/meta-data/", httpd_test_port(srv));
  assert_int_equal(hk_http_request("GET", u, NULL, 0, NULL, 2000, 0, 0, &resp, &err), AL_ECAPABILITY_DENIED);
  assert_non_null(strstr(err.message, "a metadata address"));
  snprintf(u, sizeof u, "http://[::ffff:127.0.0.1]:%d/lo", httpd_test_port(srv));
  assert_int_equal(hk_http_request("GET", u, NULL, 0, NULL, 2000, 0, 0, &resp, &err), AL_ECAPABILITY_DENIED);
  assert_int_equal(httpd_test_count(srv), before); /* nothing left the host */
  assert_int_equal(hk_http_request("GET", url("/lo"), NULL, 0, NULL, 5000, 0, HK_HTTP_LITERAL_GRANTED, &resp, &err), 0);
  assert_string_equal(json_string_value(json_object_get(resp, "body")), "lo");
  json_decref(resp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get),
      cmocka_unit_test(test_post_and_status),
      cmocka_unit_test(test_redirect_not_followed),
      cmocka_unit_test(test_response_cap),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_refused_before_network),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_address_classes),
      cmocka_unit_test(test_resolved_address_checked),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
