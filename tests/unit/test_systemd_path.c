#include "cgroups/layout.h"
#include "unit.h"

static const char *convert(struct arena *a, const char *spec, int *r)
{
	struct hull_err err = {0};
	const char *out = NULL;
	*r = cgroup_systemd_path(a, spec, &out, &err);
	hull_err_clear(&err);
	return out;
}

static void test_scope_in_system_slice(void)
{
	struct arena a = {0};
	int r;
	CHECK_STR(convert(&a, "system.slice:cri-containerd:abc", &r),
		  "/system.slice/cri-containerd-abc.scope");
	CHECK(r == 1);
	CHECK_STR(convert(&a, ":libpod:abc", &r), "/system.slice/libpod-abc.scope");
	CHECK_STR(convert(&a, "machine.slice::abc", &r), "/machine.slice/abc.scope");
	arena_free(&a);
}

static void test_dashed_slice_nests(void)
{
	struct arena a = {0};
	int r;
	CHECK_STR(convert(&a, "user-1000-app.slice:p:n", &r),
		  "/user.slice/user-1000.slice/user-1000-app.slice/p-n.scope");
	CHECK_STR(convert(&a, "-.slice:p:n", &r), "/p-n.scope");
	CHECK_STR(convert(&a, "system.slice:p:sub.slice", &r), "/system.slice/sub.slice");
	arena_free(&a);
}

static void test_plain_paths_untouched(void)
{
	struct arena a = {0};
	int r;
	CHECK(convert(&a, "/default/abc", &r) == NULL && r == 0);
	CHECK(convert(&a, "relative/path", &r) == NULL && r == 0);
	CHECK(convert(&a, "a:b", &r) == NULL && r == 0);
	arena_free(&a);
}

static void test_bad_systemd_forms(void)
{
	struct arena a = {0};
	struct hull_err err = {0};
	const char *out;
	CHECK(cgroup_systemd_path(&a, "system:p:n", &out, &err) < 0);
	CHECK_CONTAINS(err.msg, "not a slice name");
	CHECK(cgroup_systemd_path(&a, "system.slice:p:", &out, &err) < 0);
	CHECK(cgroup_systemd_path(&a, "system.slice:p:a/b", &out, &err) < 0);
	CHECK_CONTAINS(err.msg, "linux.cgroupsPath");
	CHECK(cgroup_systemd_path(&a, "a--b.slice:p:n", &out, &err) < 0);
	hull_err_clear(&err);
	arena_free(&a);
}

int main(void)
{
	RUN(test_scope_in_system_slice);
	RUN(test_dashed_slice_nests);
	RUN(test_plain_paths_untouched);
	RUN(test_bad_systemd_forms);
	return unit_done();
}
