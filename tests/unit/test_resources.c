/* linux.resources: parsing (src/runtime/spec_resources.c), the v1/v2 conversions
 * (src/cgroups/convert.c), and cgroup_apply's mapping onto files, checked on trees of
 * plain files laid out like a v1 and a v2 host (so the v2 mapping is exercised on any
 * machine), then on this host's real cgroups as root. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/layout.h"
#include "cgroups/resources.h"
#include "common/cleanup.h"
#include "runtime/spec.h"
#include "unit.h"

static char *dq(const char *q)
{
	char *s = strdup(q);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

/* Parse a single-quoted resources document into r (strings in a). */
static int parse(const char *q, struct arena *a, struct oci_resources *r, struct hull_err *err)
{
	_cleanup_free_ char *text = dq(q);
	return spec_parse_resources_text(text, "res.json", a, r, err);
}

static bool fails_with(const char *q, const char *want)
{
	struct arena a = {0};
	struct oci_resources r;
	struct hull_err err = {0};
	int rc = parse(q, &a, &r, &err);
	bool ok = rc < 0 && err.msg && strncmp(err.msg, "res.json: ", 10) == 0 &&
		  strstr(err.msg, want) != NULL;
	if (!ok)
		printf("#   want '%s', got rc=%d '%s'\n", want, rc, err.msg ? err.msg : "(none)");
	hull_err_clear(&err);
	arena_free(&a);
	return ok;
}

static const char FULL[] =
    "{'devices':[{'allow':false},{'allow':true,'type':'c','major':1,'minor':3,'access':'mwr'},"
    "{'allow':true,'type':'b','major':8,'access':'r'}],"
    "'memory':{'limit':1048576,'reservation':524288,'swap':2097152,'kernel':-1,"
    "'kernelTCP':4096,'swappiness':60,'disableOOMKiller':true,'useHierarchy':false,"
    "'checkBeforeUpdate':false},"
    "'cpu':{'shares':512,'quota':50000,'burst':1000,'period':100000,'realtimeRuntime':0,"
    "'realtimePeriod':1000000,'cpus':'0-1','mems':'0','idle':1},"
    "'pids':{'limit':-1},"
    "'blockIO':{'weight':500,'leafWeight':300,'weightDevice':[{'major':8,'minor':0,"
    "'weight':600},{'major':8,'minor':16,'leafWeight':20}],"
    "'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
    "'throttleWriteBpsDevice':[{'major':8,'minor':0,'rate':2097152}],"
    "'throttleReadIOPSDevice':[{'major':8,'minor':0,'rate':100}],"
    "'throttleWriteIOPSDevice':[{'major':8,'minor':0,'rate':0}]},"
    "'hugepageLimits':[{'pageSize':'2MB','limit':10485760}],"
    "'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':5},"
    "{'name':'lo','priority':1}]},"
    "'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000},'mlx4_0':{'hcaObjects':7}},"
    "'unified':{'memory.high':'1G'},'someFutureField':1}";

/* ---- parsing ---- */

static void test_parse_every_field(void)
{
	struct arena a = {0};
	struct oci_resources r;
	struct hull_err err = {0};
	CHECK(parse(FULL, &a, &r, &err) == 0);
	if (err.msg)
		printf("#   %s\n", err.msg);
	CHECK(r.n_devices == 3);
	CHECK(!r.devices[0].allow && r.devices[0].type == 'a' && r.devices[0].major == -1 &&
	      r.devices[0].minor == -1);
	CHECK_STR(r.devices[0].access, "rwm");
	CHECK_STR(r.devices[1].access, "rwm"); /* "mwr", put in order */
	CHECK(r.devices[2].type == 'b' && r.devices[2].major == 8 && r.devices[2].minor == -1);
	CHECK(r.memory.limit.set && r.memory.limit.v == 1048576 && r.memory.swap.v == 2097152);
	CHECK(r.memory.kernel.set && r.memory.kernel.v == -1 && r.memory.kernel_tcp.v == 4096);
	CHECK(r.memory.swappiness.set && r.memory.swappiness.v == 60);
	CHECK(r.memory.has_disable_oom_killer && r.memory.disable_oom_killer);
	CHECK(r.memory.has_use_hierarchy && !r.memory.use_hierarchy);
	CHECK(!r.memory.check_before_update);
	CHECK(r.cpu.shares.v == 512 && r.cpu.quota.v == 50000 && r.cpu.period.v == 100000);
	CHECK(r.cpu.burst.v == 1000 && r.cpu.realtime_runtime.set && r.cpu.realtime_runtime.v == 0);
	CHECK(r.cpu.realtime_period.v == 1000000 && r.cpu.idle.set && r.cpu.idle.v == 1);
	CHECK_STR(r.cpu.cpus, "0-1");
	CHECK_STR(r.cpu.mems, "0");
	CHECK(r.pids_limit.set && r.pids_limit.v == -1);
	CHECK(r.block_io.weight.v == 500 && r.block_io.leaf_weight.v == 300);
	CHECK(r.block_io.n_weight_device == 2 && r.block_io.weight_device[0].weight.v == 600);
	CHECK(!r.block_io.weight_device[1].weight.set &&
	      r.block_io.weight_device[1].leaf_weight.v == 20);
	CHECK(r.block_io.n_throttle_read_bps == 1 &&
	      r.block_io.throttle_read_bps[0].rate == 1048576);
	CHECK(r.block_io.n_throttle_write_iops == 1 && r.block_io.throttle_write_iops[0].rate == 0);
	CHECK(r.n_hugepage_limits == 1 && r.hugepage_limits[0].limit == 10485760);
	CHECK_STR(r.hugepage_limits[0].page_size, "2MB");
	CHECK(r.network.class_id.v == 1048577 && r.network.n_priorities == 2);
	CHECK_STR(r.network.priorities[1].name, "lo");
	CHECK(r.n_rdma == 2 && r.rdma[0].hca_handles.v == 3 && !r.rdma[1].hca_handles.set);
	CHECK_STR(r.rdma[1].device, "mlx4_0");
	CHECK(r.n_unified == 1);
	CHECK_STR(r.unified[0].value, "1G");
	arena_free(&a);
}

