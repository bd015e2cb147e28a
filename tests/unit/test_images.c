/* src/images: path cleaning, whiteout names, digests, id maps, user resolution and the
 * image config to runtime config conversion. */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "images/images.h"
#include "runtime/spec.h"
#include "unit.h"

static char *clean(const char *p)
{
	struct hull_err err = {0};
	char *r = image_clean_path(p, &err);
	hull_err_clear(&err);
	return r;
}

static void test_clean_path(void)
{
	static const char *const cases[][2] = {
	    {"a/b", "a/b"},   {"./a/b", "a/b"}, {"/etc/passwd", "etc/passwd"},
	    {"a//b/", "a/b"}, {"./", "."},	{"/", "."},
	    {"a/./b", "a/b"}, {"...", "..."},	{"a/..b", "a/..b"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *r = clean(cases[i][0]);
		CHECK_STR(r, cases[i][1]);
		free(r);
	}
	CHECK(clean("../x") == NULL);
	CHECK(clean("a/../../x") == NULL);
	CHECK(clean("a/..") == NULL);
	CHECK(clean("/..") == NULL);
}

static void test_whiteout(void)
{
	const char *hidden = NULL;
	CHECK(image_whiteout_kind("a/b", &hidden) == IMAGE_WH_NONE);
	CHECK(image_whiteout_kind("a/.wh..wh..opq", &hidden) == IMAGE_WH_OPAQUE);
	CHECK(image_whiteout_kind(".wh..wh..opq", &hidden) == IMAGE_WH_OPAQUE);
	CHECK(image_whiteout_kind("a/.wh.foo", &hidden) == IMAGE_WH_FILE);
	CHECK_STR(hidden, "foo");
	CHECK(image_whiteout_kind(".wh.x.wh.y", &hidden) == IMAGE_WH_FILE);
	CHECK_STR(hidden, "x.wh.y");
	CHECK(image_whiteout_kind("a.wh.b", &hidden) == IMAGE_WH_NONE);
}

static void test_digest(void)
{
	struct hull_err err = {0};
	const char *good =
	    "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	CHECK(image_digest_hex(good, &err) == good + 7);
	CHECK(image_digest_hex("sha512:abcd", &err) == NULL);
	CHECK_CONTAINS(err.msg, "unsupported");
	CHECK(image_digest_hex("sha256:ABCD", &err) == NULL);
	CHECK(image_digest_hex(
		  "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982", &err) ==
	      NULL);
	CHECK(image_digest_hex("sha256:../../etc/passwd", &err) == NULL);
	CHECK(image_check_digest("hello", 5, good, "blob", &err) == 0);
	CHECK(image_check_digest("hellO", 5, good, "blob", &err) < 0);
	CHECK_CONTAINS(err.msg, "digest mismatch");
	hull_err_clear(&err);
}

static void test_idmap(void)
{
	struct hull_err err = {0};
	struct image_idmap m[2];
	unsigned out = 0;
	CHECK(image_parse_idmap("0:100000:65536", &m[0], &err) == 0);
	CHECK(m[0].container == 0 && m[0].host == 100000 && m[0].size == 65536);
	CHECK(image_parse_idmap("0:1:0", &m[1], &err) < 0);
	CHECK(image_parse_idmap("0:1", &m[1], &err) < 0);
	CHECK(image_parse_idmap("-1:1:1", &m[1], &err) < 0);
	CHECK(image_parse_idmap("0:4294967295:2", &m[1], &err) < 0);
	CHECK(image_map_id(m, 1, 1000, &out, "uid", &err) == 0 && out == 101000);
	CHECK(image_map_id(m, 1, 65536, &out, "uid", &err) < 0);
	CHECK(image_map_id(m, 0, 7, &out, "uid", &err) == 0 && out == 7);
	hull_err_clear(&err);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1::/usr/sbin:/bin/false\n"
			     "tester:x:1000:1001:T:/home/tester:/bin/sh\n";
static const char group[] = "root:x:0:\nwheel:x:10:tester,daemon\nusers:x:100:tester\n"
			    "tester:x:1001:\n";

static void test_user(void)
{
	struct hull_err err = {0};
	struct image_user u;
	CHECK(image_resolve_user("", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 0 && u.gid == 0);
	CHECK_STR(u.home, "/root");
	image_user_free(&u);
	CHECK(image_resolve_user("tester", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 1000 && u.gid == 1001 && u.n_gids == 2);
	CHECK(u.n_gids == 2 && u.gids[0] == 10 && u.gids[1] == 100);
	image_user_free(&u);
	CHECK(image_resolve_user("tester:wheel", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 1000 && u.gid == 10);
	image_user_free(&u);
	CHECK(image_resolve_user("1:5", passwd, group, &u, &err) == 0);
	CHECK(u.uid == 1 && u.gid == 5);
	CHECK_STR(u.home, "/usr/sbin");
	image_user_free(&u);
	CHECK(image_resolve_user("4242", NULL, NULL, &u, &err) == 0);
	CHECK(u.uid == 4242 && u.gid == 0 && u.home == NULL);
	image_user_free(&u);
	CHECK(image_resolve_user("nobody", passwd, group, &u, &err) < 0);
	CHECK_CONTAINS(err.msg, "nobody");
	CHECK(image_resolve_user("tester:nogroup", passwd, group, &u, &err) < 0);
	CHECK(image_resolve_user("root", NULL, NULL, &u, &err) < 0);
	hull_err_clear(&err);
}

static void test_config(void)
{
	struct hull_err err = {0};
	char *defaults = spec_default_config(false, &err);
	CHECK(defaults != NULL);
	const char *cfg = "{\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
			  "\"Env\":[\"PATH=/x\",\"A=b\"],\"WorkingDir\":\"/w\",\"User\":\"7:8\","
			  "\"StopSignal\":\"SIGQUIT\",\"Labels\":{\"l\":\"v\"}}}";
	char *text = image_runtime_config(cfg, defaults, -1, &err);
	CHECK(text != NULL);
	yajl_val v = text ? json_parse(text, &err) : NULL;
	const char *args0[] = {"process", "args", NULL}, *env[] = {"process", "env", NULL};
	yajl_val args = v ? yajl_tree_get(v, args0, yajl_t_array) : NULL;
	yajl_val e = v ? yajl_tree_get(v, env, yajl_t_array) : NULL;
	CHECK(args != NULL && args->u.array.len == 3);
	CHECK(e != NULL && e->u.array.len == 3);
	if (e != NULL && e->u.array.len == 3) {
		CHECK_STR(YAJL_GET_STRING(e->u.array.values[0]), "TERM=xterm");
		CHECK_STR(YAJL_GET_STRING(e->u.array.values[1]), "PATH=/x");
	}
	CHECK_CONTAINS(text, "\"cwd\": \"/w\"");
	CHECK_CONTAINS(text, "\"terminal\": false");
	CHECK_CONTAINS(text, "\"uid\": 7");
	CHECK_CONTAINS(text, "\"gid\": 8");
	CHECK_CONTAINS(text, "\"org.opencontainers.image.stopSignal\": \"SIGQUIT\"");
	CHECK_CONTAINS(text, "\"l\": \"v\"");
	yajl_tree_free(v);
	free(text);
	text = image_runtime_config("{}", defaults, -1, &err);
	CHECK_CONTAINS(text, "\"sh\"");
	free(text);
	CHECK(image_runtime_config("{\"config\":{\"User\":\"bob\"}}", defaults, -1, &err) == NULL);
	CHECK(image_runtime_config("not json", defaults, -1, &err) == NULL);
	free(defaults);
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_clean_path);
	RUN(test_whiteout);
	RUN(test_digest);
	RUN(test_idmap);
	RUN(test_user);
	RUN(test_config);
	return unit_done();
}
