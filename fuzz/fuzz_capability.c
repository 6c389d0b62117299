/* fuzz_capability.c: the capability layer's parsers under arbitrary input, with the
 * properties the chain relies on checked, not just "no crash":
 *   byte 0 % 4 == 0  the rest is a URL: when it parses, its host is lowercase, has no
 *                    userinfo, '%', '\' or '@', its port is 1-65535, and a pattern
 *                    "evil.com" matches it only if the host is evil.com or ends in
 *                    ".evil.com";
 *               1    the rest is a host pattern: matching it against fixed URLs, and a
 *                    valid pattern never matches a non-http(s) URL;
 *               2    the rest is a policy as JSON (a "caps" member, removed first, is the
 *                    manifest's capabilities): when it builds, every decision's reason
 *                    agrees with its verdict, and force-deny and mode none always deny;
 *               3    the rest is audit JSON Lines: every record read back has exactly the
 *                    six string fields, and no more than asked for;
 * and any input ending in a "**" segment is tried as a path pattern against a /proc path,
 * which no subtree pattern may reach. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "hooks/audit.h"
#include "hooks/capability.h"


static void url_case(const char *s) {
  char host[HK_HOST_MAX];
  int port = 0;
  if (hk_url_parse(s, host, sizeof host, &port, NULL) != 0) {
    CHECK(!hk_host_match("*", s));
    return;
  }
  CHECK(port >= 1 && port <= 65535);
  CHECK(host[0] != '\0');
  for (const char *p = host; *p; p++) CHECK(!(*p >= 'A' && *p <= 'Z') && !strchr("%\\@/", *p));
  CHECK(hk_host_match("*", s));
  if (hk_host_match("evil.com", s)) {
    size_t n = strlen(host);
    CHECK(strcmp(host, "evil.com") == 0 ||
          (n > 9 && strcmp(host + n - 9, ".evil.com") == 0));
  }
}

static void pattern_case(const char *s) {
  static const char *const urls[] = {"https://evil.com/", "http://sub.evil.com:8080/x",
                                     "http://127.0.0.1/", "http://[::1]:80/"};
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) (void)hk_host_match(s, urls[i]);
  CHECK(!hk_host_match(s, "ftp://evil.com/"));
  CHECK(!hk_host_match(s, "file:///etc/passwd"));
}

static bool reason_fits(hk_verdict v, const char *r) {
  if (v == HK_ALLOWED)
    return strcmp(r, HK_REASON_PLUGIN_ALLOW) == 0 || strcmp(r, HK_REASON_DEFAULT_ALLOW) == 0;
  if (v == HK_ASK) return strcmp(r, HK_REASON_ASK) == 0;
  return strncmp(r, "Denied", 6) == 0 || strcmp(r, HK_REASON_MODE_NONE) == 0 ||
         strcmp(r, HK_REASON_UNKNOWN_ACTION) == 0 || strcmp(r, HK_REASON_BAD_RESOURCE) == 0;
}

static void policy_case(const char *s, size_t n) {
  json_t *j = json_loadb(s, n, JSON_DECODE_ANY, NULL);
  if (!j) return;
  /* an optional "caps" member is the manifest's capabilities, not part of the policy */
  json_t *caps = json_incref(json_object_get(j, "caps"));
  if (caps) json_object_del(j, "caps");
  hk_policy *p = NULL;
  if (hk_policy_new(j, &p, NULL) == 0) {
    static const char *const acts[][2] = {
        {"network", "https://api.example.com/"}, {"fs_read", "/srv/data/x"},
        {"fs_write", "/tmp/x"},                  {"kv", "key"},
        {"events", "PreToolUse"},                {"env_vars", "HOME"},
        {"register_tools", "t"},                 {"read_config", ""}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
      const char *why = NULL;
      hk_verdict v = hk_decide(p, -1, false, "p", caps, acts[i][0], acts[i][1], NULL, &why);
      CHECK(why && reason_fits(v, why));
      CHECK(hk_decide(p, -1, true, "p", caps, acts[i][0], acts[i][1], NULL, &why) == HK_DENIED);
      CHECK(hk_decide(p, HK_MODE_NONE, false, "p", caps, acts[i][0], acts[i][1], NULL, &why) ==
            HK_DENIED);
    }
  } else {
    CHECK(p == NULL);
  }
  hk_policy_free(p);
  json_decref(caps);
  json_decref(j);
}

static void audit_case(const char *s, size_t n, size_t want) {
  json_t *out = NULL;
  CHECK(hk_audit_parse(s, n, want, &out, NULL, NULL) == 0);
  CHECK(want == 0 || json_array_size(out) <= want);
  size_t i;
  json_t *rec;
  json_array_foreach(out, i, rec) {
    CHECK(json_object_size(rec) == 6);
    CHECK(json_is_string(json_object_get(rec, "timestamp")));
    CHECK(json_is_string(json_object_get(rec, "reason")));
  }
  json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  char *s = malloc(size);
  if (!s) return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';
  switch (data[0] % 4) {
  case 0: url_case(s); break;
  case 1: pattern_case(s); break;
  case 2: policy_case(s, size - 1); break;
  default: audit_case(s, size - 1, data[0] / 4 % 8); break;
  }
  size_t n = strlen(s);
  if (n >= 3 && strcmp(s + n - 3, "/**") == 0) CHECK(!hk_path_match(s, "/proc/1/status", NULL));
  free(s);
  return 0;
}