static void test_parse_empty(void)
{
	struct arena a = {0};
	struct oci_resources r;
	struct hull_err err = {0};
	CHECK(parse("{'memory':null,'cpu':{}}", &a, &r, &err) == 0);
	CHECK(r.n_devices == 0 && !r.memory.limit.set && !r.pids_limit.set && r.cpu.cpus == NULL);
	arena_free(&a);
}

static void test_parse_errors(void)
{
	CHECK(
	    fails_with("{'memory':{'limit':'1G'}}", "res.json: memory.limit: must be an integer"));
	CHECK(fails_with("{'devices':[{'type':'c'}]}", "devices[0].allow: is required"));
	CHECK(fails_with("{'devices':[{'allow':true,'access':'rwx'}]}",
			 "devices[0].access: must be a combination"));
	CHECK(fails_with("{'devices':[{'allow':true,'access':'rr'}]}", "devices[0].access"));
	CHECK(fails_with("{'devices':[{'allow':true,'access':''}]}", "must not be empty"));
	CHECK(fails_with("{'devices':[{'allow':true,'type':'u'}]}", "devices[0].type: must be"));
	CHECK(fails_with("{'devices':[{'allow':true,'major':-2}]}", "devices[0].major: must be"));
	CHECK(fails_with("{'devices':[1]}", "devices[0]: must be an object"));
	CHECK(fails_with("{'memory':{'swappiness':101}}", "memory.swappiness: must be between 0"));
	CHECK(fails_with("{'memory':{'limit':2000,'swap':1000}}",
			 "memory.swap: must be at least memory.limit"));
	CHECK(fails_with("{'memory':{'disableOOMKiller':1}}", "must be a boolean"));
	CHECK(fails_with("{'cpu':{'idle':2}}", "cpu.idle: must be between 0 and 1"));
	CHECK(fails_with("{'cpu':{'cpus':5}}", "cpu.cpus: must be a string"));
	CHECK(fails_with("{'cpu':{'shares':-5}}", "cpu.shares: must be between 0"));
	CHECK(fails_with("{'pids':{'limit':'x'}}", "pids.limit: must be an integer"));
	CHECK(
	    fails_with("{'blockIO':{'weight':5}}", "blockIO.weight: must be between 10 and 1000"));
	CHECK(fails_with("{'blockIO':{'weightDevice':[{'major':8,'weight':100}]}}",
			 "blockIO.weightDevice[0].minor: is required"));
	CHECK(fails_with("{'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}}",
			 "blockIO.throttleReadBpsDevice[0].rate: is required"));
	CHECK(fails_with("{'hugepageLimits':[{'pageSize':'2MB/../../x','limit':1}]}",
			 "hugepageLimits[0].pageSize: \"2MB/../../x\" is not a size"));
	CHECK(fails_with("{'hugepageLimits':[{'pageSize':'MB','limit':1}]}", "is not a size"));
	CHECK(fails_with("{'hugepageLimits':[{'limit':1}]}", "pageSize: is required"));
	CHECK(fails_with("{'network':{'priorities':[{'name':'eth0 1','priority':1}]}}",
			 "network.priorities[0].name: \"eth0 1\" is not an interface name"));
	CHECK(fails_with("{'network':{'classID':-1}}", "network.classID: must be between 0"));
	CHECK(fails_with("{'rdma':{'mlx 5':{'hcaHandles':1}}}", "rdma.mlx 5: is not an RDMA"));
	CHECK(fails_with("{'rdma':{'mlx5':3}}", "rdma.mlx5: must be an object"));
	CHECK(fails_with("{'unified':{'../cgroup.procs':'1'}}", "is not a cgroup file name"));
	CHECK(fails_with("{'unified':{'a/b':'1'}}", "unified.a/b: is not a cgroup file name"));
	CHECK(fails_with("{'unified':{'':'1'}}", "is not a cgroup file name"));
	CHECK(fails_with("{'unified':{'memory.high':1}}", "unified.memory.high: must be a string"));
	CHECK(fails_with("[1]", "res.json: must be a JSON object"));
	CHECK(fails_with("{", "res.json: invalid JSON"));
}

static void test_parse_in_config(void)
{
	const char *bad = "{'ociVersion':'1.2.0','root':{'path':'r'},"
			  "'linux':{'resources':{'memory':{'limit':'x'}}}}";
	_cleanup_free_ char *text = dq(bad);
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(spec_parse(text, strlen(text), "/b", &s, &err) < 0);
	CHECK_STR(err.msg, "config.json: linux.resources.memory.limit: must be an integer");
	hull_err_clear(&err);
	spec_free(&s);
}

/* The config's rules, then linux.devices, then the standard nodes. */
static void test_implied_devices(void)
{
	const char *doc = "{'ociVersion':'1.2.0','root':{'path':'r'},'linux':{"
			  "'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229},"
			  "{'path':'/dev/sda','type':'b','major':8,'minor':0},"
			  "{'path':'/dev/p','type':'p'}],"
			  "'resources':{'devices':[{'allow':false,'access':'rwm'}]}}}";
	_cleanup_free_ char *text = dq(doc);
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(spec_parse(text, strlen(text), "/b", &s, &err) == 0);
	const struct oci_resources *r = s.linux_cfg.resources;
	CHECK(r != NULL && r->n_devices > 3);
	if (r != NULL && r->n_devices > 3) {
		CHECK(!r->devices[0].allow && r->devices[0].type == 'a');
		CHECK(r->devices[1].allow && r->devices[1].type == 'c' &&
		      r->devices[1].minor == 229);
		CHECK(r->devices[2].allow && r->devices[2].type == 'b' && r->devices[2].major == 8);
		struct cgroup_dev_policy p;
		CHECK(cgroup_dev_policy_build(r->devices, r->n_devices, &p, &err) == 0);
		CHECK(cgroup_dev_allowed(&p, 'c', 1, 3, "rw"));	   /* null */
		CHECK(cgroup_dev_allowed(&p, 'c', 136, 4, "rw"));  /* a pty */
		CHECK(cgroup_dev_allowed(&p, 'c', 5, 2, "rw"));	   /* ptmx */
		CHECK(cgroup_dev_allowed(&p, 'c', 10, 229, "rw")); /* fuse, from linux.devices */
		CHECK(cgroup_dev_allowed(&p, 'b', 9, 9, "m"));
		CHECK(!cgroup_dev_allowed(&p, 'b', 9, 9, "r"));
		CHECK(!cgroup_dev_allowed(&p, 'c', 1, 1, "r"));	    /* /dev/mem */
		CHECK(!cgroup_dev_allowed(&p, 'c', 10, 200, "rw")); /* tun: not implied */
		cgroup_dev_policy_free(&p);
	}
	spec_free(&s);
	hull_err_clear(&err);
}

/* ---- conversions ---- */

#define I(x)                                                                                       \
	(struct oci_int)                                                                           \
	{                                                                                          \
		true, x                                                                            \
	}
static const struct oci_int UNSET = {false, 0};

static void test_convert_weights(void)
{
	CHECK(cgroup_shares_to_weight(2) == 1);
	CHECK(cgroup_shares_to_weight(1024) == 39);
	CHECK(cgroup_shares_to_weight(512) == 20);
	CHECK(cgroup_shares_to_weight(262144) == 10000);
	CHECK(cgroup_shares_to_weight(0) == 1 && cgroup_shares_to_weight(1000000) == 10000);
	CHECK(cgroup_blkio_to_io_weight(10) == 1);
	CHECK(cgroup_blkio_to_io_weight(500) == 4950);
	CHECK(cgroup_blkio_to_io_weight(1000) == 10000);
	CHECK(cgroup_blkio_to_io_weight(1) == 1 && cgroup_blkio_to_io_weight(5000) == 10000);
}

static bool swap_is(struct oci_int lim, struct oci_int sw, int want_rc, const char *want)
{
	char out[32] = "";
	const char *why = NULL;
	int rc = cgroup_v2_swap_max(&lim, &sw, out, &why);
	bool ok = rc == want_rc && (rc != 1 || strcmp(out, want) == 0) &&
		  (rc != -1 || (why && strstr(why, want)));
	if (!ok)
		printf("#   swap: rc %d out '%s' why '%s'\n", rc, out, why ? why : "");
	return ok;
}

static void test_convert_swap(void)
{
	CHECK(swap_is(I(100), I(300), 1, "200"));
	CHECK(swap_is(I(100), I(100), 1, "0"));
	CHECK(swap_is(I(100), UNSET, 0, ""));
	CHECK(swap_is(I(100), I(0), 0, ""));
	CHECK(swap_is(I(-1), UNSET, 1, "max"));
	CHECK(swap_is(I(100), I(-1), 1, "max"));
	CHECK(swap_is(UNSET, I(300), -1, "needs memory.limit"));
	CHECK(swap_is(I(-1), I(300), -1, "needs memory.limit"));
	CHECK(swap_is(I(300), I(100), -1, "at least memory.limit"));
}

static void test_convert_cpu_max(void)
{
	char out[64];
	CHECK(cgroup_cpu_max_text(&I(50000), &I(100000), NULL, out) == 1);
	CHECK_STR(out, "50000 100000");
	CHECK(cgroup_cpu_max_text(&I(-1), &UNSET, "20000 100000\n", out) == 1);
	CHECK_STR(out, "max");
	CHECK(cgroup_cpu_max_text(&UNSET, &I(20000), "30000 100000\n", out) == 1);
	CHECK_STR(out, "30000 20000");
	CHECK(cgroup_cpu_max_text(&UNSET, &I(20000), NULL, out) == 1);
	CHECK_STR(out, "max 20000");
	CHECK(cgroup_cpu_max_text(&I(25000), &UNSET, "max 100000\n", out) == 1);
	CHECK_STR(out, "25000");
	CHECK(cgroup_cpu_max_text(&UNSET, &UNSET, NULL, out) == 0);
	CHECK(cgroup_cpu_max_text(&I(0), &I(0), NULL, out) == 0); /* 0 is "not given" */
}

static void test_convert_lines(void)
{
	char out[96], dev[64];
	struct oci_block_device d = {.major = 8, .minor = 16, .rate = 1048576};
	cgroup_io_max_line("rbps", &d, out);
	CHECK_STR(out, "8:16 rbps=1048576");
	d.rate = 0;
	cgroup_io_max_line("wiops", &d, out);
	CHECK_STR(out, "8:16 wiops=max");
	struct oci_device_rule r = {true, 'c', 1, 3, "rwm"};
	cgroup_v1_device_text(&r, dev);
	CHECK_STR(dev, "c 1:3 rwm");
	r = (struct oci_device_rule){false, 'b', -1, -1, "m"};
	cgroup_v1_device_text(&r, dev);
	CHECK_STR(dev, "b *:* m");
	r = (struct oci_device_rule){true, 'c', 136, -1, "rw"};
	cgroup_v1_device_text(&r, dev);
	CHECK_STR(dev, "c 136:* rw");
	struct oci_device_rule parts[2];
	bool allow = false;
	r = (struct oci_device_rule){true, 'a', -1, -1, "rwm"};
	CHECK(cgroup_device_split(&r, parts, &allow) == 0 && allow);
	r = (struct oci_device_rule){true, 'a', -1, -1, "m"};
	CHECK(cgroup_device_split(&r, parts, &allow) == 2 && parts[0].type == 'c' &&
	      parts[1].type == 'b' && strcmp(parts[1].access, "m") == 0);
	r = (struct oci_device_rule){false, 'c', 1, 3, "w"};
	CHECK(cgroup_device_split(&r, parts, &allow) == 1 && !parts[0].allow);
}

/* ---- trees of plain files laid out like a host ---- */

static char tree_root[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void tree_remove(void)
{
	if (tree_root[0] != '\0')
		nftw(tree_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tree_root[0] = '\0';
}

static void mkdirs(const char *path)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(buf, 0755);
			*s = '/';
		}
	mkdir(buf, 0755);
}

static void put(const char *dir, const char *file, const char *text)
{
	char path[512];
	mkdirs(dir);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void drop(const char *dir, const char *file)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	unlink(path);
}

/* The file's text without its last newline, "(missing)" when there is none. */
static const char *get(const char *dir, const char *file)
{
	static char buf[512];
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return "(missing)";
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

enum { MAX_FAKE = 12 };
static struct {
	struct cgroup_hier h[MAX_FAKE];
	struct cgroup_place p[MAX_FAKE];
	struct cgroup cg;
	char mount[MAX_FAKE][128], dir[MAX_FAKE][160];
} F;

static void fake_new(void)
{
	tree_remove();
	memset(&F, 0, sizeof F);
	snprintf(tree_root, sizeof tree_root, "/tmp/hull-res-XXXXXX");
	if (mkdtemp(tree_root) == NULL)
		tree_root[0] = '\0';
	F.cg.places = F.p;
}

/* A hierarchy mounted at <tree>/<name>, the container at <mount>/hull/c1. */
static const char *fake_add(bool v2, char *controllers, char *name)
{
	size_t i = F.cg.n++;
	snprintf(F.mount[i], sizeof F.mount[i], "%s/%s", tree_root, name);
	snprintf(F.dir[i], sizeof F.dir[i], "%s/%s/hull/c1", tree_root, name);
	F.h[i] = (struct cgroup_hier){.v2 = v2,
				      .controllers = controllers,
				      .mount = F.mount[i],
				      .root = "/",
				      .own = "/",
				      .name = name};
	F.p[i] = (struct cgroup_place){&F.h[i], "/hull/c1", F.dir[i], 1};
	mkdirs(F.dir[i]);
	return F.dir[i];
}

static int apply_doc(const char *q, struct hull_err *err)
{
	struct arena a = {0};
	struct oci_resources r;
	int rc = parse(q, &a, &r, err);
	if (rc == 0)
		rc = cgroup_apply(&F.cg, &r, err);
	arena_free(&a);
	return rc;
}

static bool applies(const char *q)
{
	struct hull_err err = {0};
	int rc = apply_doc(q, &err);
	if (rc != 0)
		printf("#   unexpected: %s (errno %d)\n", err.msg ? err.msg : "?", err.code);
	hull_err_clear(&err);
	return rc == 0;
}

static bool apply_fails(const char *q, const char *want)
{
	struct hull_err err = {0};
	int rc = apply_doc(q, &err);
	bool ok = rc < 0 && err.msg && strstr(err.msg, want) != NULL;
	if (!ok)
		printf("#   want '%s', got rc=%d '%s'\n", want, rc, err.msg ? err.msg : "(none)");
	hull_err_clear(&err);
	return ok;
}

static const char V2_DOC[] =
    "{'memory':{'limit':1048576,'reservation':524288,'swap':2097152},"
    "'cpu':{'shares':512,'quota':50000,'burst':1000,'period':100000,'cpus':'0-1','mems':'0',"
    "'idle':1},'pids':{'limit':-1},"
    "'blockIO':{'weight':500,'weightDevice':[{'major':8,'minor':0,'weight':600}],"
    "'throttleWriteIOPSDevice':[{'major':8,'minor':0,'rate':0}]},"
    "'hugepageLimits':[{'pageSize':'2MB','limit':10485760}],"
    "'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000}},'unified':{'memory.high':'1G'}}";

static const char *v2_tree(void)
{
	static const char *const files[] = {"memory.max",
					    "memory.swap.max",
					    "memory.low",
					    "cpu.weight",
					    "cpu.max.burst",
					    "cpu.idle",
					    "cpuset.cpus",
					    "cpuset.mems",
					    "pids.max",
					    "io.weight",
					    "io.max",
					    "hugetlb.2MB.max",
					    "hugetlb.2MB.rsvd.max",
					    "rdma.max",
					    "memory.high",
					    "cgroup.max.depth"};
	fake_new();
	const char *d = fake_add(true, "", "unified");
	put(d, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		put(d, files[i], "");
	put(d, "cpu.max", "max 100000\n");
	put(d, "memory.current", "1000\n");
	return d;
}

static void test_tree_v2(void)
{
	const char *d = v2_tree();
	CHECK(applies(V2_DOC));
	CHECK_STR(get(d, "memory.max"), "1048576");
	CHECK_STR(get(d, "memory.swap.max"), "1048576"); /* memory+swap minus memory */
	CHECK_STR(get(d, "memory.low"), "524288");
	CHECK_STR(get(d, "cpu.weight"), "20");
	CHECK_STR(get(d, "cpu.max"), "50000 100000");
	CHECK_STR(get(d, "cpu.max.burst"), "1000");
	CHECK_STR(get(d, "cpu.idle"), "1");
	CHECK_STR(get(d, "cpuset.cpus"), "0-1");
	CHECK_STR(get(d, "cpuset.mems"), "0");
	CHECK_STR(get(d, "pids.max"), "max");
	CHECK_STR(get(d, "io.weight"), "8:0 5960"); /* the device's, after the default 4950 */
	CHECK_STR(get(d, "io.max"), "8:0 wiops=max");
	CHECK_STR(get(d, "hugetlb.2MB.max"), "10485760");
	CHECK_STR(get(d, "hugetlb.2MB.rsvd.max"), "10485760");
	CHECK_STR(get(d, "rdma.max"), "mlx5_1 hca_handle=3 hca_object=10000");
	CHECK_STR(get(d, "memory.high"), "1G");
	CHECK(applies("{'blockIO':{'weight':500}}"));
	CHECK_STR(get(d, "io.weight"), "4950");
	CHECK(applies("{'cpu':{'quota':-1}}"));
	CHECK_STR(get(d, "cpu.max"), "max");
	put(d, "cpu.max", "30000 100000\n");
	CHECK(applies("{'cpu':{'period':20000}}"));
	CHECK_STR(get(d, "cpu.max"), "30000 20000");
	CHECK(applies("{'memory':{'limit':-1}}"));
	CHECK_STR(get(d, "memory.max"), "max");
	CHECK_STR(get(d, "memory.swap.max"), "max");
	CHECK(applies("{'pids':{'limit':42},'unified':{'cgroup.max.depth':'3'}}"));
	CHECK_STR(get(d, "pids.max"), "42");
	CHECK_STR(get(d, "cgroup.max.depth"), "3");
	put(d, "io.bfq.weight", "");
	CHECK(applies("{'blockIO':{'weight':500}}"));
	CHECK_STR(get(d, "io.bfq.weight"), "500"); /* BFQ keeps the 10..1000 scale */
	CHECK_STR(get(d, "io.weight"), "4950");	   /* and iocost gets its own scale */
	tree_remove();
}

static void test_tree_v2_ignored_and_errors(void)
{
	const char *d = v2_tree();
	/* v2 has nothing for these; they are dropped without touching a file */
	CHECK(applies("{'memory':{'swappiness':10,'disableOOMKiller':true,'useHierarchy':true,"
		      "'kernel':100,'kernelTCP':100},'blockIO':{'leafWeight':100}}"));
	CHECK(apply_fails("{'cpu':{'realtimeRuntime':1000}}",
			  "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime"));
	CHECK(apply_fails("{'network':{'classID':1}}",
			  "linux.resources.network.classID: no net_cls controller on this host"));
	CHECK(apply_fails("{'hugepageLimits':[{'pageSize':'1GB','limit':1}]}",
			  "linux.resources.hugepageLimits[0]: page size 1GB is not supported"));
	CHECK(apply_fails("{'memory':{'swap':1000}}", "linux.resources.memory.swap: needs "
						      "memory.limit"));
	CHECK(apply_fails("{'unified':{'memory.nosuch':'1'}}",
			  "linux.resources.unified: memory.nosuch: no such file"));
	CHECK(apply_fails("{'unified':{'net_cls.classid':'1'}}",
			  "no net_cls controller on this host's cgroup v2"));
	CHECK(apply_fails("{'memory':{'limit':500,'checkBeforeUpdate':true}}",
			  "linux.resources.memory.limit: 500 is below the current usage 1000"));
	CHECK(applies("{'memory':{'limit':5000,'checkBeforeUpdate':true}}"));
	CHECK_STR(get(d, "memory.max"), "5000");
	drop(d, "memory.swap.max");
	CHECK(apply_fails("{'memory':{'limit':100,'swap':200}}", "no swap accounting"));
	drop(d, "cpu.max.burst");
	CHECK(apply_fails("{'cpu':{'burst':10}}", "cpu.burst: this kernel has no cpu.max.burst"));
	put(d, "cgroup.controllers", "memory\n");
	CHECK(apply_fails("{'blockIO':{'weight':100}}",
			  "linux.resources.blockIO: no blkio controller on this host"));
	tree_remove();
}

/* On a hybrid host cgroup2's few controllers are not passed down by cgroup_create. */
static void test_tree_v2_enables_controller(void)
{
	fake_new();
	const char *d = fake_add(true, "", "unified");
	char mid[192];
	snprintf(mid, sizeof mid, "%s/hull", F.mount[0]);
	put(F.mount[0], "cgroup.controllers", "memory hugetlb\n");
	put(F.mount[0], "cgroup.subtree_control", "\n");
	put(mid, "cgroup.controllers", "hugetlb\n");
	put(mid, "cgroup.subtree_control", "\n");
	put(d, "cgroup.controllers", "\n");
	/* a plain file does not start listing it, so this still ends in "none here" */
	CHECK(apply_fails("{'hugepageLimits':[{'pageSize':'2MB','limit':1}]}",
			  "hugepageLimits[0]: no hugetlb controller"));
	CHECK_STR(get(F.mount[0], "cgroup.subtree_control"), "+hugetlb");
	CHECK_STR(get(mid, "cgroup.subtree_control"), "+hugetlb");
	/* one level cannot pass it on: nothing written below it */
	put(F.mount[0], "cgroup.subtree_control", "\n");
	put(mid, "cgroup.subtree_control", "\n");
	put(mid, "cgroup.controllers", "memory\n");
	CHECK(apply_fails("{'hugepageLimits':[{'pageSize':'2MB','limit':1}]}", "no hugetlb"));
	CHECK_STR(get(mid, "cgroup.subtree_control"), "");
	tree_remove();
}

static void v1_tree(void)
{
	static const char *const files[][12] = {
	    {"memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
	     "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes", "memory.swappiness",
	     "memory.oom_control", "memory.use_hierarchy", NULL},
	    {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us",
	     "cpu.rt_runtime_us", "cpu.rt_period_us", "cpu.idle", NULL},
	    {"cpuset.cpus", "cpuset.mems", NULL},
	    {"pids.max", NULL},
	    {"blkio.weight", "blkio.leaf_weight", "blkio.weight_device", "blkio.leaf_weight_device",
	     "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	     "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device", NULL},
	    {"devices.allow", "devices.deny", NULL},
	    {"hugetlb.2MB.limit_in_bytes", NULL},
	    {"net_cls.classid", "net_prio.ifpriomap", NULL},
	    {"rdma.max", NULL}};
	static char *const ctrls[] = {"memory",	 "cpu,cpuacct", "cpuset",	    "pids", "blkio",
				      "devices", "hugetlb",	"net_cls,net_prio", "rdma"};
	fake_new();
	for (size_t i = 0; i < sizeof ctrls / sizeof ctrls[0]; i++) {
		const char *d = fake_add(false, ctrls[i], ctrls[i]);
		for (size_t k = 0; files[i][k] != NULL; k++)
			put(d, files[i][k], "");
	}
	put(F.dir[0], "memory.limit_in_bytes", "9223372036854771712\n");
	put(F.dir[0], "memory.usage_in_bytes", "1000\n");
}

static void test_tree_v1(void)
{
	v1_tree();
	const char *mem = F.dir[0], *cpu = F.dir[1], *cs = F.dir[2], *blk = F.dir[4];
	/* unified goes last, and v1 has no cgroup2: all else is written by then */
	CHECK(apply_fails(FULL, "linux.resources.unified: memory.high: needs cgroup v2"));
	CHECK_STR(get(mem, "memory.limit_in_bytes"), "1048576");
	CHECK_STR(get(mem, "memory.memsw.limit_in_bytes"), "2097152");
	CHECK_STR(get(mem, "memory.soft_limit_in_bytes"), "524288");
	CHECK_STR(get(mem, "memory.kmem.limit_in_bytes"), "-1");
	CHECK_STR(get(mem, "memory.kmem.tcp.limit_in_bytes"), "4096");
	CHECK_STR(get(mem, "memory.swappiness"), "60");
	CHECK_STR(get(mem, "memory.oom_control"), "1");
	CHECK_STR(get(mem, "memory.use_hierarchy"), "0");
	CHECK_STR(get(cpu, "cpu.shares"), "512");
	CHECK_STR(get(cpu, "cpu.cfs_quota_us"), "50000");
	CHECK_STR(get(cpu, "cpu.cfs_period_us"), "100000");
	CHECK_STR(get(cpu, "cpu.cfs_burst_us"), "1000");
	CHECK_STR(get(cpu, "cpu.rt_period_us"), "1000000");
	CHECK_STR(get(cpu, "cpu.rt_runtime_us"), "0");
	CHECK_STR(get(cpu, "cpu.idle"), "1");
	CHECK_STR(get(cs, "cpuset.cpus"), "0-1");
	CHECK_STR(get(F.dir[3], "pids.max"), "max");
	CHECK_STR(get(blk, "blkio.weight"), "500");
	CHECK_STR(get(blk, "blkio.leaf_weight"), "300");
	CHECK_STR(get(blk, "blkio.weight_device"), "8:0 600");
	CHECK_STR(get(blk, "blkio.leaf_weight_device"), "8:16 20");
	CHECK_STR(get(blk, "blkio.throttle.read_bps_device"), "8:0 1048576");
	CHECK_STR(get(blk, "blkio.throttle.write_bps_device"), "8:0 2097152");
	CHECK_STR(get(blk, "blkio.throttle.read_iops_device"), "8:0 100");
	CHECK_STR(get(blk, "blkio.throttle.write_iops_device"), "8:0 0");
	CHECK_STR(get(F.dir[5], "devices.deny"), "a");
	CHECK_STR(get(F.dir[5], "devices.allow"), "b 8:* r");
	CHECK_STR(get(F.dir[6], "hugetlb.2MB.limit_in_bytes"), "10485760");
	CHECK_STR(get(F.dir[7], "net_cls.classid"), "1048577");
	CHECK_STR(get(F.dir[7], "net_prio.ifpriomap"), "lo 1");
	CHECK_STR(get(F.dir[8], "rdma.max"), "mlx4_0 hca_handle=max hca_object=7");
	CHECK(applies("{'pids':{'limit':0},'memory':{'limit':-1}}"));
	CHECK_STR(get(F.dir[3], "pids.max"), "max");
	CHECK_STR(get(mem, "memory.limit_in_bytes"), "-1");
	CHECK_STR(get(mem, "memory.memsw.limit_in_bytes"), "-1"); /* unlimited together */
	tree_remove();
}

static void test_tree_v1_errors(void)
{
	v1_tree();
	const char *mem = F.dir[0];
	drop(mem, "memory.kmem.limit_in_bytes");
	CHECK(applies("{'memory':{'kernel':100}}")); /* deprecated: ignored where absent */
	drop(mem, "memory.memsw.limit_in_bytes");
	CHECK(apply_fails("{'memory':{'limit':100,'swap':200}}",
			  "linux.resources.memory.swap: this kernel has no swap accounting"));
	CHECK(applies("{'memory':{'limit':-1}}"));
	drop(F.dir[1], "cpu.cfs_burst_us");
	CHECK(
	    apply_fails("{'cpu':{'burst':10}}", "cpu.burst: this kernel has no cpu.cfs_burst_us"));
	drop(F.dir[4], "blkio.weight");
	CHECK(apply_fails("{'blockIO':{'weight':100}}", "needs the CFQ or BFQ"));
	put(F.dir[4], "blkio.bfq.weight", "");
	CHECK(applies("{'blockIO':{'weight':100}}"));
	CHECK_STR(get(F.dir[4], "blkio.bfq.weight"), "100");
	F.cg.n = 6; /* no hugetlb, net_cls, net_prio, rdma */
	CHECK(apply_fails("{'hugepageLimits':[{'pageSize':'2MB','limit':1}]}",
			  "linux.resources.hugepageLimits[0]: no hugetlb controller on this host"));
	CHECK(apply_fails("{'network':{'classID':1}}", "network.classID: no net_cls controller"));
	CHECK(apply_fails("{'network':{'priorities':[{'name':'lo','priority':1}]}}",
			  "network.priorities[0]: no net_prio controller"));
	CHECK(apply_fails("{'rdma':{'mlx5':{'hcaHandles':1}}}", "rdma.mlx5: no rdma controller"));
	F.cg.n = 5; /* and no devices controller, and no cgroup2 for a BPF program */
	CHECK(apply_fails("{'devices':[{'allow':false}]}",
			  "linux.resources.devices: no devices controller and no cgroup2"));
	CHECK(applies("{'devices':[]}")); /* no rules: the policy is left alone */
	tree_remove();
}

/* ---- this host ---- */

static const struct cgroup_place *place_with(const struct cgroup *cg, const char *ctrl)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->places[i].h->v2 && cgroup_hier_has(cg->places[i].h, ctrl))
			return &cg->places[i];
	for (size_t i = 0; i < cg->n; i++)
		if (cg->places[i].h->v2) {
			char f[512];
			snprintf(f, sizeof f, "%s/cgroup.controllers", cg->places[i].dir);
			struct hull_err e = {0};
			_cleanup_free_ char *t = cgroup_read_text(f, &e);
			hull_err_clear(&e);
			if (t && strstr(t, ctrl))
				return &cg->places[i];
		}
	return NULL;
}

static void check_file(const struct cgroup *cg, const char *ctrl, const char *v1file,
		       const char *v2file, const char *want)
{
	const struct cgroup_place *p = place_with(cg, ctrl);
	if (p == NULL) {
		printf("# no %s controller here: not checked\n", ctrl);
		return;
	}
	CHECK_STR(get(p->dir, p->h->v2 ? v2file : v1file), want);
}

static void real_checks(struct cgroup *cg)
{
	struct hull_err err = {0};
	struct arena a = {0};
	struct oci_resources r;
	const char *doc = "{'devices':[{'allow':false},{'allow':true,'type':'c','major':1,"
			  "'minor':3,'access':'rwm'},{'allow':true,'type':'c','access':'m'}],"
			  "'memory':{'limit':67108864},'cpu':{'shares':512,'quota':50000,"
			  "'period':100000},'pids':{'limit':64}}";
	CHECK(parse(doc, &a, &r, &err) == 0 && cgroup_apply(cg, &r, &err) == 0);
	if (err.msg)
		printf("#   %s (errno %d)\n", err.msg, err.code);
	check_file(cg, "memory", "memory.limit_in_bytes", "memory.max", "67108864");
	check_file(cg, "pids", "pids.max", "pids.max", "64");
	check_file(cg, "cpu", "cpu.cfs_quota_us", "cpu.max", "50000");
	const struct cgroup_place *dev = place_with(cg, "devices");
	if (dev != NULL) {
		char list[512];
		snprintf(list, sizeof list, "%s/devices.list", dev->dir);
		_cleanup_free_ char *all = cgroup_read_text(list, &err);
		CHECK_CONTAINS(all, "c 1:3 rwm");
		CHECK_CONTAINS(all, "c *:* m");
		CHECK(all == NULL || strstr(all, "a *:* rwm") == NULL);
	}
	const struct cgroup_place *mem = place_with(cg, "memory");
	if (mem != NULL && !mem->h->v2 && res_v2_dir(cg) != NULL)
		CHECK(parse("{'unified':{'memory.high':'1G'}}", &a, &r, &err) == 0 &&
		      cgroup_apply(cg, &r, &err) < 0 && err.msg &&
		      strstr(err.msg, "needs cgroup v2 (this host's memory controller is on "
				      "cgroup v1)"));
	hull_err_clear(&err);
	arena_free(&a);
}

static void test_real_host(void)
{
	char path[64];
	snprintf(path, sizeof path, "/hull-unit-res-%d/c1", (int)getpid());
	struct hull_err err = {0};
	struct cgroup *cg = cgroup_create(path, "c1", &err);
	CHECK(cg != NULL);
	if (cg == NULL) {
		printf("#   %s\n", err.msg ? err.msg : "?");
		hull_err_clear(&err);
		return;
	}
	char dirs[16][256];
	size_t n = cg->n < 16 ? cg->n : 16;
	for (size_t i = 0; i < n; i++)
		snprintf(dirs[i], sizeof dirs[i], "%s", cg->places[i].dir);
	real_checks(cg);
	CHECK(cgroup_destroy(cg, &err) == 0);
	for (size_t i = 0; i < n; i++) {
		*strrchr(dirs[i], '/') = '\0';
		CHECK(access(dirs[i], F_OK) < 0 && errno == ENOENT);
	}
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_parse_every_field);
	RUN(test_parse_empty);
	RUN(test_parse_errors);
	RUN(test_parse_in_config);
	RUN(test_implied_devices);
	RUN(test_convert_weights);
	RUN(test_convert_swap);
	RUN(test_convert_cpu_max);
	RUN(test_convert_lines);
	RUN(test_tree_v2);
	RUN(test_tree_v2_ignored_and_errors);
	RUN(test_tree_v2_enables_controller);
	RUN(test_tree_v1);
	RUN(test_tree_v1_errors);
	if (geteuid() != 0) {
		printf("# skipping real cgroup tests: need root\n");
		return unit_done();
	}
	RUN(test_real_host);
	return unit_done();
}
